"""Reading the barcodes in a shopper's photo with zxing-cpp, within a time budget.

The photo is read at full resolution or a little under it, never from the copy shrunk for the model:

1. decode it once, to grey, at the JPEG DCT scale that keeps about 2000 px on the long side (a 12 MP JPEG
   decodes at half size; a 1600 px photo, as the shopper's page sends, at full size);
2. scan a copy of about 1000 px for EAN-13, EAN-8, UPC-A, UPC-E, QR and DataMatrix codes, then the finer copy
   for the linear ones (their bars merge first);
3. when no GTIN came out, look for skewed linear symbols (`candidates`) on the finer copy, crop each, turn its
   bars upright and read it again, sharpened when it is blurred; on a small photo, turn the whole photo 45°;
4. read every EAN/UPC symbol a second time, independently (`profile`): its bars' profile, averaged over their
   height, fitted digit by digit.

zxing-cpp's EAN/UPC decoder can return a wrong number whose check digit still verifies when the bars are
blurred (a third of the reads of a blurred 2 px/module EAN-13 in `bench.barcodes`), and a second zxing-cpp read
of the same pixels, from another crop, scale or sharpening, often makes the same mistake. The profile fit is a
different kind of reading; `Symbol.confirmed` says it agreed, and the verdict uses only confirmed reads as
evidence against a product. QR and DataMatrix symbols carry Reed-Solomon error correction and are confirmed by
it.

Search stages start only while the budget lasts (a running decode is not interrupted, and none takes more than
a few tens of milliseconds), so the caller gets what was read in time; the confirming reads of what was found
always run (two decodes of a small crop each).
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zxingcpp
from PIL import Image, ImageFilter, UnidentifiedImageError

from authentic.barcodes import gtin, profile
from authentic.barcodes.candidates import find_candidates
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import TRANSPOSING, upright_point

F = zxingcpp.BarcodeFormat
LINEAR = zxingcpp.BarcodeFormats([F.EAN13, F.EAN8, F.UPCA, F.UPCE])
ALL_FORMATS = zxingcpp.BarcodeFormats([F.EAN13, F.EAN8, F.UPCA, F.UPCE, F.DataMatrix, F.QRCode])
FINE_LONG_SIDE = 2000  # the finer copy: enough for 1.5 px modules on a barcode a tenth of a 4032 px photo wide
SCAN_LONG_SIDE = 1000  # the first scan's copy
MAX_CROP_SIDE = 1200  # a candidate crop bigger than this is shrunk: a big barcode needs no more pixels
SMALL_PHOTO_PIXELS = 1_200_000  # up to this, the whole photo is also read turned by 45°
CANDIDATES = 3
MAX_SYMBOLS = 8  # reported per photo
_SHARPEN = ImageFilter.UnsharpMask(radius=2, percent=150, threshold=3)
_CONFIRM_REACH = 0.7  # half the side of the square turned upright around a symbol, in symbol lengths
_LINEAR_NAMES = {"EAN-13", "EAN-8", "UPC-A", "UPC-E"}

Point = tuple[float, float]


class Budget:
    """When the reading must stop: a deadline on `clock`, which the caller can bring forward (`cut`) from
    another thread once the rest of its answer is ready."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._deadline = clock() + seconds
        self._lock = threading.Lock()

    def cut(self, seconds_from_now: float) -> None:
        with self._lock:
            self._deadline = min(self._deadline, self._clock() + seconds_from_now)

    def left(self) -> float:
        return self._deadline - self._clock()

    @property
    def expired(self) -> bool:
        return self.left() <= 0


@dataclass(frozen=True)
class Symbol:
    """One symbol read: what zxing-cpp reports, with its corners in the stored photo's pixels."""

    format: str  # "EAN-13", "UPC-A", "UPC-E", "EAN-8", "QR Code", "DataMatrix"
    text: str
    symbology_identifier: str
    corners: tuple[Point, ...]
    confirmed: bool
    stage: str

    @property
    def scanned(self) -> gtin.Scanned | None:
        return gtin.from_scan(self.text, self.symbology_identifier, self.format)

    @property
    def linear(self) -> bool:
        return self.format in _LINEAR_NAMES


