"""Photos that show none of the brand's products: to train on (background images, no boxes) and to check the
exported model with (the share of such photos it answers other than "inconclusive").

Three sources, all available inside the training container without a download:
- **crops of the brand's own photos outside every box** (`crop_outside_boxes`): the brand's tables, shelves and
  hands, which the detector must learn are not the product (training only: validation photos are never cut);
- **generated scenes** (`generate_scene`): gradients, textures, shapes, text-like strokes and noise, seeded;
- **photos in a folder** (`photo_folder`): unrelated real photos shipped with the image or mounted beside it
  (`AUTHENTIC_BACKGROUND_DIR`, default `/opt/backgrounds`), used only where the folder exists; `metrics.json`
  says which sources ran.

The training set and the check never share a photo: training scenes and check scenes come from different seeds,
and folder photos are used only by the check.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

BACKGROUND_DIR_ENV = "AUTHENTIC_BACKGROUND_DIR"
DEFAULT_BACKGROUND_DIR = "/opt/backgrounds"
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
NEGATIVE_PREFIX = "background-"  # file names of the training set's background images
MIN_CROP_FRACTION = 0.3  # a crop's short side, as a share of the photo's short side
CROP_MARGIN_FRACTION = 0.06  # kept between a crop and the nearest box
MAX_CROP_ASPECT = 2.0
SCENE_SIZES = (320, 416, 512, 640)
TRAINING_SCENE_SEED = 1_000_000  # training scenes: seeds from here; check scenes from CHECK_SCENE_SEED
CHECK_SCENE_SEED = 2_000_000


@dataclass(frozen=True)
class YoloBox:
    """A box in pixels of the upright photo (x1, y1, x2, y2)."""

    x1: float
    y1: float
    x2: float
    y2: float


def read_yolo_boxes(label_file: Path, size: tuple[int, int]) -> list[YoloBox]:
    """The boxes of one YOLO label file, in pixels of a photo of `size` (width, height)."""
    width, height = size
    boxes = []
    text = label_file.read_text() if label_file.is_file() else ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue
        cx, cy, w, h = (float(p) for p in parts[1:])
        boxes.append(YoloBox((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height))
    return boxes


def crop_outside_boxes(image: Image.Image, boxes: Sequence[YoloBox]) -> Image.Image | None:
    """The largest strip of the photo left, right, above or below every box (with a margin), its aspect at most
    2:1 and its short side at least 30% of the photo's; None when the boxes leave no such strip."""
    width, height = image.size
    if not boxes:
        return None
    margin = CROP_MARGIN_FRACTION * min(width, height)
    left = min(b.x1 for b in boxes) - margin
    right = max(b.x2 for b in boxes) + margin
    top = min(b.y1 for b in boxes) - margin
    bottom = max(b.y2 for b in boxes) + margin
    strips = [
        (0.0, 0.0, left, height),
        (right, 0.0, width, height),
        (0.0, 0.0, width, top),
        (0.0, bottom, width, height),
    ]
    best: tuple[float, float, float, float] | None = None
    for strip in strips:
        candidate = _fit_strip(strip, width, height)
        if candidate is None:
            continue
        if min(candidate[2:]) >= MIN_CROP_FRACTION * min(width, height) and (
            best is None or candidate[2] * candidate[3] > best[2] * best[3]
        ):
            best = candidate
    if best is None:
        return None
    x1, y1, w, h = best
    return image.crop((round(x1), round(y1), round(x1 + w), round(y1 + h)))


def generate_scene(seed: int) -> Image.Image:
    """One photo-like scene with no product: a lit gradient, a texture, shapes, strokes like print, noise and
    blur. Deterministic for the seed."""
    rng = np.random.default_rng(seed)
    size = int(SCENE_SIZES[seed % len(SCENE_SIZES)])
    width, height = (size, int(size * rng.uniform(0.6, 1.0)))
    if rng.random() < 0.5:
        width, height = height, width
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xs * math.cos(angle) + ys * math.sin(angle)) / max(width, height)
    base, tint = rng.uniform(40, 220, 3), rng.uniform(-60, 60, 3)
    pixels = base[None, None, :] + ramp[..., None] * tint[None, None, :]
    if rng.random() < 0.6:  # a texture: wood grain, fabric or tiles
        freq = rng.uniform(0.02, 0.3)
        wave = np.sin(xs * freq + np.sin(ys * freq * rng.uniform(0.1, 1.0)) * rng.uniform(0, 6))
        pixels += wave[..., None] * rng.uniform(5, 40)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 9))):
        _shape(rng, draw, width, height)
    for _ in range(int(rng.integers(0, 5))):
        _strokes(rng, draw, width, height)
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.5))))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, rng.uniform(1, 8), (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def photo_folder() -> Path | None:
    """The folder of unrelated photos this container can read, or None."""
    folder = Path(os.environ.get(BACKGROUND_DIR_ENV, DEFAULT_BACKGROUND_DIR))
    return folder if folder.is_dir() and any(_photos(folder)) else None


def folder_photos(folder: Path) -> Iterator[tuple[str, Image.Image]]:
    """(file name, upright RGB image) for every readable photo in `folder` (not recursive, sorted)."""
    for path in _photos(folder):
        try:
            with Image.open(path) as image:
                yield path.name, ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, ValueError):
            continue


