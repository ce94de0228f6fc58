"""JPEG at the marker level: check the structure, read the orientation, rebuild the stream without metadata.

`rebuild` walks every marker segment of an upload and writes a new stream that keeps only what decoding
needs, byte for byte, so the pixels are never re-encoded:

- kept: SOI; the JFIF APP0 header (rewritten without its thumbnail); the ICC profile (APP2 `ICC_PROFILE`,
  colour, not identifying); the Adobe APP14 header (its colour-transform flag decides whether the decoder
  sees YCbCr or RGB, so dropping it would change the pixels); DQT, DHT, DRI, SOF and SOS with their
  entropy-coded data; EOI.
- dropped: every other APP segment (Exif, XMP and extended XMP, MPF and FlashPix, IPTC/Photoshop, maker
  notes, Ducky and other vendor blobs, JFXX thumbnails), COM comments, JPGn extension segments, DAC (only
  arithmetic coding uses it, and that is refused), fill bytes, and anything after EOI (Samsung trailers,
  MPF's appended images).

The walk is also the upload's validity check, and it is cheap enough for every upload (one regular-expression
pass over the entropy-coded data, about 0.3-0.5 ms per MB): segment lengths must fit the file, the frame must be a
supported 8-bit Huffman JPEG with sane sampling factors, quantisation tables must exist before a scan uses them,
Huffman tables must be ones libjpeg accepts, every scan must end at a marker (a file cut short has none), and
where a restart interval is set, every scan must hold exactly the restart markers its size implies, in sequence
(so a scan cut short and then closed with EOI is caught too; a full Pillow decode lets that case through with
a grey band). Anything wrong raises `RejectedFile` with a reason that names the segment and byte offset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from authentic.media import exif
from authentic.media.rejections import Reason, rejected

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
_EOI, _SOS, _TEM = 0xD9, 0xDA, 0x01
_SCAN = -1  # pseudo-marker: entropy-coded data
_TRAILER = -2  # pseudo-marker: bytes after EOI
_SUPPORTED_FRAMES = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive"}
_UNSUPPORTED_FRAMES = {
    0xC3: "lossless",
    0xC5: "differential sequential",
    0xC6: "differential progressive",
    0xC7: "differential lossless",
    0xC9: "arithmetic-coded sequential",
    0xCA: "arithmetic-coded progressive",
    0xCB: "arithmetic-coded lossless",
    0xCD: "differential arithmetic-coded sequential",
    0xCE: "differential arithmetic-coded progressive",
    0xCF: "differential arithmetic-coded lossless",
}
# A marker inside entropy-coded data: 0xFF followed by anything but a stuffed zero or another (fill) 0xFF.
_SCAN_MARKER = re.compile(rb"\xff[^\x00\xff]")
MAX_SEGMENTS = 65_536  # a photo has a few dozen; a file of millions of tiny segments is an attack
_ICC = b"ICC_PROFILE\x00"
_XMP = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")
_XMP_GPS = re.compile(rb"GPS(Latitude|Longitude)")


def _zigzag() -> tuple[int, ...]:
    """Natural (row-major) index of each coefficient in the order DQT lists them."""
    cells = sorted(((r, c) for r in range(8) for c in range(8)), key=lambda rc: _zigzag_key(*rc))
    return tuple(r * 8 + c for r, c in cells)


def _zigzag_key(row: int, col: int) -> tuple[int, int]:
    diagonal = row + col
    return diagonal, row if diagonal % 2 else -row


ZIGZAG = _zigzag()


def marker_name(code: int) -> str:
    names = {0xC4: "DHT", 0xC8: "JPG", 0xCC: "DAC", 0xD8: "SOI", 0xD9: "EOI", 0xDA: "SOS", 0xDB: "DQT"}
    names |= {0xDC: "DNL", 0xDD: "DRI", 0xDE: "DHP", 0xDF: "EXP", 0xFE: "COM", 0x01: "TEM"}
    if code in names:
        return names[code]
    if 0xC0 <= code <= 0xCF:
        return f"SOF{code - 0xC0}"
    if 0xD0 <= code <= 0xD7:
        return f"RST{code - 0xD0}"
    if 0xE0 <= code <= 0xEF:
        return f"APP{code - 0xE0}"
    if 0xF0 <= code <= 0xFD:
        return f"JPG{code - 0xF0}"
    return f"0x{code:02X}"


@dataclass(frozen=True)
class Component:
    ident: int
    h: int
    v: int
    tq: int


@dataclass(frozen=True)
class Frame:
    marker: int
    width: int
    height: int
    components: tuple[Component, ...]

    @property
    def hmax(self) -> int:
        return max(c.h for c in self.components)

    @property
    def vmax(self) -> int:
        return max(c.v for c in self.components)

    @property
    def mcu_size(self) -> tuple[int, int]:
        """Width and height in pixels of one MCU of an interleaved scan."""
        return 8 * self.hmax, 8 * self.vmax

    def mcu_count(self, scanned: Sequence[Component]) -> int:
        """MCUs in a scan of these components (ITU T.81 A.2): one block each when a scan has one component."""
        if len(scanned) == 1:
            c = scanned[0]
            wide = _ceil_div(_ceil_div(self.width * c.h, self.hmax), 8)
            high = _ceil_div(_ceil_div(self.height * c.v, self.vmax), 8)
            return wide * high
        return _ceil_div(self.width, 8 * self.hmax) * _ceil_div(self.height, 8 * self.vmax)

    def chroma_ratio(self) -> tuple[int, int]:
        """How many luma samples share one chroma sample, across and down (2, 2 for 4:2:0)."""
        if len(self.components) != 3:
            return 1, 1
        luma, chroma = self.components[0], self.components[1:]
        return max(1, luma.h // max(c.h for c in chroma)), max(1, luma.v // max(c.v for c in chroma))


@dataclass(frozen=True)
class JpegStream:
    """An upload rebuilt without metadata, and what the rebuild learnt on the way."""

    data: bytes
    frame: Frame
    orientation: int
    qtables: dict[int, tuple[int, ...]]  # by table id, in natural (row-major) order
    icc_profile: bytes | None
    dropped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Segment:
    marker: int  # a marker code, or _SCAN / _TRAILER
    start: int  # the 0xFF of the marker (first data byte for scan data and trailers)
    end: int  # just past the segment
    restarts: int = 0  # scan data: restart markers, all in sequence


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The marker code at `pos` (after any fill bytes) and the offset of its 0xFF."""
    n = len(data)
    if pos >= n:
        raise rejected(Reason.TRUNCATED, f"the JPEG ends at byte {n} without an end-of-image marker (truncated)")
    if data[pos] != 0xFF:
        raise rejected(Reason.MALFORMED, f"the JPEG is malformed: expected a marker at byte {pos}")
    while pos + 1 < n and data[pos + 1] == 0xFF:
        pos += 1
    if pos + 1 >= n:
        raise rejected(Reason.TRUNCATED, f"the JPEG ends at byte {n} without an end-of-image marker (truncated)")
    code = data[pos + 1]
    if code == 0 or 0xD0 <= code <= 0xD8:
        raise rejected(Reason.MALFORMED, f"the JPEG is malformed: unexpected {marker_name(code)} marker at byte {pos}")
    return code, pos


