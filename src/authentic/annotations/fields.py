"""Reading the fields of annotation files: numbers, class ids, boxes, image sizes and categories, each with an
error (`authentic.errors.FieldError`) that names the field and says what was found. Every format's reader uses
these, so the same mistake reads the same way whatever the format."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from authentic.annotations.model import ROLES, Box, Category, Role
from authentic.errors import FieldError
from authentic.media.geometry import ImageSize

MAX_CATEGORIES = 1000
BOX_FIELDS = ("left", "top", "width", "height")


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


def spell(value: float) -> str:
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
        raise FieldError(f"'{name}' must be a finite number, got {spell(number)}")
    return number


def read_int(value: Any, name: str, *, minimum: int = 0) -> int:
    """A whole JSON number >= minimum; 3.0 is read as 3 (harmless), 3.5 and "3" are refused."""
    what = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"'{name}' must be {what}, got {json_type(value)}")
    if isinstance(value, float) and not value.is_integer():
        raise FieldError(f"'{name}' must be {what}, got {spell(value)}")
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
