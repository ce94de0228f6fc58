"""One image's annotation: reading the seed JSON upload format, and the geometry gate every box passes.

`parse_seed` reads the canonical upload format (DESIGN.md, "Annotation JSON") into the canonical model and
refuses what cannot be read as a whole: invalid JSON, a top level that is not an object, a missing
`annotations` list, wrong-typed file-level fields, duplicate categories, too many boxes. A box it cannot read
(a missing field, a string where a number belongs, a boolean, NaN or infinity) is left out with a `Problem`
naming the box; `check_annotation` reports it with the rest.

`check_annotation` is the one geometry gate, used by the ingest and by every bulk importer:
- `image_size` decides the frame of the boxes (`authentic.orientation.box_frame`): upright, or the stored
  pixels of an orientation 5-8 photo (then the boxes are rotated with the pixels). A size that matches neither
  rejects the file, naming both sizes.
- A box is dropped, with a `Problem` naming it, for: an unknown class id (only when the annotation names its
  categories; without categories any non-negative id passes and the caller checks it against the brand's known
  categories), a non-finite value, zero or negative width or height, lying outside the image, lying mostly
  outside it, or being thinner than 1 px once clipped.
- A box that overshoots an edge is clipped to the image when the overshoot is at most `EDGE_TOLERANCE_PX`
  (rounding, 1-based tools) or when at least `MIN_INSIDE_FRACTION` of its area is inside (a labeller dragging
  past the edge of a product cut off by the frame); otherwise it is dropped.
- The good boxes are kept. A file whose boxes were all dropped is rejected: keeping it would teach the
  detector that its objects are background. A file with no boxes at all is accepted (a photo of nothing).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from authentic.errors import RejectedFile
from authentic.model import ROLES, Annotation, Box, Category, ImageSize, Problem, Role
from authentic.orientation import Frame, box_frame, to_upright, upright_size

MAX_SEED_BYTES = 1 << 20
"""An annotation file larger than this is refused before it is parsed (500 boxes take about 50 KB)."""
MAX_BOXES = 500
"""Boxes per image. Detectors keep at most a few hundred detections per image; more is a broken export."""
MAX_CATEGORIES = 1000
EDGE_TOLERANCE_PX = 2.0
MIN_INSIDE_FRACTION = 0.5
MIN_SIDE_PX = 1.0
BOX_FIELDS = ("left", "top", "width", "height")
_MAX_REASONS_IN_MESSAGE = 3


class FieldError(ValueError):
    """One field is missing or has the wrong type or value; the message names the field."""


@dataclass(frozen=True)
class ParsedAnnotation(Annotation):
    """An annotation as read from a file, with what could not be read.

    `problems`: one per box that could not be read (its `box_index` is its position in the file).
    `box_indices`: the position in the file of each box in `boxes`, so that later problems name the box the
    way the file does; empty means 0, 1, 2, ...
    """

    problems: tuple[Problem, ...] = ()
    box_indices: tuple[int, ...] = ()


@dataclass(frozen=True)
class CheckedAnnotation:
    annotation: Annotation
    """Boxes in upright pixel coordinates, `size` the upright size, only the valid boxes."""
    problems: tuple[Problem, ...]
    """One per dropped box, in box order, each with `box_index` set."""


# --------------------------------------------------------------------------------------------------------
# Reading fields


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages ("got string")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _spell(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return f"{value:g}"


def read_number(value: Any, name: str) -> float:
    """A finite JSON number. Booleans are not numbers, and numeric strings are not either."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"'{name}' must be a number, got {json_type(value)}")
    try:
        number = float(value)
    except OverflowError as exc:
        raise FieldError(f"'{name}' must be a finite number, got one too large") from exc
    if not math.isfinite(number):
        raise FieldError(f"'{name}' must be a finite number, got {_spell(number)}")
    return number


def read_int(value: Any, name: str, *, minimum: int = 0) -> int:
    """A whole JSON number >= minimum; 3.0 is read as 3 (harmless), 3.5 and "3" are refused."""
    what = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"'{name}' must be {what}, got {json_type(value)}")
    if isinstance(value, float) and not value.is_integer():
        raise FieldError(f"'{name}' must be {what}, got {_spell(value)}")
    number = int(value)
    if number < minimum:
        raise FieldError(f"'{name}' must be {what}, got {number}")
    return number


