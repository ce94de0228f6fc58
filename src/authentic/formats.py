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

import json
import math
import re
import xml.etree.ElementTree as ET  # the user's own files, read locally; expat >= 2.4.1 caps entity expansion
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from PIL import Image

from authentic.annotations import (
    FieldError,
    ParsedAnnotation,
    annotation_from_json,
    check_annotation,
    check_categories,
    json_type,
    parse_seed,
    read_int,
    read_number,
)
from authentic.errors import InvalidInput, RejectedFile
from authentic.model import Annotation, Box, Category, ImageSize, Problem
from authentic.orientation import upright_size

Format = Literal["seed", "coco", "yolo", "voc", "groundtruth"]
FORMATS: tuple[Format, ...] = get_args(Format)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
NAMES_FILES = ("data.yaml", "dataset.yaml", "classes.txt")
_EXIF_ORIENTATION = 0x0112
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*/")


@dataclass(frozen=True)
class ImportedItem:
    image_path: Path
    annotation: Annotation
    """Checked: upright pixels, `size` the upright size, `file` the image's path relative to the folder."""


@dataclass
class ImportedDataset:
    items: list[ImportedItem] = field(default_factory=list)
    categories: tuple[Category, ...] = ()
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _Pending:
    image: Path
    source: str  # names the annotation in problems
    annotation: Annotation  # as read: declared size, boxes in the file's frame
    measured: tuple[ImageSize, int] | None = None


@dataclass
class _Loaded:
    pending: list[_Pending] = field(default_factory=list)
    categories: tuple[Category, ...] = ()
    problems: list[Problem] = field(default_factory=list)


def load_dataset(folder: Path, fmt: Format) -> ImportedDataset:
    """Import every annotated image under `folder`; see the module docstring for each format's rules."""
    loader = _LOADERS.get(fmt)
    if loader is None:
        raise InvalidInput(f"unknown annotation format {fmt!r}; use one of {', '.join(FORMATS)}")
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a folder")
    loaded = loader(root)
    return _finish(root, loaded)


# --------------------------------------------------------------------------------------------------------
# Shared steps


def measure_image(path: Path) -> tuple[ImageSize, int]:
    """The stored size and Exif orientation (1 when absent or invalid), read from the header only."""
    with Image.open(path) as image:
        width, height = image.size
        depth = len(image.getbands())
        # The base method reads Exif already in the header; PNG's override would decode the pixels.
        orientation = Image.Image.getexif(image).get(_EXIF_ORIENTATION, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    return ImageSize(width, height, depth), orientation


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _image_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
        and path.is_file()
    )


def _finish(root: Path, loaded: _Loaded) -> ImportedDataset:
    dataset = ImportedDataset(categories=loaded.categories, problems=list(loaded.problems))
    annotated_by: dict[Path, str] = {}
    for pending in loaded.pending:
        image_name = _rel(pending.image, root)
        if pending.image in annotated_by:
            reason = f"its image {image_name} is already annotated by {annotated_by[pending.image]}"
            dataset.problems.append(Problem(pending.source, reason))
            continue
        annotated_by[pending.image] = pending.source
        try:
            stored, orientation = pending.measured or measure_image(pending.image)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            dataset.problems.append(Problem(image_name, f"cannot read the image: {exc}"))
            continue
        annotation = replace(pending.annotation, file=image_name)
        try:
            checked = check_annotation(annotation, stored=stored, orientation=orientation, source=pending.source)
        except RejectedFile as exc:
            dataset.problems.append(Problem(pending.source, exc.message.removeprefix(f"{pending.source}: ")))
            continue
        dataset.problems.extend(checked.problems)
        dataset.items.append(ImportedItem(pending.image, checked.annotation))
    return dataset


