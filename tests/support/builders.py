"""Small builders for photos, annotations and sample events used by the adapter and handler tests."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

EVENTS = Path(__file__).resolve().parents[1] / "events"


def jpeg(
    width: int = 64, height: int = 48, *, orientation: int | None = None, color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    image = Image.new("RGB", (width, height), color)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def seed_annotation(
    file: str, width: int, height: int, boxes: list[tuple[int, float, float, float, float]], *, categories: Any = None
) -> bytes:
    return json.dumps(
        {
            "file": file,
            "image_size": [{"width": width, "height": height, "depth": 3}],
            "annotations": [{"class_id": c, "left": x, "top": y, "width": w, "height": h} for c, x, y, w, h in boxes],
            "categories": categories
            if categories is not None
            else [{"class_id": 0, "name": "genuine"}, {"class_id": 1, "name": "counterfeit"}],
        }
    ).encode()


def load_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def training_event(name: str, job_name: str, **detail: Any) -> dict[str, Any]:
    """A sample EventBridge event from tests/events/training, for `job_name`, with detail fields replaced."""
    text = (EVENTS / "training" / f"{name}.json").read_text().replace("JOB", job_name)
    event: dict[str, Any] = json.loads(text)
    event["detail"].update(detail)
    return event