def _segment_end(data: bytes, code: int, at: int) -> int:
    n = len(data)
    if at + 4 > n:
        raise rejected(Reason.TRUNCATED, f"the JPEG ends inside its {marker_name(code)} segment (truncated)")
    length = data[at + 2] << 8 | data[at + 3]
    if length < 2:
        raise rejected(
            Reason.MALFORMED,
            f"the JPEG is malformed: its {marker_name(code)} segment at byte {at} declares a length of {length}",
        )
    end = at + 2 + length
    if end > n:
        raise rejected(
            Reason.TRUNCATED,
            f"the JPEG is truncated or malformed: its {marker_name(code)} segment at byte {at} declares "
            f"{length} bytes but only {n - at - 2} remain",
        )
    return end


def _scan_data(data: bytes, start: int, most: int | None) -> tuple[int, int]:
    """Where the entropy-coded data from `start` ends (the offset of the next marker) and its restart count;
    more than `most` restart markers is refused as soon as it is seen, so crafted data cannot make us loop."""
    restarts = 0
    for match in _SCAN_MARKER.finditer(data, start):
        code = data[match.start() + 1]
        if 0xD0 <= code <= 0xD7:
            if most is not None and restarts >= most:
                raise rejected(
                    Reason.MALFORMED,
                    f"the JPEG is corrupt: a scan holds more restart markers than its size implies ({most})",
                )
            if code != 0xD0 + (restarts & 7):
                raise rejected(
                    Reason.MALFORMED,
                    f"the JPEG is corrupt: restart marker {marker_name(code)} at byte {match.start()} is out "
                    f"of sequence (expected RST{restarts & 7})",
                )
            restarts += 1
            continue
        return match.start(), restarts
    raise rejected(
        Reason.TRUNCATED,
        f"the JPEG is truncated: its image data runs to the end of the file (byte {len(data)}) without an "
        "end-of-image marker",
    )


