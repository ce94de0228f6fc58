"""The seed JSON upload format (DESIGN.md, "Annotation JSON"), read into the canonical model.

`parse_seed` refuses what cannot be read as a whole: invalid JSON, a top level that is not an object, a missing
`annotations` list, wrong-typed file-level fields, duplicate categories, too many boxes. A box it cannot read
(a missing field, a string where a number belongs, a boolean, NaN or infinity) is left out with a `Problem`
naming the box; `authentic.annotations.checks.check_annotation` reports it with the rest.
"""

from __future__ import annotations

import json
from typing import Any

from authentic.annotations.checks import MAX_BOXES, rejected_all
from authentic.annotations.fields import json_type, read_box, read_categories, read_image_size
from authentic.annotations.model import Box, ParsedAnnotation, Problem
from authentic.errors import FieldError, RejectedFile

MAX_SEED_BYTES = 1 << 20
"""An annotation file larger than this is refused before it is parsed (500 boxes take about 50 KB)."""


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
        raise rejected_all(source, problems)
    return ParsedAnnotation(
        file=file or "",
        size=size,
        boxes=tuple(boxes),
        categories=categories,
        problems=tuple(problems),
        box_indices=tuple(indices),
    )
