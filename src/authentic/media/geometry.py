"""Exif orientation geometry: sizes and points of a stored photo and of the same photo upright.

The eight Exif orientations say how the stored pixels must be turned or mirrored to show the photo upright;
orientations 5-8 swap width and height.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

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


@dataclass(frozen=True)
class ImageSize:
    width: int
    height: int
    depth: int = 3

    @property
    def transposed(self) -> ImageSize:
        return ImageSize(self.height, self.width, self.depth)

    def to_json(self) -> dict[str, int]:
        return {"width": self.width, "height": self.height, "depth": self.depth}


def upright_size(stored: ImageSize, orientation: int) -> ImageSize:
    return stored.transposed if orientation in TRANSPOSING else stored


def upright_point(x: float, y: float, w: float, h: float, orientation: int) -> tuple[float, float]:
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
