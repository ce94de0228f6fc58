"""Photos for the inference tests, drawn to match what the tiny test model learned: red rectangles (class 0,
"genuine") and blue ellipses (class 1, "counterfeit") on a dark background."""

from __future__ import annotations

import contextlib
import io
import random
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its test client; the lock pins httpx 0.28, which it still supports.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient

IMGSZ = 128
__all__ = ["IMGSZ", "Shape", "TestClient", "draw_scene", "encode", "prepare_ultralytics", "random_scene"]


@dataclass(frozen=True)
class Shape:
    class_id: int
    left: int
    top: int
    width: int
    height: int


def draw_scene(width: int, height: int, shapes: list[Shape], background: int = 30) -> Image.Image:
    image = Image.new("RGB", (width, height), (background, background, background))
    pen = ImageDraw.Draw(image)
    for s in shapes:
        box = [s.left, s.top, s.left + s.width, s.top + s.height]
        if s.class_id == 0:
            pen.rectangle(box, fill=(230, 40, 40))
        else:
            pen.ellipse(box, fill=(40, 40, 230))
    return image


def random_scene(rng: random.Random, size: int = IMGSZ) -> tuple[Image.Image, list[Shape]]:
    shapes = []
    for _ in range(rng.randint(1, 2)):
        w, h = rng.randint(size * 3 // 16, size * 7 // 16), rng.randint(size * 3 // 16, size * 7 // 16)
        shapes.append(Shape(rng.randint(0, 1), rng.randint(0, size - w), rng.randint(0, size - h), w, h))
    return draw_scene(size, size, shapes, background=rng.randint(0, 60)), shapes


def encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def prepare_ultralytics(config_dir: Path | None = None) -> None:
    """`authentic.offline.prepare_offline`, tolerating its KeyError: it sets the environment and the fonts first,
    then asks ultralytics 8.4 for a setting ("hub") that version does not have."""
    from authentic.training.container.offline import prepare_offline

    with contextlib.suppress(KeyError):
        prepare_offline(config_dir)