@dataclass
class Reading:
    """What was read from one photo, as far as the budget allowed. `size` is the upright photo's size and
    `orientation` its Exif orientation, to report boxes in upright pixels as the detections are."""

    symbols: list[Symbol] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)
    orientation: int = 1
    complete: bool = False  # every stage that could run did
    abandoned: bool = False  # the caller took what was published and went on
    error: str = ""  # the photo could not be decoded
    timings_ms: dict[str, float] = field(default_factory=dict)

    def box(self, symbol: Symbol) -> dict[str, float]:
        """The symbol's box in the upright photo's pixels (left, top, width, height)."""
        width, height = self.size
        stored_w, stored_h = (height, width) if self.orientation in TRANSPOSING else (width, height)
        points = [upright_point(x, y, stored_w, stored_h, self.orientation) for x, y in symbol.corners]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        left, top = max(0.0, min(xs)), max(0.0, min(ys))
        right, bottom = min(float(width), max(xs)), min(float(height), max(ys))
        return {
            "left": round(left, 1),
            "top": round(top, 1),
            "width": round(max(0.0, right - left), 1),
            "height": round(max(0.0, bottom - top), 1),
        }


@dataclass(frozen=True)
class _Decoded:
    fine: Image.Image  # grey, about FINE_LONG_SIDE
    scale: float  # fine pixels per stored pixel
    stored: tuple[int, int]
    orientation: int


def read_photo(body: bytes, budget: Budget | None = None, reading: Reading | None = None) -> Reading:
    """Read every EAN/UPC, QR and DataMatrix symbol in a photo (JPEG, PNG or HEIC bytes). With `reading`, what
    is found is published there stage by stage, for a caller in another thread that cannot wait for the end."""
    budget = budget or Budget(2.0)
    reading = reading if reading is not None else Reading()
    started = time.perf_counter()
    try:
        decoded = _decode(body)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        reading.error = f"the photo could not be decoded for barcodes: {exc}"
        return reading
    width, height = decoded.stored
    reading.size = (height, width) if decoded.orientation in TRANSPOSING else (width, height)
    reading.orientation = decoded.orientation
    reading.timings_ms["decode"] = _ms(started)
    _Search(decoded, budget, reading).run()
    reading.timings_ms["total"] = _ms(started)
    return reading


def read_image(image: Image.Image, budget: Budget | None = None) -> Reading:
    """Read an image already decoded (upright, its own pixels): the benchmarks' and tests' entry."""
    grey = image if image.mode == "L" else image.convert("L")
    decoded = _Decoded(grey, 1.0, grey.size, 1)
    reading = Reading(size=grey.size)
    _Search(decoded, budget or Budget(2.0), reading).run()
    return reading


def _decode(body: bytes) -> _Decoded:
    image = Image.open(io.BytesIO(body))
    if image.format == "HEIF" or image.format is None:  # pragma: no cover - HEIC photos
        from pillow_heif import register_heif_opener  # noqa: PLC0415 - only HEIC bodies need libheif

        register_heif_opener()
    with image:
        stored = image.size
        try:
            orientation = int(image.getexif().get(ORIENTATION_TAG, 1))
        except (OSError, SyntaxError, ValueError, TypeError):
            orientation = 1
        long_side = max(stored)
        if image.format == "JPEG" and long_side > FINE_LONG_SIDE:
            ratio = FINE_LONG_SIDE / long_side
            image.draft("L", (math.ceil(stored[0] * ratio), math.ceil(stored[1] * ratio)))
        image.load()
        grey = image if image.mode == "L" else image.convert("L")
        if max(grey.size) > FINE_LONG_SIDE * 1.5:  # a PNG or HEIC, or a JPEG that would not draft
            factor = math.ceil(max(grey.size) / FINE_LONG_SIDE)
            grey = grey.reduce(factor)
    return _Decoded(grey, grey.width / stored[0], stored, orientation if 1 <= orientation <= 8 else 1)


