"""Where the linear barcodes in a photo are, and at what angle: the structure tensor per block.

A barcode is a patch of strong gradients that all point the same way (bars are parallel edges). Blocks with
high gradient energy and high coherence are grouped into connected regions; each region gives a box and its
dominant gradient angle, so the reader can crop it (from a finer copy), turn the bars upright and decode only
there. NumPy only (the Lambda bundle carries no SciPy): the block grid of a 2000 px photo has about 12,000
cells, small enough for a flood fill in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MIN_ENERGY = 300.0  # mean squared gradient per pixel of a block (grey levels²): printed bars, not texture
MIN_COHERENCE = 0.75  # 1 = every gradient parallel


@dataclass(frozen=True)
class Candidate:
    """A region of parallel edges in the analysed image's pixels, with its gradient angle in degrees
    (perpendicular to the bars, in [-90, 90)) and a score (coherence × blocks)."""

    left: int
    top: int
    right: int
    bottom: int
    angle: float
    score: float


def _box3(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    p = np.pad(a, 1, mode="edge")
    return p[:-2, :-2] + p[:-2, 1:-1] + p[:-2, 2:] + p[1:-1, :-2] + p[1:-1, 1:-1] + p[1:-1, 2:] + p[2:, :-2] + p[
        2:, 1:-1
    ] + p[2:, 2:]  # fmt: skip


def _label(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int32], int]:
    """4-connected components of a small boolean grid."""
    labels = np.zeros(mask.shape, np.int32)
    count = 0
    height, width = mask.shape
    for y, x in zip(*np.nonzero(mask), strict=True):
        if labels[y, x]:
            continue
        count += 1
        labels[y, x] = count
        stack = [(int(y), int(x))]
        while stack:
            cy, cx = stack.pop()
            for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = count
                    stack.append((ny, nx))
    return labels, count


def find_candidates(
    gray: npt.NDArray[np.uint8], *, block: int = 16, min_blocks: int = 6, most: int = 3
) -> list[Candidate]:
    """The `most` best barcode-like regions of a greyscale image, best first."""
    height, width = gray.shape
    rows, cols = (height - 2) // block, (width - 2) // block
    if rows < 3 or cols < 3:
        return []
    g = gray[: rows * block + 2, : cols * block + 2].astype(np.int32)
    gx = g[1:-1, 2:] - g[1:-1, :-2]  # central differences, on the pixels that have both neighbours
    gy = g[2:, 1:-1] - g[:-2, 1:-1]

    def block_sums(a: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        return _box3(a.reshape(rows, block, cols, block).sum(axis=(1, 3), dtype=np.int64).astype(np.float64))

    jxx, jyy, jxy = block_sums(gx * gx), block_sums(gy * gy), block_sums(gx * gy)
    energy = (jxx + jyy) / (9 * block * block)
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (jxx + jyy + 1e-6)
    labels, count = _label((energy > MIN_ENERGY) & (coherence > MIN_COHERENCE))
    found: list[Candidate] = []
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    for index in np.nonzero(sizes >= min_blocks)[0].tolist():
        if index == 0:
            continue
        ys, xs = np.nonzero(labels == index)
        sxx, syy, sxy = float(jxx[ys, xs].sum()), float(jyy[ys, xs].sum()), float(jxy[ys, xs].sum())
        angle = 0.5 * math.degrees(math.atan2(2 * sxy, sxx - syy))
        region = math.sqrt((sxx - syy) ** 2 + 4 * sxy**2) / (sxx + syy + 1e-6)
        found.append(
            Candidate(
                int(xs.min()) * block,
                int(ys.min()) * block,
                (int(xs.max()) + 1) * block,
                (int(ys.max()) + 1) * block,
                angle,
                region * len(ys),
            )
        )
    found.sort(key=lambda c: -c.score)
    return found[:most]
