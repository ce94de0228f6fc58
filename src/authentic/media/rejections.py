"""Why an uploaded image is refused: a stable reason code for logs and metrics, with the human-readable message.

Every refusal is an `authentic.errors.ImageRejected`, a `RejectedFile` (so callers catch the domain error they
already know) that also carries `reason`, a `Reason` code the ingest can count rejections by, while the
record keeps the sentence that names what is wrong.
"""

from __future__ import annotations

from enum import StrEnum

from authentic.errors import ImageRejected

MB = 1024 * 1024
ACCEPTED = "JPEG, PNG or HEIC/HEIF"


class Reason(StrEnum):
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_MANY_PIXELS = "too_many_pixels"
    TRUNCATED = "truncated"
    MALFORMED = "malformed"
    UNDECODABLE = "undecodable"


def rejected(reason: Reason, message: str) -> ImageRejected:
    return ImageRejected(reason, message)


def check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    """Refuse a decompression bomb from its header dimensions, before any pixel is decoded."""
    if width <= 0 or height <= 0:
        raise rejected(Reason.MALFORMED, f"the {what} declares an empty size of {width}x{height} pixels")
    if width * height > max_pixels:
        raise rejected(
            Reason.TOO_MANY_PIXELS,
            f"the {what} is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels), over the "
            f"{max_pixels / 1e6:.1f}-megapixel limit",
        )