class _Search:
    def __init__(self, decoded: _Decoded, budget: Budget, reading: Reading) -> None:
        self.photo = decoded
        self.budget = budget
        self.reading = reading
        self._confirmed: dict[tuple[str, tuple[Point, ...]], Symbol] = {}

    # -- the stages -------------------------------------------------------------------------------------------
    def run(self) -> None:
        fine = self.photo.fine
        factor = max(1, round(max(fine.size) / SCAN_LONG_SIDE))
        coarse = fine.reduce(factor) if factor > 1 else fine
        started = time.perf_counter()
        found = self._decode(coarse, ALL_FORMATS, "scan", lambda p: (p[0] * factor, p[1] * factor))
        self.reading.timings_ms["scan"] = _ms(started)
        self._publish(found)
        if not self._done(found) and factor > 1 and not self.budget.expired:
            started = time.perf_counter()  # linear symbols whose bars the coarse copy merged
            found += self._decode(fine, LINEAR, "fine", lambda p: p)
            self.reading.timings_ms["fine"] = _ms(started)
            self._publish(found)
        if not self._done(found) and not self.budget.expired:
            found += self._candidates(coarse, factor)
            self._publish(found)
        if not self._done(found) and fine.width * fine.height <= SMALL_PHOTO_PIXELS and not self.budget.expired:
            found += self._turned(45.0)
            self._publish(found)
        self.reading.complete = not self.budget.expired

    def _publish(self, found: list[Symbol]) -> None:
        """Make what was found so far the reading's symbols, for a caller that cannot wait for the rest: first as
        read (unconfirmed, so never evidence against a product; a registered GTIN is taken from one read), then
        each confirmed once. Confirming takes 50-250 ms a symbol, against a few ms to find it, so publishing only
        confirmed symbols left an answer that could not wait without its barcode. Confirming is not cut short by
        the budget; it stops when the caller has gone on without it."""
        fresh = _without_ghosts(found)[:MAX_SYMBOLS]
        self._show([self._confirmed.get(_key(symbol), symbol) for symbol in fresh])
        started = time.perf_counter()
        for symbol in fresh:
            if self.reading.abandoned:
                return
            if _key(symbol) not in self._confirmed:
                self._confirmed[_key(symbol)] = self._confirm(symbol)
        if self._show([self._confirmed[_key(symbol)] for symbol in fresh]):
            self.reading.timings_ms["confirm"] = self.reading.timings_ms.get("confirm", 0.0) + _ms(started)

    def _show(self, symbols: list[Symbol]) -> bool:
        if symbols == self.reading.symbols:
            return False
        self.reading.symbols = symbols  # one assignment: a reader in another thread sees all or none
        return True

    def _candidates(self, coarse: Image.Image, factor: int) -> list[Symbol]:
        """Skewed symbols: found on the coarse copy (a quarter of the pixels of the finer one), read from the
        finer one."""
        fine = self.photo.fine
        started = time.perf_counter()
        candidates = find_candidates(np.asarray(coarse), block=8, most=CANDIDATES)
        self.reading.timings_ms["candidates"] = _ms(started)
        found: list[Symbol] = []
        for candidate in candidates:
            box = (candidate.left * factor, candidate.top * factor, candidate.right * factor, candidate.bottom * factor)
            crop, to_fine = _upright_crop(fine, box, candidate.angle, margin=0.25)
            for sharpen in (False, True):
                if self.budget.expired:
                    return found
                image = crop.filter(_SHARPEN) if sharpen else crop
                found += self._decode(image, LINEAR, "crop+sharpen" if sharpen else "crop", to_fine)
                if self._done(found):
                    return found
        return found

    def _turned(self, angle: float) -> list[Symbol]:
        fine = self.photo.fine
        crop, to_fine = _upright_crop(fine, (0, 0, fine.width, fine.height), angle, margin=0.0)
        return self._decode(crop, LINEAR, f"turned{angle:+.0f}", to_fine)

    # -- a second, independent read of each EAN/UPC symbol ---------------------------------------------------
    def _confirm(self, symbol: Symbol) -> Symbol:
        if not symbol.linear:
            return _replace(symbol, confirmed=True)  # Reed-Solomon error correction
        if symbol.scanned is None:
            return symbol
        return _replace(symbol, confirmed=self._profile_agrees(symbol))

    def _profile_agrees(self, symbol: Symbol) -> bool:
        """The bars' profile, fitted digit by digit, reads the same digits (`profile`)."""
        s = self.photo.scale
        fine_corners = [(x * s, y * s) for x, y in symbol.corners]
        xs = [x for x, _ in fine_corners]
        ys = [y for _, y in fine_corners]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        r = max(max(xs) - min(xs), max(ys) - min(ys), 8.0) * _CONFIRM_REACH
        box = (cx - r, cy - r, cx + r, cy + r)
        crop, to_fine = _upright_crop(self.photo.fine, box, _bar_angle(symbol), margin=0)
        inside = [_from_image(crop, to_fine)(p) for p in fine_corners]
        if inside[1][0] < inside[0][0]:  # read right to left (the symbol is upside down): mirror it
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            inside = [(crop.width - x, y) for x, y in inside]
        x0, x1 = min(p[0] for p in inside), max(p[0] for p in inside)
        middle = sum(p[1] for p in inside) / len(inside)
        reach = max(2.0, 0.05 * (x1 - x0))  # rows of bars only, few enough that perspective barely smears them
        rows = (round(middle - reach), round(middle + reach) + 1)
        digits = "0" + symbol.text if symbol.format == "UPC-A" else symbol.text
        return profile.confirms(crop, span=(x0, x1), rows=rows, digits=digits, fmt=symbol.format)

    # -- zxing-cpp ----------------------------------------------------------------------------------------------
    def _decode(
        self, image: Image.Image, formats: zxingcpp.BarcodeFormats, stage: str, to_fine: Callable[[Point], Point]
    ) -> list[Symbol]:
        results = zxingcpp.read_barcodes(
            image,
            formats=formats,
            try_rotate=True,
            try_downscale=False,
            try_invert=False,
            text_mode=zxingcpp.TextMode.Plain,
        )
        symbols = []
        s = self.photo.scale
        for result in results:
            position = result.position
            corners = tuple(
                (x / s, y / s)
                for x, y in (
                    to_fine((float(p.x), float(p.y)))
                    for p in (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
                )
            )
            name, text = _name_and_text(result)
            symbols.append(Symbol(name, text, str(result.symbology_identifier), corners, False, stage))
        return symbols

    @staticmethod
    def _done(found: list[Symbol]) -> bool:
        """Stop searching once a symbol carries a GTIN (or a GS1 or web address)."""
        for symbol in found:
            if symbol.scanned is not None or symbol.text.lower().startswith(("http://", "https://")):
                return True
        return False


def _name_and_text(result: Any) -> tuple[str, str]:
    """The format as printed on the package and the symbol's text: a UPC-A comes back as an EAN-13 with a
    leading 0, a UPC-E as its 13-digit expansion (its own 8 digits in `extra`)."""
    name = str(result.format)
    text = str(result.text)
    if name == "EAN-13" and len(text) == 13 and text.startswith("0"):
        return "UPC-A", text[1:]
    if name == "UPC-E":
        own = (result.extra or {}).get("UPCE") if isinstance(result.extra, dict) else None
        return name, str(own) if own else text
    if name == "Data Matrix":
        return "DataMatrix", text
    return name, text


def _upright_crop(
    image: Image.Image,
    box: tuple[float, float, float, float],
    angle: float,
    *,
    margin: float,
) -> tuple[Image.Image, Callable[[Point], Point]]:
    """Crop `box` (with a margin, a fraction of its size) and turn it by `angle` degrees counter-clockwise so
    the bars stand upright; with the map from the crop's pixels back to the image's."""
    left, top, right, bottom = box
    mx, my = (right - left) * margin, (bottom - top) * margin
    x0, y0 = max(0, int(left - mx)), max(0, int(top - my))
    x1, y1 = min(image.width, math.ceil(right + mx)), min(image.height, math.ceil(bottom + my))
    crop = image.crop((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)))
    cw, ch = crop.size
    turned = crop.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=255) if abs(angle) > 3 else crop
    shrink = max(turned.size) / MAX_CROP_SIDE
    if shrink > 1:
        turned = turned.resize((int(turned.width / shrink), int(turned.height / shrink)), Image.Resampling.BOX)
    k = max(1.0, shrink)
    tw, th = turned.size
    theta = math.radians(angle) if abs(angle) > 3 else 0.0
    cos, sin = math.cos(theta), math.sin(theta)

    def to_image(point: Point) -> Point:
        # PIL turns counter-clockwise about the centre (y down): undo it, then the crop's offset.
        px, py = point[0] * k - tw * k / 2, point[1] * k - th * k / 2
        ux, uy = px * cos - py * sin, px * sin + py * cos
        return ux + cw / 2 + x0, uy + ch / 2 + y0

    return turned, to_image