def write_training_backgrounds(layout_root: Path, *, count: int, seed: int, crop_share: float = 0.5) -> dict[str, int]:
    """Add `count` background images (an empty label file each) to the layout's training side: crops of its own
    training photos outside every box (up to `crop_share` of them), generated scenes for the rest. Returns the
    count per source."""
    images_dir, labels_dir = layout_root / "images" / "train", layout_root / "labels" / "train"
    rng = np.random.default_rng(seed)
    photos = sorted(p for p in images_dir.iterdir() if not p.name.startswith(NEGATIVE_PREFIX))
    rng.shuffle(photos)  # type: ignore[arg-type]
    written = {"crops": 0, "generated": 0}
    wanted_crops = round(count * crop_share)
    for photo in photos:
        if written["crops"] >= wanted_crops:
            break
        with Image.open(photo) as opened:
            image = opened.convert("RGB")
        crop = crop_outside_boxes(image, read_yolo_boxes(labels_dir / f"{photo.stem}.txt", image.size))
        if crop is not None:
            _write_background(crop, images_dir, labels_dir, f"crop-{photo.stem}")
            written["crops"] += 1
    for index in range(count - written["crops"]):
        scene_seed = TRAINING_SCENE_SEED + seed * 10_000 + index
        _write_background(generate_scene(scene_seed), images_dir, labels_dir, f"scene-{scene_seed}")
        written["generated"] += 1
    return written


# ---------------------------------------------------------------------------------------------------------------


def _fit_strip(
    strip: tuple[float, float, float, float], width: int, height: int
) -> tuple[float, float, float, float] | None:
    """(left, top, width, height) of a strip clipped to the photo and cut to at most 2:1, or None if empty."""
    x1, y1 = max(0.0, strip[0]), max(0.0, strip[1])
    w, h = min(float(width), strip[2]) - x1, min(float(height), strip[3]) - y1
    if w <= 0 or h <= 0:
        return None
    if w > MAX_CROP_ASPECT * h:
        x1, w = x1 + (w - MAX_CROP_ASPECT * h) / 2, MAX_CROP_ASPECT * h
    if h > MAX_CROP_ASPECT * w:
        y1, h = y1 + (h - MAX_CROP_ASPECT * w) / 2, MAX_CROP_ASPECT * w
    return x1, y1, w, h


def _write_background(image: Image.Image, images_dir: Path, labels_dir: Path, stem: str) -> None:
    name = f"{NEGATIVE_PREFIX}{stem}"
    image.save(images_dir / f"{name}.jpg", quality=90)
    (labels_dir / f"{name}.txt").write_text("")


def _photos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())


def _shape(rng: np.random.Generator, draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    w, h = rng.uniform(0.05, 0.5) * width, rng.uniform(0.05, 0.5) * height
    box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    kind = int(rng.integers(0, 4))
    if kind == 0:
        draw.rectangle(box, fill=colour)
    elif kind == 1:
        draw.ellipse(box, fill=colour)
    elif kind == 2:
        points = [(rng.uniform(0, width), rng.uniform(0, height)) for _ in range(int(rng.integers(3, 7)))]
        draw.polygon(points, fill=colour)
    else:
        draw.rounded_rectangle(box, radius=min(w, h) / 4, outline=colour, width=int(rng.integers(2, 8)))


def _strokes(rng: np.random.Generator, draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    """A few lines of short dark strokes, as printed text looks from afar."""
    colour = tuple(int(c) for c in rng.integers(0, 90, 3))
    x0, y0 = rng.uniform(0, width * 0.7), rng.uniform(0, height * 0.9)
    line_height = rng.uniform(4, 14)
    for row in range(int(rng.integers(1, 5))):
        x = x0
        for _ in range(int(rng.integers(3, 12))):
            length = rng.uniform(3, 25)
            y = y0 + row * line_height * 1.6
            draw.rectangle((x, y, x + length, y + line_height), fill=colour)
            x += length + rng.uniform(2, 8)
