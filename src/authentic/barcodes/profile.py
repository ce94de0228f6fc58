"""A second, independent reading of an EAN-13, UPC-A, EAN-8 or UPC-E symbol: its bars' brightness profile,
averaged over the bars' height, fitted with a model of the printed symbol, digit by digit.

zxing-cpp decodes a linear symbol from single scan lines, thresholded into bars and spaces; on blurred bars two
edges can merge or split, and the result can be another number whose check digit still verifies. A second zxing
read of the same blurred pixels tends to make the same mistake. This reading is different in kind: it averages
every row of the bars (noise falls with the square root of the rows), renders the symbol the first read claims
(its guards and modules at the fitted position, module width and blur), and then, for each digit, asks which of
the ten (or twenty: both parities) digit patterns explains that digit's pixels best. The symbol is confirmed only
when every digit's best pattern is the one read, by a clear margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from PIL import Image

_L = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011")
_R = tuple("".join("1" if b == "0" else "0" for b in code) for code in _L)
_G = tuple(code[::-1] for code in _R)
_EAN13_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")
_UPCE_PARITY = ("GGGLLL", "GGLGLL", "GGLLGL", "GGLLLG", "GLGGLL", "GLLGGL", "GLLLGG", "GLGLGL", "GLGLLG", "GLLGLG")
_CODES = {"L": _L, "G": _G, "R": _R}
_SUB = 8  # samples a column when rendering
_LOCAL_SHIFTS = np.linspace(-0.5, 0.5, 9)  # modules
MARGIN = 1.25  # the second-best pattern's misfit must exceed the best's by this factor, for every digit

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Layout:
    """A symbol as modules: fixed guards and digit slots, each slot with the codes it may hold."""

    modules: str  # the whole pattern for the digits read ("1" = bar)
    slots: tuple[tuple[int, str], ...]  # (first module, parity read: "L", "G" or "R")
    digits: tuple[int, ...]  # the digit each slot holds


def layout(digits: str, fmt: str) -> _Layout | None:
    """The module pattern of a symbol: `digits` are 13 (EAN-13, UPC-A with its leading 0), 8 (EAN-8), or 8 for a
    UPC-E (number system, six digits, check digit)."""
    if not digits.isascii() or not digits.isdigit():
        return None
    d = [int(c) for c in digits]
    if fmt == "UPC-E" and len(d) == 8 and d[0] in (0, 1):
        parity = _UPCE_PARITY[d[7]] if d[0] == 0 else _UPCE_PARITY[d[7]].translate(str.maketrans("LG", "GL"))
        return _build("101", list(zip(d[1:7], parity, strict=True)), None, "010101")
    if len(d) == 13:
        left = list(zip(d[1:7], _EAN13_PARITY[d[0]], strict=True))
        return _build("101", left, [(x, "R") for x in d[7:]], "101")
    if len(d) == 8:
        return _build("101", [(x, "L") for x in d[:4]], [(x, "R") for x in d[4:]], "101")
    return None


def _build(start: str, left: list[tuple[int, str]], right: list[tuple[int, str]] | None, end: str) -> _Layout:
    modules, slots, digits = start, [], []
    for digit, parity in left:
        slots.append((len(modules), parity))
        digits.append(digit)
        modules += _CODES[parity][digit]
    if right is not None:
        modules += "01010"
        for digit, parity in right:
            slots.append((len(modules), parity))
            digits.append(digit)
            modules += _CODES[parity][digit]
    return _Layout(modules + end, tuple(slots), tuple(digits))


def confirms(crop: Image.Image, *, span: tuple[float, float], rows: tuple[int, int], digits: str, fmt: str) -> bool:
    """Whether the symbol whose bars stand upright in `crop`, from column `span[0]` to `span[1]` (its first and
    last bar, as the first read located them), between `rows`, reads `digits` digit by digit."""
    symbol = layout(digits, fmt)
    x0, x1 = span
    if symbol is None or x1 - x0 < len(symbol.modules):
        return False
    top, bottom = max(0, rows[0]), min(crop.height, rows[1])
    if bottom - top < 3:
        return False
    profile = np.asarray(crop, dtype=np.float64)[top:bottom].mean(axis=0)
    placement = _fit(profile, symbol, x0, x1)
    if placement is None:
        return False
    for (first, parity), digit in zip(symbol.slots, symbol.digits, strict=True):
        misfits = _slot_misfits(profile, symbol, placement, first, parity)
        best = min(misfits, key=lambda pair: pair[1])
        others = [m for code, m in misfits if code != (parity, digit)]
        if best[0] != (parity, digit) or min(others) < MARGIN * best[1] + 1e-9:
            return False
    return True


@dataclass(frozen=True)
class _Placement:
    """Where a symbol's modules fall in the profile."""

    start: float  # the first module's left edge, in columns
    width: float  # a module's width, on average
    blur: float  # the Gaussian's sigma, in columns
    tilt: float = 0.0  # how much a module's width changes across the symbol (`edges`)

    def edges(self, count: int) -> FloatArray:
        """Where each module starts (and the last ends): a module's width changes by `tilt` across the symbol,
        as a symbol seen at an angle (perspective) narrows towards its far end."""
        i = np.arange(count + 1, dtype=np.float64)
        return self.start + self.width * (i + self.tilt * (i * i / count - i))

    def but(self, **changes: float) -> _Placement:
        return replace(self, **changes)