def _walk(data: bytes, most_restarts: Callable[[], int | None] = lambda: None) -> Iterator[_Segment]:
    """Every segment of the stream in order, scan data and trailing bytes included. Raises on bad structure.

    `most_restarts` is asked, after the SOS segment has been consumed, how many restart markers its scan may
    hold (None: no limit)."""
    if not data.startswith(SOI):
        raise rejected(Reason.MALFORMED, "the JPEG is malformed: it does not start with a start-of-image marker")
    pos = 2
    for _ in range(MAX_SEGMENTS):
        code, at = _next_marker(data, pos)
        if code == _EOI:
            yield _Segment(_EOI, at, at + 2)
            if at + 2 < len(data):
                yield _Segment(_TRAILER, at + 2, len(data))
            return
        if code == _TEM:
            pos = at + 2
            continue
        pos = _segment_end(data, code, at)
        yield _Segment(code, at, pos)
        if code == _SOS:
            stop, restarts = _scan_data(data, pos, most_restarts())
            yield _Segment(_SCAN, pos, stop, restarts)
            pos = stop
    raise rejected(Reason.MALFORMED, f"the JPEG is malformed: it has more than {MAX_SEGMENTS} segments")


def _describe_app(code: int, payload: bytes | memoryview) -> list[str]:
    """Names of the metadata an APPn or COM segment carries (empty for the JFIF, ICC and Adobe headers)."""
    head = bytes(payload[:36])
    if code == 0xFE:
        return ["comment"]
    if code == 0xE0:
        if head.startswith(b"JFIF\x00"):
            return ["JFIF thumbnail"] if len(head) >= 14 and (head[12] or head[13]) else []
        return ["JFXX thumbnail"] if head.startswith(b"JFXX\x00") else ["APP0"]
    if code == 0xE1:
        if head.startswith(exif.EXIF_HEADER):
            return ["Exif", "GPS"] if exif.has_gps(payload) else ["Exif"]
        if head.startswith(_XMP):
            return ["XMP", "GPS"] if _XMP_GPS.search(payload) else ["XMP"]
        return ["APP1"]
    if code == 0xE2:
        if head.startswith(_ICC):
            return []
        return ["MPF"] if head.startswith(b"MPF\x00") else ["FlashPix" if head.startswith(b"FPXR") else "APP2"]
    if code == 0xED:
        return ["IPTC"] if head.startswith(b"Photoshop 3.0\x00") else ["APP13"]
    if code == 0xEE and head.startswith(b"Adobe") and len(payload) >= 12:
        return []
    return [marker_name(code)]


def _segment_metadata(data: bytes, seg: _Segment) -> list[str]:
    """Names of the metadata one walked segment carries (empty for the segments decoding needs)."""
    if seg.marker == _TRAILER:
        return ["trailing data"]
    if 0xE0 <= seg.marker <= 0xEF or seg.marker == 0xFE:
        return _describe_app(seg.marker, memoryview(data)[seg.start + 4 : seg.end])
    if 0xF0 <= seg.marker <= 0xFD:
        return [marker_name(seg.marker)]
    return []


def metadata(data: bytes) -> list[str]:
    """Names of the metadata in a JPEG (Exif, GPS, XMP, IPTC, comment, MPF, vendor APPn, trailing data)."""
    found: list[str] = []
    try:
        for seg in _walk(data):
            found.extend(_segment_metadata(data, seg))
    except Exception:  # a report, not a check: whatever was read so far stands
        found.append("unreadable structure")
    return list(dict.fromkeys(found))


def header_metadata(data: bytes) -> list[str]:
    """Names of the metadata in a JPEG's headers (up to its first scan), without walking any scan data."""
    found: list[str] = []
    for seg in _walk(data):
        if seg.marker == _SOS:
            break
        found.extend(_segment_metadata(data, seg))
    return list(dict.fromkeys(found))


