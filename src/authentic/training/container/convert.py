"""Convert a read channel into the detector's (YOLO) layout:

    <root>/images/{train,val}/<stem>.<ext>
    <root>/labels/{train,val}/<stem>.txt     one box per line: "class cx cy w h", normalised to the image
    <root>/data.yaml                          absolute path, split folders, class names by detector index

Sizes come from the measured pixels (`Sample.size`), never from the JSON. A stored file that still carries an
Exif rotation is written upright without it, so the loader's pixels and the upright boxes always agree. Files
are named by pair id (the channel names images by content hash, which pairs of one photo share), so the
report's validation images name the uploads they came from; names keep their dots (the loader only splits off
the last suffix) and are made unique and path-safe.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from authentic.annotations.model import Box
from authentic.training.container.channel import Dataset, Sample
from authentic.training.container.split import Split

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class YoloLayout:
    root: Path
    data_yaml: Path
    names: tuple[str, ...]
    train_images: int
    val_images: int

    @property
    def val_dir(self) -> Path:
        return self.root / "images" / "val"


def yolo_line(class_index: int, box: Box, size: tuple[int, int]) -> str:
    """One label line for `box` (pixels), normalised to an image of `size` (width, height), clamped to [0, 1]."""
    img_w, img_h = size
    cx = min(max((box.left + box.width / 2) / img_w, 0.0), 1.0)
    cy = min(max((box.top + box.height / 2) / img_h, 0.0), 1.0)
    w = min(max(box.width / img_w, 0.0), 1.0)
    h = min(max(box.height / img_h, 0.0), 1.0)
    return f"{class_index} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


def write_yolo_layout(dataset: Dataset, split: Split, root: Path) -> YoloLayout:
    """Write the layout for `split` under `root` (emptied first) and return where things are."""
    if root.exists():
        shutil.rmtree(root)
    sides = {pair_id: "train" for pair_id in split.train} | {pair_id: "val" for pair_id in split.val}
    for side in ("train", "val"):
        (root / "images" / side).mkdir(parents=True)
        (root / "labels" / side).mkdir(parents=True)
    used: set[str] = set()
    counts = {"train": 0, "val": 0}
    for sample in sorted(dataset.samples, key=lambda s: s.pair_id):
        where = sides.get(sample.pair_id)
        if where is None:
            continue
        side = where
        stem, suffix = _name(sample, used)
        _write_image(sample, root / "images" / side / f"{stem}{suffix}")
        lines = [yolo_line(dataset.index_of(b.class_id), b, _wh(sample)) for b in sample.boxes]
        (root / "labels" / side / f"{stem}.txt").write_text("".join(f"{line}\n" for line in lines))
        counts[side] += 1
    names = tuple(c.name for c in dataset.categories)
    data_yaml = root / "data.yaml"
    # JSON is YAML: no YAML writer needed, and names with quotes or colons stay intact.
    data = {
        "path": str(root.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(names)),
    }
    data_yaml.write_text(json.dumps(data, indent=1))
    return YoloLayout(root, data_yaml, names, counts["train"], counts["val"])


def _wh(sample: Sample) -> tuple[int, int]:
    return sample.size.width, sample.size.height


def _name(sample: Sample, used: set[str]) -> tuple[str, str]:
    suffix = sample.image_path.suffix.lower()
    if suffix not in _IMAGE_SUFFIXES:
        suffix = ".png"
    base = _UNSAFE.sub("_", sample.pair_id).strip("._") or "image"
    stem, n = base, 1
    while stem.lower() in used:
        n += 1
        stem = f"{base}_{n}"
    used.add(stem.lower())
    return stem, suffix


def _write_image(sample: Sample, target: Path) -> None:
    known = sample.image_path.suffix.lower() in _IMAGE_SUFFIXES
    if sample.orientation == 1 and known:
        shutil.copyfile(sample.image_path, target)
        return
    with Image.open(sample.image_path) as image:
        upright = ImageOps.exif_transpose(image)
        if upright.mode not in {"RGB", "L"}:
            upright = upright.convert("RGB")
        if (upright.width, upright.height) != _wh(sample):
            raise ValueError(f"{sample.image_path.name}: upright size changed while converting")
        if target.suffix in {".jpg", ".jpeg"}:
            upright.save(target, quality=95)
        else:
            upright.save(target)
