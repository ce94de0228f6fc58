"""Exif orientation geometry: where a box drawn on the stored pixels lands on the upright photo.

DESIGN.md's rule: labelling tools show photos upright. If an annotation's `image_size` matches the upright
size, its boxes are in upright coordinates; if it matches the stored (un-rotated) size of an orientation 5-8
photo, they are in stored coordinates and must be rotated with the pixels. Square or missing size: upright.
"""

from __future__ import annotations

from enum import Enum

from PIL import Image

from authentic.model import Box, ImageSize

TRANSPOSING = frozenset({5, 6, 7, 8})

# The Pillow transpose that makes a stored photo of each Exif orientation upright.
TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class Frame(Enum):
    UPRIGHT = "upright"
    STORED = "stored"


def upright_size(stored: ImageSize, orientation: int) -> ImageSize:
    return stored.transposed if orientation in TRANSPOSING else stored


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


def _point(x: float, y: float, w: float, h: float, orientation: int) -> tuple[float, float]:
    """Map a point of the stored image (w x h) onto the upright image."""
    match orientation:
        case 2:
            return w - x, y
        case 3:
            return w - x, h - y
        case 4:
            return x, h - y
        case 5:
            return y, x
        case 6:
            return h - y, x
        case 7:
            return h - y, w - x
        case 8:
            return y, w - x
        case _:
            return x, y


def to_upright(box: Box, stored: ImageSize, orientation: int) -> Box:
    """Carry a box in stored coordinates onto the upright photo."""
    x1, y1 = _point(box.left, box.top, stored.width, stored.height, orientation)
    x2, y2 = _point(box.right, box.bottom, stored.width, stored.height, orientation)
    left, right = sorted((x1, x2))
    top, bottom = sorted((y1, y2))
    return Box(box.class_id, left, top, right - left, bottom - top)


def to_stored(box: Box, stored: ImageSize, orientation: int) -> Box:
    """The inverse of `to_upright`: carry an upright box back onto the stored pixels."""
    inverse = {6: 8, 8: 6}.get(orientation, orientation)
    return to_upright(box, upright_size(stored, orientation), inverse)