def read_box(item: Any) -> Box:
    """One seed-format box: {"class_id", "left", "top", "width", "height"}; every bad field is named."""
    if not isinstance(item, dict):
        raise FieldError(f"must be an object with class_id, left, top, width and height, got {json_type(item)}")
    missing = [name for name in ("class_id", *BOX_FIELDS) if name not in item]
    if missing:
        raise FieldError("missing " + ", ".join(f"'{name}'" for name in missing))
    errors: list[str] = []
    class_id = 0
    try:
        class_id = read_int(item["class_id"], "class_id")
    except FieldError as exc:
        errors.append(str(exc))
    values: list[float] = []
    for name in BOX_FIELDS:
        try:
            values.append(read_number(item[name], name))
        except FieldError as exc:
            errors.append(str(exc))
    if errors:
        raise FieldError("; ".join(errors))
    return Box(class_id, *values)


def read_image_size(value: Any) -> ImageSize | None:
    """`image_size`: a one-element list (the seed and Ground Truth shape) or a single object. `null` or `[]`
    means no size (upright, by DESIGN.md's rule). `depth` is informational (the ingest measures the image):
    a missing or unusable depth reads as 3."""
    if value is None:
        return None
    if isinstance(value, list):
        if not value:
            return None
        if len(value) != 1:
            raise FieldError(f"'image_size' must hold one size, got {len(value)}")
        value = value[0]
    if not isinstance(value, dict):
        raise FieldError(f"'image_size' must be an object with width and height, got {json_type(value)}")
    for name in ("width", "height"):
        if name not in value:
            raise FieldError(f"missing 'image_size.{name}'")
    width = read_int(value["width"], "image_size.width", minimum=1)
    height = read_int(value["height"], "image_size.height", minimum=1)
    depth = value.get("depth")
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 4:
        depth = 3
    return ImageSize(width, height, depth)


def _read_role(value: Any, name: str) -> Role | None:
    if value is None:
        return None
    if isinstance(value, str):
        for role in ROLES:
            if value.strip().lower() == role:
                return role
    raise FieldError(f"'{name}' must be 'genuine' or 'counterfeit', got {json.dumps(value)}")


