"""The two facts the ingest needs from an Exif block: its orientation and whether it carries GPS.

An Exif block is a little TIFF file (byte order, magic 42, IFD0 offset, then IFD entries). It arrives from
untrusted uploads, so every read is bounds-checked and anything malformed reads as "absent": an orientation
of 1, no GPS. Only IFD0 is read; nothing here raises.
"""

from __future__ import annotations

from typing import Literal

EXIF_HEADER = b"Exif\x00"
ORIENTATION_TAG = 0x0112
GPS_IFD_TAG = 0x8825
_SHORT, _LONG = 3, 4


def tiff_body(block: bytes | memoryview) -> memoryview:
    """The TIFF part of an Exif block, with or without the `Exif\\0\\0` prefix JPEG (and some PNG) writers add."""
    view = memoryview(block)
    if bytes(view[:5]) == EXIF_HEADER:
        return view[6:]
    return view


def _ifd0_entries(tiff: memoryview) -> dict[int, tuple[int, int]]:
    """IFD0's tags mapped to (type, first value); empty when the TIFF header or IFD is malformed."""
    if len(tiff) < 8:
        return {}
    order = bytes(tiff[:2])
    endian: Literal["little", "big"]
    if order == b"II":
        endian = "little"
    elif order == b"MM":
        endian = "big"
    else:
        return {}
    if int.from_bytes(tiff[2:4], endian) != 42:
        return {}
    ifd = int.from_bytes(tiff[4:8], endian)
    if ifd < 8 or ifd + 2 > len(tiff):
        return {}
    count = int.from_bytes(tiff[ifd : ifd + 2], endian)
    entries: dict[int, tuple[int, int]] = {}
    for index in range(count):
        at = ifd + 2 + 12 * index
        if at + 12 > len(tiff):
            break
        tag = int.from_bytes(tiff[at : at + 2], endian)
        kind = int.from_bytes(tiff[at + 2 : at + 4], endian)
        if kind == _SHORT:
            value = int.from_bytes(tiff[at + 8 : at + 10], endian)
        elif kind == _LONG:
            value = int.from_bytes(tiff[at + 8 : at + 12], endian)
        else:
            value = -1
        entries.setdefault(tag, (kind, value))
    return entries


def orientation(block: bytes | memoryview) -> int:
    """The Exif orientation (1-8) of an Exif block; 1 when absent or invalid."""
    _, value = _ifd0_entries(tiff_body(block)).get(ORIENTATION_TAG, (0, 1))
    return value if 1 <= value <= 8 else 1


def has_gps(block: bytes | memoryview) -> bool:
    """Whether IFD0 points at a GPS IFD (the location a phone records)."""
    return GPS_IFD_TAG in _ifd0_entries(tiff_body(block))