def _from_image(turned: Image.Image, to_image: Callable[[Point], Point]) -> Callable[[Point], Point]:
    """The inverse of an `_upright_crop` map (from the image's pixels into the turned crop's), from two points."""
    origin = to_image((0.0, 0.0))
    ex, ey = to_image((1.0, 0.0)), to_image((0.0, 1.0))
    a, c = ex[0] - origin[0], ex[1] - origin[1]  # the image's step for one crop column
    b, d = ey[0] - origin[0], ey[1] - origin[1]  # ... and for one crop row
    det = a * d - b * c

    def from_image(point: Point) -> Point:
        dx, dy = point[0] - origin[0], point[1] - origin[1]
        return (d * dx - b * dy) / det, (a * dy - c * dx) / det

    return from_image


def _bar_angle(symbol: Symbol) -> float:
    """The angle (degrees, counter-clockwise) that stands a linear symbol's bars upright. zxing-cpp's corners of a
    linear symbol are its first and last agreeing scan lines: the left side runs along the bars when the lines
    are apart; a single line says only the scan direction, across the bars."""
    (tlx, tly), (trx, try_), _, (blx, bly) = symbol.corners
    if math.hypot(blx - tlx, bly - tly) >= 3:
        angle = math.degrees(math.atan2(bly - tly, blx - tlx)) - 90
    elif abs(trx - tlx) + abs(try_ - tly) > 1e-6:
        angle = math.degrees(math.atan2(try_ - tly, trx - tlx))
    else:
        return 0.0
    while angle >= 90:
        angle -= 180
    while angle < -90:
        angle += 180
    return angle


