"""YOLO: the Ultralytics layout (`images/` beside `labels/`) or label files beside their images."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image

from authentic.annotations.importers.base import (
    Loaded,
    Pending,
    image_files,
    measure_image,
    rel,
)
from authentic.annotations.importers.names import require_names
from authentic.annotations.model import Box, Category, ParsedAnnotation, Problem
from authentic.errors import FieldError
from authentic.media.geometry import ImageSize, upright_size


def _yolo_label_path(image: Path, root: Path) -> Path:
    """Ultralytics' rule: the last `images` folder becomes `labels`; else the label sits beside the image."""
    parts = list(image.relative_to(root).parts)
    for position in range(len(parts) - 2, -1, -1):
        if parts[position] == "images":
            parts[position] = "labels"
            return root.joinpath(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def _yolo_line(fields: list[str], upright: ImageSize) -> Box:
    if len(fields) < 5 or (len(fields) > 5 and len(fields) % 2 == 0):
        raise FieldError(f"expected 'class x_center y_center width height' (or a polygon), got {len(fields)} values")
    try:
        class_value = float(fields[0])
        values = [float(value) for value in fields[1:]]
    except ValueError as exc:
        raise FieldError(f"not a number: {exc}") from exc
    for text, value in zip(fields[1:], values, strict=True):
        if not math.isfinite(value):
            raise FieldError(f"{text!r} is not a finite number")
    if not class_value.is_integer() or class_value < 0:
        raise FieldError(f"class id {fields[0]!r} is not a non-negative integer")
    if len(values) == 4:
        x_center, y_center, width, height = values
        x1, y1, x2, y2 = x_center - width / 2, y_center - height / 2, x_center + width / 2, y_center + height / 2
    else:  # a segment: x1 y1 x2 y2 ... -> its bounding box
        xs, ys = values[0::2], values[1::2]
        x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
    return Box(
        int(class_value), x1 * upright.width, y1 * upright.height, (x2 - x1) * upright.width, (y2 - y1) * upright.height
    )


def _yolo_annotation(text: str, upright: ImageSize, categories: tuple[Category, ...], source: str) -> ParsedAnnotation:
    boxes, indices, problems = [], [], []
    lines = [line.split() for line in text.splitlines() if line.strip()]
    for box_index, fields in enumerate(lines):
        try:
            boxes.append(_yolo_line(fields, upright))
            indices.append(box_index)
        except FieldError as exc:
            problems.append(Problem(source, str(exc), box_index))
    return ParsedAnnotation("", upright, tuple(boxes), categories, problems=tuple(problems), box_indices=tuple(indices))


def load(root: Path) -> Loaded:
    loaded = Loaded(categories=require_names(root))
    for image in image_files(root):
        label = _yolo_label_path(image, root)
        if not label.is_file():
            reason = f"no label file {rel(label, root)} (an empty one means: no boxes)"
            loaded.problems.append(Problem(rel(image, root), reason))
            continue
        try:
            measured = measure_image(image)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            loaded.problems.append(Problem(rel(image, root), f"cannot read the image: {exc}"))
            continue
        source = rel(label, root)
        try:
            text = label.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            loaded.problems.append(Problem(source, f"cannot read the label file: {exc}"))
            continue
        annotation = _yolo_annotation(text, upright_size(*measured), loaded.categories, source)
        loaded.pending.append(Pending(image, source, annotation, measured))
    return loaded