class _ImageIndex:
    """Finds an image named by an annotation (`IMG_1.JPG`, `train2017/1.jpg`, `s3://bucket/a/1.jpg`,
    `C:\\data\\1.jpg`): by file name, then by the longest matching path tail, then by the directories it
    shares with the annotation file (so `annotations/train/x.xml` finds `images/train/x.jpg`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.by_name: dict[str, list[Path]] = {}
        self.by_stem: dict[str, list[Path]] = {}
        for path in _image_files(root):
            self.by_name.setdefault(path.name.casefold(), []).append(path)
            self.by_stem.setdefault(path.stem.casefold(), []).append(path)

    def find(self, ref: str, *, near: Path | None = None, by_stem: bool = False) -> Path:
        """The image, or `LookupError` with the reason."""
        parts = [part.casefold() for part in re.split(r"[\\/]", _URI.sub("", ref)) if part not in ("", ".")]
        if not parts:
            raise LookupError("names no image")
        candidates = (self.by_stem if by_stem else self.by_name).get(parts[-1], [])
        if not candidates:
            raise LookupError(f"its image {ref!r} is not under the folder")
        near_dirs = {p.casefold() for p in near.relative_to(self.root).parts[:-1]} if near else set()

        def score(path: Path) -> tuple[int, int]:
            rel = [p.casefold() for p in path.relative_to(self.root).parts]
            tail = 0
            while tail < min(len(rel), len(parts)) and rel[-1 - tail] == parts[-1 - tail]:
                tail += 1
            return tail, len(near_dirs.intersection(rel[:-1]))

        ranked = sorted(candidates, key=score, reverse=True)
        if len(ranked) > 1 and score(ranked[0]) == score(ranked[1]):
            listed = ", ".join(_rel(path, self.root) for path in ranked[:3])
            raise LookupError(f"its image {ref!r} is ambiguous: {listed}")
        return ranked[0]


def _roles_differ(old: Category, new: Category) -> bool:
    return old.role is not None and new.role is not None and old.role != new.role


def _merge_categories(
    known: dict[int, Category], new: Sequence[Category], source: str
) -> tuple[dict[int, Category], Problem | None]:
    """Add `new` to `known` unless a class id or a name is already used differently."""
    merged = dict(known)
    for category in new:
        old = merged.get(category.class_id)
        if old is not None and (old.name != category.name or _roles_differ(old, category)):
            reason = f"class id {category.class_id} is {category.name!r} here but {old.name!r} elsewhere"
            return known, Problem(source, reason)
        if old is None or old.role is None:
            merged[category.class_id] = category
    try:
        check_categories(list(merged.values()))
    except FieldError as exc:
        return known, Problem(source, f"its categories clash with the other files': {exc}")
    return merged, None


# --------------------------------------------------------------------------------------------------------
# Class names: classes.txt and the `names:` of a YOLO data.yaml


def read_names(root: Path) -> list[str] | None:
    """Class names from `data.yaml`/`dataset.yaml` or `classes.txt` at the folder's top; None when none.
    Raises `InvalidInput` when a file cannot be read or two files disagree."""
    found: dict[str, list[str]] = {}
    for name in NAMES_FILES:
        path = root / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8-sig")
        try:
            names = _classes_txt(text) if name.endswith(".txt") else parse_yaml_names(text)
        except ValueError as exc:
            raise InvalidInput(f"{name}: {exc}") from exc
        if names is not None:
            found[name] = names
    if not found:
        return None
    (first, names), *others = found.items()
    for other, other_names in others:
        if other_names != names:
            raise InvalidInput(f"{first} and {other} name the classes differently: {names} and {other_names}")
    if len(set(names)) != len(names):
        raise InvalidInput(f"{first} repeats a class name: {names}")
    return names


def _classes_txt(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line:
            raise ValueError(f"line {number} is empty (the line number is the class id)")
    if not lines:
        raise ValueError("names no class")
    return lines


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] == "'":
        return token[1:-1].replace("''", "'")
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return str(json.loads(token))
    return token


def _split_flow(body: str) -> list[str]:
    """Split `a, 'b, c', "d"` on the commas outside quotes."""
    tokens = re.findall(r"""\s*('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^,]+)\s*(?:,|$)""", body)
    return [token for token in tokens if token.strip()]


def _names_from_pairs(pairs: list[tuple[str, str]]) -> list[str]:
    by_id: dict[int, str] = {}
    for key, value in pairs:
        if not key.strip().isdecimal():
            raise ValueError(f"'names' keys must be class ids, got {key.strip()!r}")
        if int(key) in by_id:
            raise ValueError(f"'names' lists class id {int(key)} twice")
        by_id[int(key)] = _unquote(value)
    if sorted(by_id) != list(range(len(by_id))):
        raise ValueError(f"'names' class ids must be 0..{len(by_id) - 1}, got {sorted(by_id)}")
    return [by_id[index] for index in range(len(by_id))]


def _names_flow(value: str) -> list[str]:
    if value.startswith("[") and value.endswith("]"):
        return [_unquote(token) for token in _split_flow(value[1:-1])]
    if value.startswith("{") and value.endswith("}"):
        pairs = [token.partition(":") for token in _split_flow(value[1:-1])]
        return _names_from_pairs([(key, name) for key, _, name in pairs])
    raise ValueError(f"cannot read 'names: {value}'; write it as a list or as 'id: name' lines")


def _names_block(lines: Iterable[str]) -> list[str]:
    items: list[str] = []
    pairs: list[tuple[str, str]] = []
    for raw in lines:
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if not line[0].isspace() and not line.startswith("-"):
            break  # the next top-level key
        entry = line.strip()
        if entry.startswith("-"):
            items.append(_unquote(entry[1:]))
        else:
            key, colon, name = entry.partition(":")
            if not colon:
                raise ValueError(f"cannot read the 'names' entry {entry!r}")
            pairs.append((key, name))
    if items and pairs:
        raise ValueError("'names' mixes '- name' and 'id: name' entries")
    return items or _names_from_pairs(pairs)


def parse_yaml_names(text: str) -> list[str] | None:
    """The top-level `names:` of a YOLO dataset YAML, without a YAML library (PyYAML is not a runtime
    dependency): a block list (`- ace`), a block mapping (`0: ace`), or a flow list or mapping. None when
    the file has no `names`."""
    lines = text.splitlines()
    for number, raw in enumerate(lines):
        match = re.match(r"^(['\"]?)names\1\s*:(.*)$", raw)
        if not match:
            continue
        value = _strip_comment(match.group(2)).strip()
        names = _names_flow(value) if value else _names_block(lines[number + 1 :])
        if not names or not all(names):
            raise ValueError("'names' lists no class, or an empty name")
        return names
    return None


def _require_names(root: Path) -> tuple[Category, ...]:
    names = read_names(root)
    if names is None:
        raise InvalidInput(f"no class names in {root}: add classes.txt (one name per line) or data.yaml 'names'")
    return tuple(Category(index, name) for index, name in enumerate(names))


# --------------------------------------------------------------------------------------------------------
# seed: a folder of images, each with a same-stem .json


def _load_seed(root: Path) -> _Loaded:
    loaded = _Loaded()
    parsed: list[tuple[Path, str, ParsedAnnotation]] = []
    paired: set[Path] = set()
    for image in _image_files(root):
        path = image.with_suffix(".json")
        if not path.is_file():
            loaded.problems.append(Problem(_rel(image, root), f"no annotation: expected {path.name} beside it"))
            continue
        paired.add(path)
        source = _rel(path, root)
        try:
            parsed.append((image, source, parse_seed(path.read_bytes(), source=source)))
        except RejectedFile as exc:
            loaded.problems.append(Problem(source, exc.message.removeprefix(f"{source}: ")))
    for path in sorted(root.rglob("*.json")):
        if path not in paired:
            loaded.problems.append(Problem(_rel(path, root), "no image with the same name beside it"))
    known: dict[int, Category] = {}
    accepted: list[tuple[Path, str, ParsedAnnotation]] = []
    for image, source, annotation in parsed:
        known, problem = _merge_categories(known, annotation.categories, source)
        if problem is not None:
            loaded.problems.append(problem)
        else:
            accepted.append((image, source, annotation))
    loaded.categories = tuple(known[class_id] for class_id in sorted(known))
    for image, source, annotation in accepted:
        loaded.pending.append(_Pending(image, source, replace(annotation, categories=loaded.categories)))
    return loaded


# --------------------------------------------------------------------------------------------------------
# COCO


def _coco_files(root: Path, problems: list[Problem]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(root.rglob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, RecursionError) as exc:
            problems.append(Problem(_rel(path, root), f"not valid JSON: {exc}"))
            continue
        if isinstance(doc, dict) and "images" in doc and "annotations" in doc:
            found.append((_rel(path, root), doc))
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
    root: Path, name: str, doc: dict[str, Any], categories: dict[int, Category], index: _ImageIndex
) -> _Loaded:
    loaded = _Loaded()
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
        loaded.pending.append(_Pending(path, source, annotation))
    return loaded


def _load_coco(root: Path) -> _Loaded:
    loaded = _Loaded()
    files = _coco_files(root, loaded.problems)
    categories = _coco_categories(files)
    loaded.categories = tuple(sorted(categories.values(), key=lambda c: c.class_id))
    index = _ImageIndex(root)
    for name, doc in files:
        part = _coco_file(root, name, doc, categories, index)
        loaded.pending.extend(part.pending)
        loaded.problems.extend(part.problems)
    return loaded


# --------------------------------------------------------------------------------------------------------
# YOLO


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


def _load_yolo(root: Path) -> _Loaded:
    loaded = _Loaded(categories=_require_names(root))
    for image in _image_files(root):
        label = _yolo_label_path(image, root)
        if not label.is_file():
            reason = f"no label file {_rel(label, root)} (an empty one means: no boxes)"
            loaded.problems.append(Problem(_rel(image, root), reason))
            continue
        try:
            measured = measure_image(image)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            loaded.problems.append(Problem(_rel(image, root), f"cannot read the image: {exc}"))
            continue
        source = _rel(label, root)
        try:
            text = label.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            loaded.problems.append(Problem(source, f"cannot read the label file: {exc}"))
            continue
        annotation = _yolo_annotation(text, upright_size(*measured), loaded.categories, source)
        loaded.pending.append(_Pending(image, source, annotation, measured))
    return loaded


# --------------------------------------------------------------------------------------------------------
# Pascal VOC


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


def _load_voc(root: Path) -> _Loaded:
    loaded = _Loaded()
    files: list[_VocFile] = []
    for path in sorted(root.rglob("*.xml")):
        try:
            files.append(_read_voc(path))
        except (FieldError, OSError) as exc:
            loaded.problems.append(Problem(_rel(path, root), str(exc)))
    names = read_names(root) or sorted({obj.name for voc in files for obj in voc.objects if obj.name})
    loaded.categories = tuple(Category(index, name) for index, name in enumerate(names))
    ids = {name: index for index, name in enumerate(names)}
    index = _ImageIndex(root)
    for voc in files:
        source = _rel(voc.path, root)
        try:
            if voc.filename:
                image = index.find(voc.filename, near=voc.path)
            else:
                image = index.find(voc.path.stem, near=voc.path, by_stem=True)
        except LookupError as exc:
            loaded.problems.append(Problem(source, str(exc)))
            continue
        loaded.pending.append(_Pending(image, source, _voc_annotation(voc, ids, loaded.categories, source)))
    return loaded


# --------------------------------------------------------------------------------------------------------
# SageMaker Ground Truth


def _metadata(line: dict[str, Any], attribute: str) -> dict[str, Any]:
    metadata = line.get(f"{attribute}-metadata")
    return metadata if isinstance(metadata, dict) else {}


def _label_attribute(line: dict[str, Any]) -> str:
    """The bounding-box label attribute: the one holding `annotations`; with several, the one whose
    metadata says object detection."""
    found = [key for key, value in line.items() if isinstance(value, dict) and "annotations" in value]
    if not found:
        raise FieldError("no bounding-box label attribute (an object with 'image_size' and 'annotations')")
    detection = [key for key in found if _metadata(line, key).get("type") == "groundtruth/object-detection"]
    if len(found) > 1 and len(detection) != 1:
        raise FieldError(
            f"several label attributes hold 'annotations' ({', '.join(found)}) and not exactly one has "
            "'groundtruth/object-detection' as the type in its -metadata"
        )
    return detection[0] if len(found) > 1 else found[0]


def _groundtruth_line(text: str, source: str) -> tuple[str, ParsedAnnotation]:
    """The line's image reference and annotation."""
    try:
        line = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FieldError(f"not valid JSON: {exc}") from exc
    if not isinstance(line, dict):
        raise FieldError(f"must be a JSON object, got {json_type(line)}")
    ref = line.get("source-ref")
    if not isinstance(ref, str) or not ref:
        raise FieldError("missing 'source-ref' (the image's S3 URI)")
    attribute = _label_attribute(line)
    label = line[attribute]
    class_map = _metadata(line, attribute).get("class-map")
    doc = {
        "file": ref.rsplit("/", 1)[-1],
        "image_size": label.get("image_size"),
        "annotations": label["annotations"],
        "categories": class_map,
    }
    try:
        return ref, annotation_from_json(doc, source=source)
    except RejectedFile as exc:
        raise FieldError(exc.message.removeprefix(f"{source}: ")) from exc


def _load_groundtruth(root: Path) -> _Loaded:
    manifests = sorted({*root.rglob("*.manifest"), *root.rglob("*.jsonl")})
    if not manifests:
        raise InvalidInput(f"no Ground Truth manifest (*.manifest, JSON lines) under {root}")
    loaded = _Loaded()
    index = _ImageIndex(root)
    known: dict[int, Category] = {}
    read: list[tuple[Path, str, ParsedAnnotation]] = []
    for manifest in manifests:
        for number, text in enumerate(manifest.read_text(encoding="utf-8-sig").splitlines(), start=1):
            if not text.strip():
                continue
            source = f"{_rel(manifest, root)} line {number}"
            try:
                ref, annotation = _groundtruth_line(text, source)
                image = index.find(ref, near=manifest)
            except (FieldError, LookupError) as exc:
                loaded.problems.append(Problem(source, str(exc)))
                continue
            known, problem = _merge_categories(known, annotation.categories, source)
            if problem is not None:
                loaded.problems.append(problem)
                continue
            read.append((image, source, annotation))
    loaded.categories = tuple(known[class_id] for class_id in sorted(known))
    for image, source, annotation in read:
        loaded.pending.append(_Pending(image, source, replace(annotation, categories=loaded.categories)))
    return loaded


_LOADERS: dict[str, Callable[[Path], _Loaded]] = {
    "seed": _load_seed,
    "coco": _load_coco,
    "yolo": _load_yolo,
    "voc": _load_voc,
    "groundtruth": _load_groundtruth,
}