def _read_name(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise FieldError(f"'{name}' must be a string, got {json_type(value)}")
    if not value.strip():
        raise FieldError(f"'{name}' must not be empty")
    return value.strip()


def _read_category_list(value: list[Any], field: str) -> list[Category]:
    if all(isinstance(item, str) for item in value):  # a synset list: the index is the class id
        return [Category(index, _read_name(item, f"{field}[{index}]")) for index, item in enumerate(value)]
    if not all(isinstance(item, dict) for item in value):
        raise FieldError(f"'{field}' must be a list of names or a list of objects, not a mix")
    categories = []
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        for name in ("class_id", "name"):
            if name not in item:
                raise FieldError(f"missing '{where}.{name}'")
        categories.append(
            Category(
                read_int(item["class_id"], f"{where}.class_id"),
                _read_name(item["name"], f"{where}.name"),
                _read_role(item.get("role"), f"{where}.role"),
            )
        )
    return categories


def _read_class_map(value: dict[Any, Any], field: str) -> list[Category]:
    """A Ground Truth style class-map, {"0": "genuine", "1": "counterfeit"}."""
    categories = []
    for key, name in value.items():
        if not str(key).isdecimal():
            raise FieldError(f"'{field}' keys must be class ids, got {json.dumps(key)}")
        categories.append(Category(int(key), _read_name(name, f"{field}.{key}")))
    return categories


def _read_categories_field(value: Any, field: str) -> tuple[Category, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        if len(value) > MAX_CATEGORIES:
            raise FieldError(f"'{field}' has {len(value)} entries; at most {MAX_CATEGORIES}")
        found = _read_category_list(value, field)
    elif isinstance(value, dict):
        found = _read_class_map(value, field)
    else:
        raise FieldError(f"'{field}' must be a list of categories or of names, got {json_type(value)}")
    return tuple(sorted(found, key=lambda c: c.class_id))


def check_categories(categories: Sequence[Category]) -> None:
    """Class ids and names must each be unique (names compared case-insensitively)."""
    ids: set[int] = set()
    names: dict[str, int] = {}
    for category in categories:
        if category.class_id in ids:
            raise FieldError(f"duplicate class id {category.class_id} in the categories")
        ids.add(category.class_id)
        key = category.name.casefold()
        if key in names:
            raise FieldError(
                f"category name {category.name!r} is used by class ids {names[key]} and {category.class_id}"
            )
        names[key] = category.class_id


def read_categories(doc: Mapping[str, Any]) -> tuple[Category, ...]:
    """`categories` (objects with class_id, name and an optional role; or a list of names; or a class-map) or a
    top-level `synsets` list of names. Both may be given only when they agree."""
    categories = _read_categories_field(doc.get("categories"), "categories")
    synsets = _read_categories_field(doc.get("synsets"), "synsets")
    if categories and synsets:
        if [(c.class_id, c.name) for c in categories] != [(c.class_id, c.name) for c in synsets]:
            raise FieldError("'categories' and 'synsets' disagree; give one of them")
        synsets = ()
    found = categories or synsets
    check_categories(found)
    return found


def _rejected_all(source: str, problems: Sequence[Problem]) -> RejectedFile:
    reasons = "; ".join(f"box {p.box_index}: {p.reason}" for p in problems[:_MAX_REASONS_IN_MESSAGE])
    more = len(problems) - _MAX_REASONS_IN_MESSAGE
    if more > 0:
        reasons += f"; and {more} more"
    return RejectedFile(f"{source}: no valid box left ({reasons})", details=[problem.to_json() for problem in problems])


# --------------------------------------------------------------------------------------------------------
# Parsing the seed JSON


def parse_seed(data: bytes, *, source: str) -> ParsedAnnotation:
    """Read an uploaded annotation JSON. Raises `RejectedFile` (its message starts with `source`) for what
    rejects the whole file; boxes that cannot be read are left out and listed in `problems`, which
    `check_annotation` reports with its own. Pass the result on as it is (or through `dataclasses.replace`,
    which keeps `problems`): rebuilding a plain `Annotation` from it loses them."""
    if len(data) > MAX_SEED_BYTES:
        raise RejectedFile(f"{source}: is {len(data)} bytes; an annotation file may be at most {MAX_SEED_BYTES}")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RejectedFile(f"{source}: not valid JSON: not UTF-8 text (bad byte at offset {exc.start})") from exc
    try:
        doc = json.loads(text)
    except RecursionError as exc:
        raise RejectedFile(f"{source}: not valid JSON: nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, and integer literals longer than Python converts
        raise RejectedFile(f"{source}: not valid JSON: {exc}") from exc
    return annotation_from_json(doc, source=source)


def annotation_from_json(doc: Any, *, source: str) -> ParsedAnnotation:
    """The seed format's object, already decoded (also Ground Truth's bounding-box label attribute)."""
    if not isinstance(doc, dict):
        raise RejectedFile(f"{source}: must be a JSON object, got {json_type(doc)}")
    try:
        file = doc.get("file")
        if file is not None and not isinstance(file, str):
            raise FieldError(f"'file' must be a string, got {json_type(file)}")
        size = read_image_size(doc.get("image_size"))
        categories = read_categories(doc)
        if "annotations" not in doc:
            raise FieldError("missing 'annotations' (the list of boxes; [] for a photo without any)")
        items = doc["annotations"]
        if not isinstance(items, list):
            raise FieldError(f"'annotations' must be an array, got {json_type(items)}")
        if len(items) > MAX_BOXES:
            raise FieldError(f"has {len(items)} boxes; at most {MAX_BOXES} per image")
    except FieldError as exc:
        raise RejectedFile(f"{source}: {exc}") from exc
    boxes: list[Box] = []
    indices: list[int] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        try:
            boxes.append(read_box(item))
            indices.append(index)
        except FieldError as exc:
            problems.append(Problem(source, str(exc), index))
    if problems and not boxes:  # fail safe even for a caller that drops `problems`: never "a photo of nothing"
        raise _rejected_all(source, problems)
    return ParsedAnnotation(
        file=file or "",
        size=size,
        boxes=tuple(boxes),
        categories=categories,
        problems=tuple(problems),
        box_indices=tuple(indices),
    )


# --------------------------------------------------------------------------------------------------------
# Checking against the real image


def _frame(declared: ImageSize | None, stored: ImageSize, orientation: int, source: str) -> Frame:
    """The frame of the boxes, or `RejectedFile` naming both sizes. `box_frame` reads any square size as
    upright; a declared size must still be the photo's size in one of its orientations."""
    frame = box_frame(declared, stored, orientation)
    if declared is None:
        return Frame.UPRIGHT
    upright = upright_size(stored, orientation)
    shape = (declared.width, declared.height)
    if frame is not None and shape in {(upright.width, upright.height), (stored.width, stored.height)}:
        return frame
    said = f"image_size {declared.width}x{declared.height}"
    if (upright.width, upright.height) == (stored.width, stored.height):
        raise RejectedFile(f"{source}: {said} does not match the photo's size {stored.width}x{stored.height}")
    raise RejectedFile(
        f"{source}: {said} matches neither the photo's upright size {upright.width}x{upright.height} "
        f"nor its stored size {stored.width}x{stored.height} (Exif orientation {orientation})"
    )


def _check_values(box: Box) -> None:
    for name in BOX_FIELDS:
        value = getattr(box, name)
        if not math.isfinite(value):
            raise FieldError(f"'{name}' must be a finite number, got {_spell(value)}")
    if box.width <= 0 or box.height <= 0:
        raise FieldError(f"zero or negative area (width {_spell(box.width)}, height {_spell(box.height)})")


def check_box(box: Box, frame: ImageSize, known: frozenset[int] | None) -> Box:
    """The box clipped to the image (`frame`: the size of the frame the box is in), or `FieldError`."""
    if box.class_id < 0:
        raise FieldError(f"class id {box.class_id} is negative")
    if known is not None and box.class_id not in known:
        listed = ", ".join(str(i) for i in sorted(known))
        raise FieldError(f"class id {box.class_id} is not one of the categories ({listed})")
    _check_values(box)
    left, top = max(box.left, 0.0), max(box.top, 0.0)
    right, bottom = min(box.right, float(frame.width)), min(box.bottom, float(frame.height))
    where = (
        f"the {frame.width}x{frame.height} image (box left {_spell(box.left)}, top {_spell(box.top)}, "
        f"width {_spell(box.width)}, height {_spell(box.height)})"
    )
    if right <= left or bottom <= top:
        raise FieldError(f"lies outside {where}")
    overshoot = max(-box.left, -box.top, box.right - frame.width, box.bottom - frame.height)
    inside = (right - left) * (bottom - top) / box.area
    if overshoot > EDGE_TOLERANCE_PX and inside < MIN_INSIDE_FRACTION:
        raise FieldError(f"lies mostly outside {where}: {inside:.0%} of it is inside")
    if right - left < MIN_SIDE_PX or bottom - top < MIN_SIDE_PX:
        raise FieldError(f"is thinner than {MIN_SIDE_PX:g} px inside {where}")
    return Box(box.class_id, left, top, right - left, bottom - top)


def check_annotation(annotation: Annotation, *, stored: ImageSize, orientation: int, source: str) -> CheckedAnnotation:
    """Check an annotation against the real image (`stored`: the size of its pixels as stored;
    `orientation`: its Exif orientation, 1 when absent) and carry its boxes onto the upright photo.

    Raises `RejectedFile` when `image_size` matches neither orientation, when the categories repeat a class
    id or a name, when there are more than `MAX_BOXES` boxes, and when boxes were given but none is valid.
    """
    frame = _frame(annotation.size, stored, orientation, source)
    try:
        check_categories(annotation.categories)
    except FieldError as exc:
        raise RejectedFile(f"{source}: {exc}") from exc
    problems: list[Problem] = []
    indices: Sequence[int] = range(len(annotation.boxes))
    if isinstance(annotation, ParsedAnnotation):
        problems.extend(annotation.problems)
        if len(annotation.box_indices) == len(annotation.boxes):
            indices = annotation.box_indices
    if len(annotation.boxes) + len(problems) > MAX_BOXES:
        raise RejectedFile(f"{source}: has {len(annotation.boxes) + len(problems)} boxes; at most {MAX_BOXES}")
    frame_size = stored if frame is Frame.STORED else upright_size(stored, orientation)
    known = frozenset(c.class_id for c in annotation.categories) if annotation.categories else None
    kept: list[Box] = []
    for index, box in zip(indices, annotation.boxes, strict=True):
        try:
            clipped = check_box(box, frame_size, known)
        except FieldError as exc:
            problems.append(Problem(source, str(exc), index))
            continue
        kept.append(to_upright(clipped, stored, orientation) if frame is Frame.STORED else clipped)
    problems.sort(key=lambda p: -1 if p.box_index is None else p.box_index)
    if problems and not kept:
        raise _rejected_all(source, problems)
    upright = upright_size(stored, orientation)
    checked = Annotation(annotation.file, upright, tuple(kept), annotation.categories)
    return CheckedAnnotation(checked, tuple(problems))