def _render(modules: str, window: tuple[int, int], at: _Placement) -> FloatArray:
    """How dark each column of `window` is in the printed symbol (1 = all bar), blurred."""
    lo, hi = window
    reach = max(1, math.ceil(3 * at.blur))
    columns = np.arange(lo - reach, hi + reach, dtype=np.float64)
    samples = columns[:, None] + (np.arange(_SUB) + 0.5)[None, :] / _SUB
    index = np.searchsorted(at.edges(len(modules)), samples, side="right") - 1
    inside = (index >= 0) & (index < len(modules))
    bars = np.frombuffer(modules.encode(), dtype=np.uint8) == ord("1")
    signal: FloatArray = np.where(inside, bars[np.clip(index, 0, len(modules) - 1)], False).mean(axis=1)
    if at.blur > 0.05:
        kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) / at.blur) ** 2)
        signal = np.convolve(signal, kernel / kernel.sum(), mode="same")
    return signal[reach : reach + (hi - lo)]


class _Search:
    """The placement that explains the profile best, with the symbol's modules as read."""

    def __init__(self, profile: FloatArray, modules: str) -> None:
        self.profile = profile
        self.modules = modules
        self.best: tuple[float, _Placement] | None = None

    def trial(self, at: _Placement) -> None:
        n = len(self.modules)
        lo, hi = max(0, int(at.start - 3 * at.width)), min(len(self.profile), int(at.start + (n + 3) * at.width))
        if hi - lo < n:
            return
        model = _render(self.modules, (lo, hi), at)
        slope = np.linspace(-1, 1, hi - lo)  # light falling unevenly along the symbol
        design = np.vstack([np.ones_like(model), model, slope]).T
        coef, *_ = np.linalg.lstsq(design, self.profile[lo:hi], rcond=None)
        if coef[1] >= 0:  # bars are darker than spaces
            return
        misfit = float(np.sum((design @ coef - self.profile[lo:hi]) ** 2)) / (hi - lo)
        if self.best is None or misfit < self.best[0]:
            self.best = (misfit, at)

    def refine(self) -> None:
        """One round, one parameter at a time, around the best so far."""
        for name, values in (
            ("width", np.linspace(0.97, 1.03, 13)),
            ("blur", np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.3, 1.7])),
            ("tilt", np.linspace(-0.2, 0.2, 9)),
            ("start", np.linspace(-0.3, 0.3, 13)),
        ):
            if self.best is None:
                return
            at = self.best[1]
            for value in values:
                if name == "width":
                    self.trial(at.but(width=at.width * value))
                elif name == "blur":
                    self.trial(at.but(blur=at.width * value))
                elif name == "tilt":
                    self.trial(at.but(tilt=float(value)))
                else:
                    self.trial(at.but(start=at.start + at.width * value))


def _fit(profile: FloatArray, symbol: _Layout, x0: float, x1: float) -> _Placement | None:
    """The symbol's position, module width, blur and perspective that explain the profile best (coarse to fine)."""
    width0 = (x1 - x0) / len(symbol.modules)
    search = _Search(profile, symbol.modules)
    for scale in np.linspace(0.85, 1.15, 11):  # the first read's extent can miss a guard or take in a margin
        for shift in np.linspace(-3, 3, 25):
            search.trial(_Placement(x0 + shift * width0, width0 * scale, 0.7 * width0))
    search.refine()
    search.refine()
    return search.best[1] if search.best else None


def _slot_misfits(
    profile: FloatArray, symbol: _Layout, at: _Placement, first: int, parity: str
) -> list[tuple[tuple[str, int], float]]:
    """Each pattern this slot may hold, and how badly it explains the slot's columns (its neighbours as read).
    Each pattern gets the same freedom: a local shift of up to half a module (print and perspective drift the
    modules along a symbol) and its own brightness and contrast (light falls unevenly)."""
    parities = ("L", "G") if parity in ("L", "G") else ("R",)
    edges = at.edges(len(symbol.modules))
    lo = max(0, int(edges[max(0, first - 1)]))
    hi = min(len(profile), math.ceil(edges[min(len(symbol.modules), first + 8)]))
    observed = profile[lo:hi]
    if hi - lo < 8:
        return [((parity, 0), 0.0)]
    spread = float(np.sum((observed - observed.mean()) ** 2))
    found: list[tuple[tuple[str, int], float]] = []
    for candidate in parities:
        for digit, code in enumerate(_CODES[candidate]):
            modules = symbol.modules[:first] + code + symbol.modules[first + 7 :]
            best = spread
            for shift in _LOCAL_SHIFTS:
                model = _render(modules, (lo, hi), at.but(start=at.start + shift * at.width))
                design = np.vstack([np.ones_like(model), model]).T
                coef, *_ = np.linalg.lstsq(design, observed, rcond=None)
                if coef[1] < 0:
                    best = min(best, float(np.sum((design @ coef - observed) ** 2)))
            found.append(((candidate, digit), best))
    return found