def read_orientation(data: bytes) -> int:
    """The Exif orientation from the first Exif APP1, reading headers only; 1 when absent or invalid."""
    try:
        for seg in _walk(data):
            if seg.marker in (_SOS, _EOI):
                break
            if seg.marker == 0xE1 and data.startswith(exif.EXIF_HEADER, seg.start + 4):
                return exif.orientation(memoryview(data)[seg.start + 4 : seg.end])
    except Exception:  # header-only and best effort by contract
        return 1
    return 1


@dataclass
class _Builder:
    """Consumes `_walk` and writes the kept segments; checks each one on the way."""

    data: bytes
    view: memoryview = field(init=False)
    parts: list[bytes | memoryview] = field(default_factory=lambda: [SOI])
    frame: Frame | None = None
    qtables: dict[int, tuple[int, ...]] = field(default_factory=dict)
    huffman: set[tuple[int, int]] = field(default_factory=set)
    restart_interval: int = 0
    scanned: set[int] = field(default_factory=set)
    scans: int = 0
    orientation: int = 0
    icc: list[tuple[int, memoryview]] = field(default_factory=list)
    jfif: bool = False
    adobe: bool = False
    dropped: list[str] = field(default_factory=list)
    pending_scan: tuple[Component, ...] = ()

    def __post_init__(self) -> None:
        self.view = memoryview(self.data)

    def build(self) -> JpegStream:
        for seg in _walk(self.data, self._most_restarts):
            self._take(seg)
        if self.frame is None or not self.scans:
            raise rejected(Reason.MALFORMED, "the JPEG is malformed: it has no frame header or no image data")
        missing = [c.ident for c in self.frame.components if c.ident not in self.scanned]
        if missing:
            raise rejected(Reason.MALFORMED, f"the JPEG is malformed: components {missing} are never scanned")
        icc = b"".join(chunk for _, chunk in sorted(self.icc, key=lambda item: item[0])) or None
        return JpegStream(
            data=b"".join(self.parts),
            frame=self.frame,
            orientation=self.orientation or 1,
            qtables=self.qtables,
            icc_profile=icc,
            dropped=tuple(dict.fromkeys(self.dropped)),
        )

    def _take(self, seg: _Segment) -> None:
        code = seg.marker
        if code == _SCAN:
            self._scan(seg)
        elif code == _EOI:
            self.parts.append(EOI)
        elif code == _TRAILER:
            self.dropped.append("trailing data")
        elif 0xE0 <= code <= 0xEF or code == 0xFE:
            self._app(seg)
        elif 0xF0 <= code <= 0xFD:
            self.dropped.append(marker_name(code))
        elif code in _SUPPORTED_FRAMES:
            self._frame(seg)
        elif code == 0xDB:
            self._dqt(seg)
        elif code == 0xC4:
            self._dht(seg)
        elif code == _SOS:
            self._sos(seg)
        elif code == 0xDD:
            self._dri(seg)
        elif code == 0xCC:
            # Arithmetic-coding conditioning: meaningless to the Huffman frames accepted here, and libjpeg
            # errors on bad values, so it goes.
            self.dropped.append("DAC")
        else:
            self._unsupported(code)

    def _unsupported(self, code: int) -> None:
        if code in _UNSUPPORTED_FRAMES:
            raise rejected(
                Reason.UNSUPPORTED_FORMAT,
                f"the JPEG uses the {_UNSUPPORTED_FRAMES[code]} process ({marker_name(code)}), which is not "
                "supported; baseline, extended and progressive JPEGs are",
            )
        if code in (0xDC, 0xDE, 0xDF):
            raise rejected(
                Reason.UNSUPPORTED_FORMAT,
                f"the JPEG uses a {marker_name(code)} marker (hierarchical or height-after-scan JPEG), which is "
                "not supported",
            )
        raise rejected(Reason.MALFORMED, f"the JPEG is malformed: unknown marker {marker_name(code)}")

    def _payload(self, seg: _Segment) -> memoryview:
        return self.view[seg.start + 4 : seg.end]

    def _app(self, seg: _Segment) -> None:
        code, payload = seg.marker, self._payload(seg)
        head = bytes(payload[:14])
        if code == 0xE1 and not self.orientation and head.startswith(exif.EXIF_HEADER):
            self.orientation = exif.orientation(payload)
        if code == 0xE0 and head.startswith(b"JFIF\x00") and len(payload) >= 14 and not self.jfif:
            # Version, density units and densities; the thumbnail (if any) goes.
            self.parts.append(b"\xff\xe0\x00\x10" + bytes(payload[:12]) + b"\x00\x00")
            self.jfif = True
        elif code == 0xE2 and head.startswith(_ICC) and len(payload) > 14:
            self.parts.append(self.view[seg.start : seg.end])
            self.icc.append((payload[12], payload[14:]))
        elif code == 0xEE and head.startswith(b"Adobe") and len(payload) >= 12 and not self.adobe:
            self.parts.append(b"\xff\xee\x00\x0e" + bytes(payload[:12]))
            self.adobe = True
        self.dropped.extend(_describe_app(code, payload))

    def _frame(self, seg: _Segment) -> None:
        p = self._payload(seg)
        if self.frame is not None:
            raise rejected(Reason.MALFORMED, "the JPEG is malformed: it has more than one frame header")
        if len(p) < 6 or len(p) != 6 + 3 * p[5]:
            raise rejected(Reason.MALFORMED, "the JPEG is malformed: its frame header has the wrong length")
        if p[0] != 8:
            raise rejected(
                Reason.UNSUPPORTED_FORMAT, f"the JPEG has {p[0]}-bit samples; only 8-bit JPEGs are supported"
            )
        height, width, count = p[1] << 8 | p[2], p[3] << 8 | p[4], p[5]
        if height == 0:
            raise rejected(Reason.UNSUPPORTED_FORMAT, "the JPEG declares its height after the scan (DNL)")
        comps = tuple(Component(p[6 + 3 * i], p[7 + 3 * i] >> 4, p[7 + 3 * i] & 15, p[8 + 3 * i]) for i in range(count))
        if count not in (1, 3, 4) or len({c.ident for c in comps}) != count:
            raise rejected(Reason.UNSUPPORTED_FORMAT, f"the JPEG has {count} colour components (1, 3 or 4 expected)")
        if any(not (1 <= c.h <= 4 and 1 <= c.v <= 4 and c.tq <= 3) for c in comps):
            raise rejected(Reason.MALFORMED, "the JPEG is malformed: bad sampling factors or table numbers")
        self.frame = Frame(seg.marker, width, height, comps)
        self.parts.append(self.view[seg.start : seg.end])

    def _dqt(self, seg: _Segment) -> None:
        p, at = self._payload(seg), 0
        while at < len(p):
            precision, table = p[at] >> 4, p[at] & 15
            size = 128 if precision else 64
            if precision > 1 or table > 3 or at + 1 + size > len(p):
                raise rejected(Reason.MALFORMED, f"the JPEG is malformed: bad quantisation table at byte {seg.start}")
            raw = p[at + 1 : at + 1 + size]
            values = [raw[2 * k] << 8 | raw[2 * k + 1] for k in range(64)] if precision else list(raw)
            natural = [0] * 64
            for k, index in enumerate(ZIGZAG):
                natural[index] = values[k]
            self.qtables[table] = tuple(natural)
            at += 1 + size
        self.parts.append(self.view[seg.start : seg.end])

    def _dht(self, seg: _Segment) -> None:
        p, at = self._payload(seg), 0
        while at < len(p):
            kind, table = p[at] >> 4, p[at] & 15
            counts = p[at + 1 : at + 17]
            total = sum(counts)
            if kind > 1 or table > 3 or len(counts) < 16 or total > 256 or at + 17 + total > len(p):
                raise rejected(Reason.MALFORMED, f"the JPEG is malformed: bad Huffman table at byte {seg.start}")
            # libjpeg's own test (jdhuff.c): the code lengths must fit, leaving the all-ones code unused.
            code = 0
            for length, count in enumerate(counts, start=1):
                code += count
                if code >= 1 << length:
                    raise rejected(Reason.MALFORMED, f"the JPEG is malformed: bogus Huffman table at byte {seg.start}")
                code <<= 1
            if kind == 0 and any(symbol > 15 for symbol in p[at + 17 : at + 17 + total]):
                raise rejected(Reason.MALFORMED, f"the JPEG is malformed: bogus DC Huffman table at byte {seg.start}")
            self.huffman.add((kind, table))
            at += 17 + total
        self.parts.append(self.view[seg.start : seg.end])

    def _dri(self, seg: _Segment) -> None:
        p = self._payload(seg)
        if len(p) != 2:
            raise rejected(Reason.MALFORMED, f"the JPEG is malformed: bad restart interval at byte {seg.start}")
        self.restart_interval = p[0] << 8 | p[1]
        self.parts.append(self.view[seg.start : seg.end])

    def _sos(self, seg: _Segment) -> None:
        p, frame = self._payload(seg), self.frame
        if frame is None:
            raise rejected(Reason.MALFORMED, "the JPEG is malformed: a scan comes before the frame header")
        count = p[0] if p else 0
        if not 1 <= count <= 4 or len(p) != 4 + 2 * count:
            raise rejected(Reason.MALFORMED, f"the JPEG is malformed: bad scan header at byte {seg.start}")
        by_id = {c.ident: c for c in frame.components}
        selectors = [(p[1 + 2 * i], p[2 + 2 * i]) for i in range(count)]
        if len({ident for ident, _ in selectors}) != count or any(ident not in by_id for ident, _ in selectors):
            raise rejected(Reason.MALFORMED, "the JPEG is malformed: a scan names a component the frame lacks")
        comps = tuple(by_id[ident] for ident, _ in selectors)
        if count > 1 and sum(c.h * c.v for c in comps) > 10:
            raise rejected(Reason.MALFORMED, "the JPEG is malformed: too many blocks per MCU")
        for c in comps:
            if c.tq not in self.qtables:
                raise rejected(Reason.MALFORMED, f"the JPEG is malformed: quantisation table {c.tq} is not defined")
        self._check_huffman_tables(frame, p, [tables for _, tables in selectors])
        if frame.marker == 0xC2:
            self._check_progression(p[-3], p[-2], p[-1] >> 4, p[-1] & 15, count)
        self.pending_scan = comps
        self.scanned.update(c.ident for c in comps)
        self.parts.append(self.view[seg.start : seg.end])

    def _check_huffman_tables(self, frame: Frame, header: memoryview, selectors: list[int]) -> None:
        """Every table the scan decodes with must be defined: a sequential scan needs its DC and AC tables,
        a progressive first DC scan its DC table, a progressive AC scan its AC table. (libjpeg-turbo would
        supply standard tables 0 and 1 to a sequential stream without any, as Motion JPEG does; a photo never
        needs that, and a table lost to corruption must not pass.)"""
        ss, ah = header[-3], header[-1] >> 4
        progressive = frame.marker == 0xC2
        needs_dc = not progressive or (ss == 0 and ah == 0)
        needs_ac = not progressive or ss > 0
        for tables in selectors:
            for kind, table, needed in ((0, tables >> 4, needs_dc), (1, tables & 15, needs_ac)):
                if needed and (kind, table) not in self.huffman:
                    name = "DC" if kind == 0 else "AC"
                    raise rejected(
                        Reason.MALFORMED, f"the JPEG is malformed: its {name} Huffman table {table} is not defined"
                    )

    @staticmethod
    def _check_progression(ss: int, se: int, ah: int, al: int, count: int) -> None:
        """libjpeg's checks on a progressive scan's spectral selection and successive approximation."""
        bad = se < ss or se > 63 or al > 13 or (ah != 0 and al != ah - 1)
        bad = bad or (se != 0 if ss == 0 else count != 1)
        if bad:
            raise rejected(Reason.MALFORMED, "the JPEG is malformed: a progressive scan has impossible parameters")

    def _expected_restarts(self) -> int:
        frame = self.frame
        assert frame is not None  # _sos ran first
        interval = self.restart_interval
        return _ceil_div(frame.mcu_count(self.pending_scan), interval) - 1 if interval else 0

    def _most_restarts(self) -> int:
        # Some encoders close the last interval with a restart marker too.
        return self._expected_restarts() + (1 if self.restart_interval else 0)

    def _scan(self, seg: _Segment) -> None:
        self.scans += 1
        expected = self._expected_restarts()
        if not expected <= seg.restarts <= self._most_restarts():
            raise rejected(
                Reason.TRUNCATED,
                f"the JPEG is truncated or corrupt: scan {self.scans} holds {seg.restarts} of the {expected} "
                "restart markers its size implies",
            )
        self.parts.append(self.view[seg.start : seg.end])


def rebuild(data: bytes) -> JpegStream:
    """Check the upload's structure and rebuild it with only the segments decoding needs (see module doc)."""
    return _Builder(data).build()
