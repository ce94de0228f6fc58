"""Pascal VOC: every `<annotation>` XML under the folder."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # the user's own files, read locally; expat >= 2.4.1 caps entity expansion
from dataclasses import dataclass
from pathlib import Path

from authentic.annotations.importers.base import (
    ImageIndex,
    Loaded,
    Pending,
    rel,
)
from authentic.annotations.importers.names import read_names
from authentic.annotations.model import Box, Category, ParsedAnnotation, Problem
from authentic.errors import FieldError
from authentic.media.geometry import ImageSize


@dataclass(frozen=True)
class _VocObject:
    name: str
    bndbox: tuple[float, float, float, float] | str  # xmin, ymin, xmax, ymax; or why it cannot be read


def _voc_bndbox(element: ET.Element) -> tuple[float, float, float, float] | str:
    box = element.find("bndbox")
    if box is None:
        return "missing <bndbox>"
    values = []
    for tag in ("xmin", "ymin", "xmax", "ymax"):
        text = box.findtext(tag)
        if text is None or not text.strip():
            return f"missing <bndbox><{tag}>"
        try:
            values.append(float(text))
        except ValueError:
            return f"<{tag}> must be a number, got {text.strip()!r}"
    return values[0], values[1], values[2], values[3]


def _voc_size(root: ET.Element) -> ImageSize | None:
    size = root.find("size")
    if size is None:
        return None
    try:
        width, height = int(float(size.findtext("width") or 0)), int(float(size.findtext("height") or 0))
    except ValueError:
        return None
    return ImageSize(width, height) if width > 0 and height > 0 else None


@dataclass(frozen=True)
class _VocFile:
    path: Path
    filename: str
    size: ImageSize | None
    objects: tuple[_VocObject, ...]


def _read_voc(path: Path) -> _VocFile:
    try:
        element = ET.parse(path).getroot()  # noqa: S314 - see the import
    except ET.ParseError as exc:
        raise FieldError(f"not valid XML: {exc}") from exc
    if element.tag != "annotation":
        raise FieldError(f"not a Pascal VOC annotation (the root is <{element.tag}>, not <annotation>)")
    objects = tuple(
        _VocObject((obj.findtext("name") or "").strip(), _voc_bndbox(obj)) for obj in element.iter("object")
    )
    return _VocFile(path, (element.findtext("filename") or "").strip(), _voc_size(element), objects)


def _voc_annotation(
    voc: _VocFile, ids: dict[str, int], categories: tuple[Category, ...], source: str
) -> ParsedAnnotation:
    boxes, indices, problems = [], [], []
    for box_index, obj in enumerate(voc.objects):
        if isinstance(obj.bndbox, str):
            problems.append(Problem(source, obj.bndbox, box_index))
        elif obj.name not in ids:
            problems.append(Problem(source, f"class {obj.name!r} is not one of the class names", box_index))
        else:
            xmin, ymin, xmax, ymax = obj.bndbox
            boxes.append(Box(ids[obj.name], xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1))
            indices.append(box_index)
    return ParsedAnnotation(
        voc.filename, voc.size, tuple(boxes), categories, problems=tuple(problems), box_indices=tuple(indices)
    )


def load(root: Path) -> Loaded:
    loaded = Loaded()
    files: list[_VocFile] = []
    for path in sorted(root.rglob("*.xml")):
        try:
            files.append(_read_voc(path))
        except (FieldError, OSError) as exc:
            loaded.problems.append(Problem(rel(path, root), str(exc)))
    names = read_names(root) or sorted({obj.name for voc in files for obj in voc.objects if obj.name})
    loaded.categories = tuple(Category(index, name) for index, name in enumerate(names))
    ids = {name: index for index, name in enumerate(names)}
    index = ImageIndex(root)
    for voc in files:
        source = rel(voc.path, root)
        try:
            if voc.filename:
                image = index.find(voc.filename, near=voc.path)
            else:
                image = index.find(voc.path.stem, near=voc.path, by_stem=True)
        except LookupError as exc:
            loaded.problems.append(Problem(source, str(exc)))
            continue
        loaded.pending.append(Pending(image, source, _voc_annotation(voc, ids, loaded.categories, source)))
    return loaded