def _overlaps(a: Sequence[Point], b: Sequence[Point]) -> bool:
    ax, ay = [p[0] for p in a], [p[1] for p in a]
    bx, by = [p[0] for p in b], [p[1] for p in b]
    slack = 0.5 * max(max(bx) - min(bx), max(by) - min(by), 4.0)
    return (
        min(ax) <= max(bx) + slack
        and max(ax) >= min(bx) - slack
        and min(ay) <= max(by) + slack
        and max(ay) >= min(by) - slack
    )


def _without_ghosts(found: list[Symbol]) -> list[Symbol]:
    """One symbol per place and value. A UPC-E read where an EAN-13 or UPC-A was also read is dropped: the
    left half of a tilted EAN-13 and its centre guard can decode as a valid UPC-E (zxing-cpp issue 255)."""
    long_reads = [s for s in found if s.format in ("EAN-13", "UPC-A") and s.scanned is not None]
    kept: list[Symbol] = []
    for symbol in found:
        if symbol.format == "UPC-E" and any(_overlaps(symbol.corners, s.corners) for s in long_reads):
            continue
        if any(k.text == symbol.text and _overlaps(k.corners, symbol.corners) for k in kept):
            continue
        kept.append(symbol)
    return kept


def _key(symbol: Symbol) -> tuple[str, tuple[Point, ...]]:
    return (symbol.text, symbol.corners)


def _replace(symbol: Symbol, *, confirmed: bool) -> Symbol:
    return Symbol(symbol.format, symbol.text, symbol.symbology_identifier, symbol.corners, confirmed, symbol.stage)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
