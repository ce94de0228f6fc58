"""Shrinking a photo over the endpoint's body limit: re-encoded upright as a JPEG that fits, with the scale to
map the detected boxes back onto the photo's own pixels."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import TRANSPOSING


@dataclass(frozen=True)
class Shrunk:
    """A photo re-encoded smaller for the endpoint, and how to map its boxes back to the original pixels."""

    body: bytes
    original_size: dict[str, int]
    scale_x: float
    scale_y: float

    def to_original(self, detection: dict[str, Any]) -> dict[str, Any]:
        box = detection.get("box")
        if not box:
            return detection
        mapped = {
            "left": round(float(box["left"]) / self.scale_x, 1),
            "top": round(float(box["top"]) / self.scale_y, 1),
            "width": round(float(box["width"]) / self.scale_x, 1),
            "height": round(float(box["height"]) / self.scale_y, 1),
        }
        return {**detection, "box": mapped}


def shrink(body: bytes, limit: int) -> Shrunk:
    """Re-encode a too-large photo upright as a JPEG under `limit` bytes."""
    with Image.open(io.BytesIO(body)) as image:
        image.draft("RGB", (image.width // 2, image.height // 2))  # JPEG: decode at half scale when that is enough
        full = ImageOps.exif_transpose(image).convert("RGB")
    upright = _upright_size(body)
    factor = min(1.0, full.width / upright[0])
    while True:
        target = (max(1, round(upright[0] * factor)), max(1, round(upright[1] * factor)))
        resized = full if target == full.size else full.resize(target, Image.Resampling.BILINEAR)
        out = io.BytesIO()
        resized.save(out, "JPEG", quality=90)
        if out.tell() <= limit:
            return Shrunk(
                out.getvalue(),
                {"width": upright[0], "height": upright[1]},
                target[0] / upright[0],
                target[1] / upright[1],
            )
        factor *= 0.8


def _upright_size(body: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(body)) as image:
        width, height = image.size
        orientation = image.getexif().get(ORIENTATION_TAG, 1)
    return (height, width) if orientation in TRANSPOSING else (width, height)
