"""COCO: every `*.json` under the folder with `images` and `annotations`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from authentic.annotations.fields import check_categories, json_type, read_int, read_number
from authentic.annotations.importers.base import (
    ImageIndex,
    Loaded,
    Pending,
    rel,
)
from authentic.annotations.model import Box, Category, ParsedAnnotation, Problem
from authentic.errors import FieldError, InvalidInput
from authentic.media.geometry import ImageSize


def _coco_files(root: Path, problems: list[Problem]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(root.rglob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, RecursionError) as exc:
            problems.append(Problem(rel(path, root), f"not valid JSON: {exc}"))
            continue
        if isinstance(doc, dict) and "images" in doc and "annotations" in doc:
            found.append((rel(path, root), doc))
    if not found:
        raise InvalidInput(f"no COCO instances JSON (with 'images' and 'annotations') under {root}")
    return found


def _coco_categories(files: list[tuple[str, dict[str, Any]]]) -> dict[int, Category]:
    """COCO category id -> canonical category (ids remapped to 0..n-1 in id order)."""
    reference: list[tuple[int, str]] | None = None
    for name, doc in files:
        listed = doc.get("categories")
        if not isinstance(listed, list) or not listed:
            raise InvalidInput(f"{name}: 'categories' must be a non-empty list")
        try:
            pairs = sorted(
                (read_int(c.get("id"), "id"), _category_name(c.get("name"))) for c in listed if isinstance(c, dict)
            )
            if len(pairs) != len(listed):
                raise FieldError("every category must be an object with 'id' and 'name'")
            check_categories([Category(cid, cname) for cid, cname in pairs])
        except FieldError as exc:
            raise InvalidInput(f"{name}: categories: {exc}") from exc
        if reference is not None and pairs != reference:
            raise InvalidInput(f"{name}: its categories differ from those of {files[0][0]}")
        reference = pairs
    assert reference is not None
    return {cid: Category(index, cname) for index, (cid, cname) in enumerate(reference)}


def _category_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError(f"'name' must be a non-empty string, got {json_type(value)}")
    return value.strip()


def _coco_box(item: dict[str, Any], categories: dict[int, Category]) -> Box:
    if item.get("iscrowd") in (1, True):
        raise FieldError("is a crowd region (iscrowd=1): skipped, a crowd is not one object")
    category = categories.get(item.get("category_id"))  # type: ignore[arg-type]
    if category is None:
        raise FieldError(f"category_id {json.dumps(item.get('category_id'))} is not in 'categories'")
    bbox = item.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise FieldError(f"'bbox' must be [x, y, width, height], got {json.dumps(bbox)[:60]}")
    left, top, width, height = (read_number(value, f"bbox[{i}]") for i, value in enumerate(bbox))
    return Box(category.class_id, left, top, width, height)


def _coco_image(image: Any) -> tuple[int, str, ImageSize | None]:
    if not isinstance(image, dict):
        raise FieldError(f"every image must be an object, got {json_type(image)}")
    image_id = read_int(image.get("id"), "id")
    file_name = image.get("file_name")
    if not isinstance(file_name, str) or not file_name:
        raise FieldError(f"image id {image_id}: 'file_name' must be a non-empty string")
    size = None
    if image.get("width") is not None and image.get("height") is not None:
        width = read_int(image["width"], "width", minimum=1)
        size = ImageSize(width, read_int(image["height"], "height", minimum=1))
    return image_id, file_name, size


def _coco_list(doc: dict[str, Any], key: str, name: str) -> list[Any]:
    value = doc[key]
    if not isinstance(value, list):
        raise InvalidInput(f"{name}: '{key}' must be an array, got {json_type(value)}")
    return value


def _coco_images(name: str, doc: dict[str, Any], problems: list[Problem]) -> dict[int, tuple[str, ImageSize | None]]:
    images: dict[int, tuple[str, ImageSize | None]] = {}
    for image in _coco_list(doc, "images", name):
        try:
            image_id, file_name, size = _coco_image(image)
        except FieldError as exc:
            problems.append(Problem(name, f"images: {exc}"))
            continue
        if image_id in images:
            problems.append(Problem(name, f"image id {image_id} is listed twice"))
            continue
        images[image_id] = (file_name, size)
    return images


def _coco_by_image(
    name: str, doc: dict[str, Any], image_ids: Iterable[int], problems: list[Problem]
) -> dict[int, list[dict[str, Any]]]:
    """Each image's annotations, in file order (the order is each box's index)."""
    by_image: dict[int, list[dict[str, Any]]] = {image_id: [] for image_id in image_ids}
    for item in _coco_list(doc, "annotations", name):
        image_id = item.get("image_id") if isinstance(item, dict) else None
        if not isinstance(image_id, int) or image_id not in by_image:
            problems.append(Problem(name, f"annotation {json.dumps(item)[:80]} names no listed image"))
            continue
        by_image[image_id].append(item)
    return by_image


def _coco_annotation(
    source: str, file_name: str, size: ImageSize | None, items: list[dict[str, Any]], categories: dict[int, Category]
) -> ParsedAnnotation:
    boxes, indices, problems = [], [], []
    for box_index, item in enumerate(items):
        try:
            boxes.append(_coco_box(item, categories))
            indices.append(box_index)
        except FieldError as exc:
            problems.append(Problem(source, f"annotation id {item.get('id')}: {exc}", box_index))
    ordered = tuple(sorted(categories.values(), key=lambda c: c.class_id))
    return ParsedAnnotation(
        file_name, size, tuple(boxes), ordered, problems=tuple(problems), box_indices=tuple(indices)
    )


def _coco_file(
    root: Path, name: str, doc: dict[str, Any], categories: dict[int, Category], index: ImageIndex
) -> Loaded:
    loaded = Loaded()
    images = _coco_images(name, doc, loaded.problems)
    by_image = _coco_by_image(name, doc, images, loaded.problems)
    for image_id, (file_name, size) in images.items():
        source = f"{file_name} (in {name})"
        try:
            path = index.find(file_name, near=root / name)
        except LookupError as exc:
            loaded.problems.append(Problem(source, str(exc)))
            continue
        annotation = _coco_annotation(source, file_name, size, by_image[image_id], categories)
        loaded.pending.append(Pending(path, source, annotation))
    return loaded


def load(root: Path) -> Loaded:
    loaded = Loaded()
    files = _coco_files(root, loaded.problems)
    categories = _coco_categories(files)
    loaded.categories = tuple(sorted(categories.values(), key=lambda c: c.class_id))
    index = ImageIndex(root)
    for name, doc in files:
        part = _coco_file(root, name, doc, categories, index)
        loaded.pending.extend(part.pending)
        loaded.problems.extend(part.problems)
    return loaded
