"""PNG at the chunk level: check the structure, read the orientation, rebuild the file without metadata.

PNG is lossless, so a PNG upload stays a PNG. `rebuild` keeps the critical chunks (IHDR, PLTE, IDAT, IEND)
and the ancillary chunks that change how the pixels look (tRNS, gAMA, cHRM, sRGB, iCCP, sBIT, cICP, mDCV,
cLLI, bKGD, pHYs), byte for byte; it drops text (tEXt, zTXt, iTXt, where XMP and ImageMagick's raw Exif
live), eXIf, tIME, APNG animation chunks (the default image stays), private chunks (Apple's iDOT and the
like) and anything after IEND. Every chunk's CRC is checked.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from authentic.media import exif
from authentic.media.rejections import Reason, rejected

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEEP = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"cICP"}
    | {b"mDCV", b"cLLI", b"bKGD", b"pHYs"}
)
# Chunks that describe colour and do not depend on the geometry: carried over when the pixels are rotated.
COLOUR_CHUNKS = frozenset({b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"cICP", b"mDCV", b"cLLI"})
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
_CHUNK_TYPE = re.compile(rb"[A-Za-z]{4}")
_MAX_CHUNK = 2**31 - 1
MAX_CHUNKS = 1_000_000  # IDAT split into 8 KB chunks is 3,200 for a 25 MB file; millions of empty ones are an attack


@dataclass(frozen=True)
class PngStream:
    data: bytes
    width: int
    height: int
    bit_depth: int
    color_type: int
    orientation: int
    transparency: bool
    colour_chunks: tuple[bytes, ...]  # whole chunks (length, type, data, CRC) from COLOUR_CHUNKS
    dropped: tuple[str, ...]

    @property
    def channels(self) -> int:
        return _CHANNELS[self.color_type] + (1 if self.transparency and self.color_type in (0, 2, 3) else 0)


@dataclass(frozen=True, slots=True)
class _Chunk:
    kind: bytes
    start: int  # offset of the length field
    end: int  # just past the CRC

    @property
    def data_start(self) -> int:
        return self.start + 8


def _chunks(data: bytes) -> Iterator[_Chunk]:
    """Every chunk up to IEND, CRC-checked; a trailing pseudo-chunk `b""` when bytes follow IEND."""
    if not data.startswith(SIGNATURE):
        raise rejected(Reason.MALFORMED, "the PNG is malformed: its signature is wrong")
    n, pos, view = len(data), len(SIGNATURE), memoryview(data)
    for _ in range(MAX_CHUNKS):
        if pos + 12 > n:
            raise rejected(Reason.TRUNCATED, f"the PNG ends at byte {n} without an IEND chunk (truncated)")
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if length > _MAX_CHUNK or not _CHUNK_TYPE.fullmatch(kind):
            raise rejected(Reason.MALFORMED, f"the PNG is malformed: bad chunk header at byte {pos}")
        end = pos + 12 + length
        if end > n:
            raise rejected(
                Reason.TRUNCATED,
                f"the PNG is truncated: its {kind.decode()} chunk at byte {pos} declares {length} bytes but only "
                f"{n - pos - 12} remain",
            )
        if zlib.crc32(view[pos + 4 : pos + 8 + length]) != int.from_bytes(data[end - 4 : end], "big"):
            raise rejected(
                Reason.MALFORMED, f"the PNG is corrupt: its {kind.decode()} chunk at byte {pos} fails its CRC"
            )
        yield _Chunk(kind, pos, end)
        pos = end
        if kind == b"IEND":
            if pos < n:
                yield _Chunk(b"", pos, n)
            return
    raise rejected(Reason.MALFORMED, f"the PNG is malformed: it has more than {MAX_CHUNKS} chunks")


def _describe(chunk: _Chunk, data: bytes) -> list[str]:
    """Names of the metadata a dropped chunk carries."""
    if chunk.kind == b"":
        return ["trailing data"]
    if chunk.kind == b"eXIf":
        return ["Exif", "GPS"] if exif.has_gps(memoryview(data)[chunk.data_start : chunk.end - 4]) else ["Exif"]
    if chunk.kind in (b"tEXt", b"zTXt", b"iTXt"):
        keyword = data[chunk.data_start : min(chunk.end - 4, chunk.data_start + 80)].split(b"\x00", 1)[0]
        return ["XMP"] if keyword == b"XML:com.adobe.xmp" else [f"text ({keyword.decode('latin-1')})"]
    if chunk.kind == b"tIME":
        return ["time"]
    if chunk.kind in (b"acTL", b"fcTL", b"fdAT"):
        return ["animation"]
    return [chunk.kind.decode()]


def metadata(data: bytes) -> list[str]:
    """Names of the chunks `rebuild` would drop (Exif, XMP, text, time, private chunks, trailing data)."""
    found: list[str] = []
    try:
        for chunk in _chunks(data):
            if chunk.kind not in _KEEP:
                found.extend(_describe(chunk, data))
    except Exception:  # a report, not a check
        found.append("unreadable structure")
    return list(dict.fromkeys(found))


def read_orientation(data: bytes) -> int:
    try:
        for chunk in _chunks(data):
            if chunk.kind == b"eXIf":
                return exif.orientation(memoryview(data)[chunk.data_start : chunk.end - 4])
    except Exception:  # best effort by contract
        return 1
    return 1


def _header(data: bytes, chunk: _Chunk) -> tuple[int, int, int, int]:
    if chunk.kind != b"IHDR" or chunk.end - chunk.start != 25:
        raise rejected(Reason.MALFORMED, "the PNG is malformed: it does not start with a 13-byte IHDR chunk")
    h = data[chunk.data_start : chunk.data_start + 13]
    width, height = int.from_bytes(h[0:4], "big"), int.from_bytes(h[4:8], "big")
    depth, color_type, compression, filtering, interlace = h[8], h[9], h[10], h[11], h[12]
    if depth not in _DEPTHS.get(color_type, ()) or compression or filtering or interlace > 1:
        raise rejected(
            Reason.MALFORMED,
            f"the PNG is malformed: bit depth {depth} with colour type {color_type} is not a valid combination",
        )
    return width, height, depth, color_type


def rebuild(data: bytes) -> PngStream:
    """Check the upload's structure and rebuild it with only the chunks that define its pixels."""
    view = memoryview(data)
    parts: list[bytes | memoryview] = [SIGNATURE]
    colour: list[bytes] = []
    dropped: list[str] = []
    header: tuple[int, int, int, int] | None = None
    orientation, transparency, idat, palette = 0, False, False, False
    for chunk in _chunks(data):
        if header is None:
            header = _header(data, chunk)
        if chunk.kind == b"eXIf" and not orientation:
            orientation = exif.orientation(view[chunk.data_start : chunk.end - 4])
        if chunk.kind not in _KEEP:
            dropped.extend(_describe(chunk, data))
            continue
        parts.append(view[chunk.start : chunk.end])
        if chunk.kind in COLOUR_CHUNKS:
            colour.append(data[chunk.start : chunk.end])
        transparency = transparency or chunk.kind == b"tRNS"
        idat = idat or chunk.kind == b"IDAT"
        palette = palette or chunk.kind == b"PLTE"
    assert header is not None  # _chunks yields at least IEND, and the first chunk sets it
    width, height, depth, color_type = header
    if not idat or (color_type == 3 and not palette):
        raise rejected(Reason.MALFORMED, "the PNG is malformed: it has no image data or lacks its palette")
    return PngStream(
        data=b"".join(parts),
        width=width,
        height=height,
        bit_depth=depth,
        color_type=color_type,
        orientation=orientation or 1,
        transparency=transparency,
        colour_chunks=tuple(colour),
        dropped=tuple(dict.fromkeys(dropped)),
    )
