"""Photos made to fit a route's limits before they are sent, the way a phone app would: untouched when they fit,
otherwise decoded, scaled down and sent as JPEG.

Two ways to keep the orientation:
- `fit_for_verify` draws the photo upright (the Exif orientation applied to the pixels) at 1600 px on the long
  side, what the shopper's page sends; the answer's boxes are in those pixels, and `scale` maps them back.
- `fit_for_upload` keeps the stored pixels' frame and the Exif orientation tag (and the rest of the Exif), so an
  annotation written against the original, in either frame, stays right once its numbers are scaled by `scale`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from authentic.contracts import DOWNSCALE_LONG_SIDE_PX, JPEG, MAX_VERIFY_PHOTO_BYTES, MAX_VERIFY_PIXELS

VERIFY_LONG_SIDE = DOWNSCALE_LONG_SIDE_PX  # what the shopper's page sends: ample for a 640 px model
QUALITY = 90
_SHRINK_STEP = 0.8  # when a re-encoded photo is still too heavy


class CannotFit(ValueError):
    """A photo over a limit that cannot be read, or made to fit."""


@dataclass(frozen=True)
class Fitted:
    data: bytes
    content_type: str
    scale: float  # sent pixels per original pixel; 1.0 when sent as is
    original_bytes: int
    original_size: tuple[int, int] = (0, 0)  # (width, height) as stored (upright for verify); (0, 0): unread
    size: tuple[int, int] = (0, 0)  # what was sent, in the same frame

    @property
    def changed(self) -> bool:
        return self.scale != 1.0 or len(self.data) != self.original_bytes


def fit_for_verify(data: bytes, content_type: str) -> Fitted:
    """The photo as the public verify route takes it (at most 4.7 MB and 26.2 MP), upright when scaled."""
    if _fits(data, MAX_VERIFY_PHOTO_BYTES, MAX_VERIFY_PIXELS):
        return Fitted(data, content_type, 1.0, len(data))
    with _open(data) as image:
        upright = ImageOps.exif_transpose(image)
        scale = min(1.0, VERIFY_LONG_SIDE / max(upright.size))
        return _shrink(upright, data, scale, MAX_VERIFY_PHOTO_BYTES, MAX_VERIFY_PIXELS, exif=None)


def fit_for_upload(data: bytes, content_type: str, *, max_bytes: int, max_pixels: int) -> Fitted:
    """The photo as the upload form takes it (`max_bytes`, and `max_pixels` ingest accepts), in its stored frame
    with its Exif (orientation included) when scaled."""
    if _fits(data, max_bytes, max_pixels):
        return Fitted(data, content_type, 1.0, len(data))
    with _open(data) as image:
        exif = image.getexif()
        scale = min(1.0, (max_pixels / (image.width * image.height)) ** 0.5 * 0.999)
        return _shrink(image, data, scale, max_bytes, max_pixels, exif=exif.tobytes() if exif else None)


def _shrink(
    image: Image.Image, original: bytes, scale: float, max_bytes: int, max_pixels: int, *, exif: bytes | None
) -> Fitted:
    rgb = image.convert("RGB")
    width, height = rgb.size
    while True:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size[0] * size[1] <= max_pixels:
            resized = rgb if size == rgb.size else rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            out = io.BytesIO()
            resized.save(out, "JPEG", quality=QUALITY, optimize=True, **({"exif": exif} if exif else {}))
            if out.tell() <= max_bytes:
                return Fitted(out.getvalue(), JPEG, size[0] / width, len(original), (width, height), size)
        if min(size) <= 16:
            raise CannotFit(f"the photo cannot be made to fit {max_bytes / 1e6:.1f} MB")
        scale *= _SHRINK_STEP


def _fits(data: bytes, max_bytes: int, max_pixels: int) -> bool:
    """Within both limits, or unreadable but within the bytes (the server then says what is wrong with it)."""
    if len(data) > max_bytes:
        return False
    try:
        with _open(data) as image:
            return image.width * image.height <= max_pixels
    except CannotFit:
        return True


def _open(data: bytes) -> Image.Image:
    pillow_heif.register_heif_opener()
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CannotFit(f"the photo is over the limits and cannot be read to make it fit: {exc}") from exc
    return image
