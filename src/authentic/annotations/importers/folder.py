"""Bulk import: seed folders, COCO, YOLO, Pascal VOC and SageMaker Ground Truth into the canonical model.

Used by the CLI and the local side (not bundled into the Lambdas' hot path). Every format ends the same way:
the image is found, its stored size and Exif orientation are read from its header (Pillow opens lazily, the
pixels are never decoded; sizes written in annotation files are never trusted for geometry), and the
annotation passes `authentic.annotations.check_annotation`, so imported boxes obey exactly the rules of an
upload and come out in upright pixels. What cannot be imported becomes a `Problem` naming the file (and the
box); what makes the whole folder unreadable (no names for YOLO, no COCO file, an unknown format) raises
`InvalidInput`.

Format decisions:
- seed: every image with a same-stem `.json` beside it. Categories are the union over the files; a file that
  names a class id differently from the others is skipped with a problem.
- COCO: every `*.json` under the folder with `images` and `annotations` (several files must share their
  categories). Category ids are remapped to 0..n-1 in id order, names kept. `iscrowd=1` regions are skipped
  with a problem: a crowd is not one object. Images without annotations are kept (photos of nothing).
- YOLO: the Ultralytics layout (`.../images/...` beside `.../labels/...`, any split folders) or label files
  beside their images. Names from `data.yaml`/`dataset.yaml` `names` (list or dict) or `classes.txt`; both
  present must agree. Normalised coordinates are scaled by the upright size (Ultralytics reads images with
  the Exif orientation applied). An empty label file is a photo without boxes; a missing one skips the image
  with a problem (an unlabelled photo is not known to be empty). Polygon (segment) lines become their box.
- VOC: every `<annotation>` XML under the folder; the image is found by `<filename>` (else the XML's stem).
  Coordinates are the devkit's 1-based inclusive pixel indices: left = xmin - 1, top = ymin - 1,
  right = xmax, bottom = ymax (a box 1..W covers the whole image). Class ids follow `classes.txt` or
  `data.yaml` when the folder has one, else the sorted class names. `difficult` objects are kept: they are
  real objects, and dropping them would label them background. `<size>` only decides the frame of the boxes;
  a zero or missing size reads as none.
- Ground Truth: every `*.manifest` / `*.jsonl` (JSON lines); the label attribute is the one holding
  `annotations` (with `image_size`), the class-map comes from its `-metadata` attribute; the image is found
  by the tail of `source-ref`. Class ids are kept as the labelling job numbered them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from authentic.annotations.importers import coco, groundtruth, seed, voc, yolo
from authentic.annotations.importers.base import ImportedDataset, Loaded, finish
from authentic.errors import InvalidInput

Format = Literal["seed", "coco", "yolo", "voc", "groundtruth"]
FORMATS: tuple[Format, ...] = get_args(Format)

_LOADERS: dict[str, Callable[[Path], Loaded]] = {
    "seed": seed.load,
    "coco": coco.load,
    "yolo": yolo.load,
    "voc": voc.load,
    "groundtruth": groundtruth.load,
}


def load_dataset(folder: Path, fmt: Format) -> ImportedDataset:
    """Import every annotated image under `folder`; see the module docstring for each format's rules."""
    loader = _LOADERS.get(fmt)
    if loader is None:
        raise InvalidInput(f"unknown annotation format {fmt!r}; use one of {', '.join(FORMATS)}")
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a folder")
    loaded = loader(root)
    return finish(root, loaded)
