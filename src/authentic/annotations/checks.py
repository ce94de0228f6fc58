"""The one geometry gate every box passes, at ingest and in every bulk importer (`check_annotation`):
- `image_size` decides the frame of the boxes (`authentic.annotations.orientation.box_frame`): upright, or the
  stored pixels of an orientation 5-8 photo (then the boxes are rotated with the pixels). A size that matches
  neither rejects the file, naming both sizes.
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

import math
from collections.abc import Sequence
from dataclasses import dataclass

from authentic.annotations.fields import BOX_FIELDS, check_categories, spell
from authentic.annotations.model import Annotation, Box, ParsedAnnotation, Problem
from authentic.annotations.orientation import Frame, box_frame, to_upright
from authentic.errors import FieldError, RejectedFile
from authentic.media.geometry import ImageSize, upright_size

MAX_BOXES = 500
"""Boxes per image. Detectors keep at most a few hundred detections per image; more is a broken export."""
EDGE_TOLERANCE_PX = 2.0
MIN_INSIDE_FRACTION = 0.5
MIN_SIDE_PX = 1.0
_MAX_REASONS_IN_MESSAGE = 3


@dataclass(frozen=True)
class CheckedAnnotation:
    annotation: Annotation
    """Boxes in upright pixel coordinates, `size` the upright size, only the valid boxes."""
    problems: tuple[Problem, ...]
    """One per dropped box, in box order, each with `box_index` set."""


def rejected_all(source: str, problems: Sequence[Problem]) -> RejectedFile:
    reasons = "; ".join(f"box {p.box_index}: {p.reason}" for p in problems[:_MAX_REASONS_IN_MESSAGE])
    more = len(problems) - _MAX_REASONS_IN_MESSAGE
    if more > 0:
        reasons += f"; and {more} more"
    return RejectedFile(f"{source}: no valid box left ({reasons})", details=[problem.to_json() for problem in problems])


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
            raise FieldError(f"'{name}' must be a finite number, got {spell(value)}")
    if box.width <= 0 or box.height <= 0:
        raise FieldError(f"zero or negative area (width {spell(box.width)}, height {spell(box.height)})")


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
        f"the {frame.width}x{frame.height} image (box left {spell(box.left)}, top {spell(box.top)}, "
        f"width {spell(box.width)}, height {spell(box.height)})"
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
        raise rejected_all(source, problems)
    upright = upright_size(stored, orientation)
    checked = Annotation(annotation.file, upright, tuple(kept), annotation.categories)
    return CheckedAnnotation(checked, tuple(problems))
