"""Where a box drawn on the stored pixels lands on the upright photo.

DESIGN.md's rule: labelling tools show photos upright. If an annotation's `image_size` matches the upright
size, its boxes are in upright coordinates; if it matches the stored (un-rotated) size of an orientation 5-8
photo, they are in stored coordinates and must be rotated with the pixels. Square or missing size: upright.
"""

from __future__ import annotations

from enum import Enum

from authentic.annotations.model import Box
from authentic.media.geometry import ImageSize, upright_point, upright_size


class Frame(Enum):
    UPRIGHT = "upright"
    STORED = "stored"


def box_frame(declared: ImageSize | None, stored: ImageSize, orientation: int) -> Frame | None:
    """Which frame an annotation's boxes are in, or None when `declared` matches neither orientation."""
    upright = upright_size(stored, orientation)
    if declared is None or declared.width == declared.height:
        return Frame.UPRIGHT
    if (declared.width, declared.height) == (upright.width, upright.height):
        return Frame.UPRIGHT
    if (declared.width, declared.height) == (stored.width, stored.height):
        return Frame.STORED
    return None


def to_upright(box: Box, stored: ImageSize, orientation: int) -> Box:
    """Carry a box in stored coordinates onto the upright photo."""
    x1, y1 = upright_point(box.left, box.top, stored.width, stored.height, orientation)
    x2, y2 = upright_point(box.right, box.bottom, stored.width, stored.height, orientation)
    left, right = sorted((x1, x2))
    top, bottom = sorted((y1, y2))
    return Box(box.class_id, left, top, right - left, bottom - top)


def to_stored(box: Box, stored: ImageSize, orientation: int) -> Box:
    """The inverse of `to_upright`: carry an upright box back onto the stored pixels."""
    inverse = {6: 8, 8: 6}.get(orientation, orientation)
    return to_upright(box, upright_size(stored, orientation), inverse)
