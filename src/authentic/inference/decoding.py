"""Memory for decoding photos, reserved apart from the models' budget, so that crafted photos sent at once (a flat
25 MP PNG of 84 KB, a 25 MP progressive JPEG) cannot exhaust the server: each request's decoding cost is
estimated from the photo's header before any pixel is decoded, and reserved from `DecodeBudget`; a request that
does not fit waits a little for others to finish, then is answered 503 with Retry-After.

The estimate is what the decoder must hold at once, conservatively:
- a baseline JPEG decodes at the DCT scale the model needs (1/8 of a 12 MP photo for a 640 px model): the
  reduced RGB image plus libjpeg's strip buffers;
- a progressive JPEG must keep every DCT coefficient of the full image until its last scan: two bytes per
  sample of each component, whatever the output scale;
- PNG and HEIC decode at full size: every sample of the stored image, and its RGB copy.
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
import time
from collections.abc import Iterator

from PIL import Image

from authentic.errors import InvalidImage, ServiceUnavailable

MiB = 1024 * 1024
_STRIPS = 4 * MiB  # libjpeg's working buffers, and Pillow's, besides the image itself


def decode_cost(data: bytes, fmt: str, fit: tuple[int, int] | None) -> int:
    """Bytes the decoder will hold to decode `data` (header only; 0 when the header cannot be read: the
    decoder then refuses the body itself)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            bands = max(1, len(image.getbands()))
            progressive = bool(image.info.get("progressive") or image.info.get("progression"))
            sixteen_bit = image.mode in ("I;16", "I;16B", "I", "F") or "16" in image.mode
    except Exception:
        return 0
    pixels = width * height
    if fmt == "JPEG":
        if progressive:
            return pixels * bands * 2 + _STRIPS
        scale = 1.0
        if fit is not None:
            ratio = min(fit[0] / max(1, min(width, height)), fit[1] / max(1, width, height), 1.0)
            scale = max(1 / 8, 2 ** math.ceil(math.log2(ratio))) if ratio < 1 else 1.0  # what `draft` picks
        return int(pixels * scale * scale * 3) * 2 + _STRIPS
    depth = 2 if sixteen_bit else 1
    return pixels * (bands * depth + 3) + _STRIPS


class DecodeBudget:
    """Bytes of decoding allowed at once across the server's requests (thread-safe)."""

    def __init__(self, total_bytes: int, *, wait_seconds: float = 5.0) -> None:
        self.total_bytes = total_bytes
        self.wait_seconds = wait_seconds
        self.in_use = 0
        self.peak = 0  # the most bytes ever reserved at once (never above total_bytes)
        self.refused = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, cost: int) -> Iterator[None]:
        """Hold `cost` bytes while decoding; a cost over the whole budget is refused at once, one that does
        not fit now waits up to `wait_seconds` for others to finish, then `ServiceUnavailable`."""
        if cost > self.total_bytes:
            raise InvalidImage(
                f"decoding this photo would take about {cost // MiB} MiB, more than the server decodes at once "
                f"({self.total_bytes // MiB} MiB): send a smaller photo (a JPEG of at most 1600 px is plenty)"
            )
        deadline = time.monotonic() + self.wait_seconds
        with self._changed:
            while self.in_use + cost > self.total_bytes:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.refused += 1
                    raise ServiceUnavailable("the server is decoding other photos; try again shortly", retry_after=2)
                self._changed.wait(remaining)
            self.in_use += cost
            self.peak = max(self.peak, self.in_use)
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= cost
                self._changed.notify_all()
