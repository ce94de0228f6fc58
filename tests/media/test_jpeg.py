"""JPEG at the marker level: what the rebuild keeps and drops, and every structural defect it refuses."""

from __future__ import annotations

import io
import random
import struct

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps, JpegImagePlugin

from authentic.errors import ImageRejected, RejectedFile
from authentic.media import exif, jpeg
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.normalise import (
    CAP_CHROMA,
    CAP_LUMA,
    grid_survives,
    normalise_image,
    output_subsampling,
    requantisation_tables,
)
from authentic.media.rejections import Reason

LIMITS = {"max_bytes": 64 * 1024 * 1024, "max_pixels": 100_000_000}


def scene(size: tuple[int, int] = (96, 64), mode: str = "RGB") -> Image.Image:
    """A picture whose quadrants differ, with a gradient, so any wrong turn or lost block shows."""
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float64)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float64)[:, None]
    rgb = np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), np.full((h, w), 90.0)], axis=2)
    rgb[: h // 2, : w // 2] = (230, 40, 40)
    rgb[h // 2 :, w // 2 :] = (30, 200, 60)
    image = Image.fromarray(rgb.astype(np.uint8), "RGB")
    return image if mode == "RGB" else image.convert(mode)


def encode(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def exif_block(orientation: int = 1, gps: bool = False) -> bytes:
    tags = Image.Exif()
    tags[ORIENTATION_TAG] = orientation
    tags[0x010F] = "Phone maker"
    if gps:
        tags[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}
    return tags.tobytes()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def reason_of(data: bytes, **limits: int) -> Reason:
    with pytest.raises(ImageRejected) as caught:
        normalise_image(data, **(LIMITS | limits))
    return Reason(caught.value.reason)


def markers(data: bytes) -> list[str]:
    names = []
    for seg in jpeg._walk(data):
        names.append("ECS" if seg.marker < 0 else jpeg.marker_name(seg.marker))
    return names


def test_dqt_tables_are_read_in_natural_order_like_pillow() -> None:
    data = encode(scene(), quality=83)
    stream = jpeg.rebuild(data)
    with Image.open(io.BytesIO(data)) as im:
        assert isinstance(im, JpegImagePlugin.JpegImageFile)
        assert {k: tuple(v) for k, v in im.quantization.items()} == stream.qtables


@pytest.mark.filterwarnings("ignore:Image appears to be a malformed MPO file")
def test_rebuild_drops_every_metadata_segment_and_keeps_pixels_and_icc() -> None:
    # Given a JPEG carrying Exif with GPS, XMP, IPTC, a comment, MPF, vendor APPn, an ICC profile and a trailer
    icc = b"\x00\x00\x02\x30fake icc profile" + bytes(540)
    extra = (
        segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x05\x1c\x02\x05hi")
        + segment(0xE2, b"MPF\x00" + bytes(40))
        + segment(0xEF, b"vendor maker notes")
        + segment(0xE4, b"FPXR\x00\x00")
    )
    data = (
        encode(
            scene(),
            quality=90,
            exif=exif_block(gps=True),
            xmp=b"<x:xmpmeta><exif:GPSLatitude>51,30N</exif:GPSLatitude></x:xmpmeta>",
            comment="taken at home",
            icc_profile=icc,
            extra=extra,
        )
        + b"SEFT trailer with a second image \xff\xd8\xff\xd9"
    )
    found = jpeg.metadata(data)
    for name in ("Exif", "GPS", "XMP", "IPTC", "comment", "MPF", "APP15", "APP4", "trailing data"):
        assert name in found
    # When it is rebuilt
    stream = jpeg.rebuild(data)
    # Then nothing of it is left but the ICC profile, the pixels are the same, and Pillow agrees
    assert jpeg.metadata(stream.data) == []
    assert stream.icc_profile == icc
    assert set(stream.dropped) >= {"Exif", "GPS", "XMP", "IPTC", "comment", "MPF", "trailing data"}
    assert np.array_equal(pixels(stream.data), pixels(data))
    with Image.open(io.BytesIO(stream.data)) as im:
        assert im.info.get("icc_profile") == icc
        assert not any(im.info.get(k) for k in ("exif", "xmp", "comment", "photoshop", "mp"))
        assert len(im.getexif()) == 0


def test_jfif_thumbnail_and_jfxx_are_dropped_but_the_jfif_header_stays() -> None:
    data = encode(scene())
    assert data[2:4] == b"\xff\xe0"
    jfif_length = struct.unpack(">H", data[4:6])[0]
    fat_jfif = segment(0xE0, data[6:18] + bytes((2, 1)) + bytes(2 * 1 * 3))  # a 2x1 RGB thumbnail
    jfxx = segment(0xE0, b"JFXX\x00\x13" + bytes(12))
    data = data[:2] + fat_jfif + jfxx + data[4 + jfif_length :]
    assert "JFIF thumbnail" in jpeg.metadata(data)
    rebuilt = jpeg.rebuild(data).data
    assert rebuilt[2:20] == b"\xff\xe0\x00\x10" + data[6:18] + b"\x00\x00"
    assert jpeg.metadata(rebuilt) == []
    assert np.array_equal(pixels(rebuilt), pixels(data))


def test_a_segment_hidden_between_progressive_scans_is_dropped() -> None:
    data = encode(scene((128, 96)), quality=88, progressive=True)
    second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)
    sneaky = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>hidden</x:xmpmeta>") + segment(0xFE, b"c")
    data = data[:second_scan] + sneaky + data[second_scan:]
    assert {"XMP", "comment"} <= set(jpeg.metadata(data))
    rebuilt = jpeg.rebuild(data).data
    assert jpeg.metadata(rebuilt) == []
    assert markers(rebuilt).count("SOS") == markers(data).count("SOS") > 2
    assert np.array_equal(pixels(rebuilt), pixels(data))


def test_rebuild_is_a_fixed_point() -> None:
    data = encode(scene(), exif=exif_block(), comment="x", restart_marker_blocks=3, progressive=True)
    once = jpeg.rebuild(data).data
    assert jpeg.rebuild(once).data == once


def test_restart_markers_are_counted_so_a_short_scan_closed_with_eoi_is_caught() -> None:
    # Given a JPEG with a restart interval, whose scan is cut short and closed with EOI
    data = encode(scene((256, 192)), quality=90, restart_marker_blocks=2)
    assert jpeg.rebuild(data).frame.width == 256
    eoi = data.rindex(b"\xff\xd9")
    cut = data[: (eoi + data.index(b"\xff\xda")) // 2] + b"\xff\xd9"
    # Then Pillow decodes it without complaint (a grey band), but the walk refuses it
    Image.open(io.BytesIO(cut)).load()
    with pytest.raises(ImageRejected, match="restart markers") as caught:
        jpeg.rebuild(cut)
    assert caught.value.reason is Reason.TRUNCATED


def test_restart_markers_out_of_sequence_are_corrupt() -> None:
    data = bytearray(encode(scene((256, 192)), restart_marker_blocks=2))
    first = data.index(b"\xff\xd0")
    data[first + 1] = 0xD3
    with pytest.raises(ImageRejected, match="out of sequence"):
        jpeg.rebuild(bytes(data))


@pytest.mark.parametrize(
    ("mutate", "reason", "words"),
    [
        (lambda d: d[:2] + b"\xff\xe1\x00\x01" + d[2:], Reason.MALFORMED, "declares a length of 1"),
        (lambda d: d[:2] + b"\xff\xe1\xff\xf0abc" + d[2:], Reason.TRUNCATED, "declares 65520 bytes"),
        (lambda d: d[:2] + b"\xff\xe1", Reason.TRUNCATED, "ends inside"),
        (lambda d: d[:2] + b"\x12\x34" + d[2:], Reason.MALFORMED, "expected a marker at byte 2"),
        (lambda d: d[:2] + b"\xff\xd4" + d[2:], Reason.MALFORMED, "unexpected RST4"),
        (lambda d: d[: d.index(b"\xff\xda")] + d[d.rindex(b"\xff\xd9") :], Reason.MALFORMED, "no frame header"),
        (lambda d: d.replace(b"\xff\xc0", b"\xff\xc9", 1), Reason.UNSUPPORTED_FORMAT, "arithmetic"),
        (lambda d: d.replace(b"\xff\xc0", b"\xff\xc3", 1), Reason.UNSUPPORTED_FORMAT, "lossless"),
        (lambda d: d[: d.rindex(b"\xff\xd9")], Reason.TRUNCATED, "without an end-of-image marker"),
        (lambda d: d[: len(d) // 2], Reason.TRUNCATED, "truncated"),
    ],
    ids=[
        "tiny-length",
        "huge-length",
        "cut-in-header",
        "no-marker",
        "stray-rst",
        "no-frame",
        "arith",
        "lossless",
        "no-eoi",
        "half",
    ],
)
def test_structural_defects_are_refused_with_a_reason(mutate, reason: Reason, words: str) -> None:  # type: ignore[no-untyped-def]
    data = mutate(encode(scene()))
    with pytest.raises(ImageRejected, match=words) as caught:
        jpeg.rebuild(data)
    assert caught.value.reason is reason


def _frame_patch(data: bytes, offset: int, value: bytes) -> bytes:
    sof = data.index(b"\xff\xc0")
    return data[: sof + offset] + value + data[sof + offset + len(value) :]


@pytest.mark.parametrize(
    ("offset", "value", "words"),
    [
        (4, b"\x0c", "12-bit"),  # precision
        (5, b"\x00\x00", "height after the scan"),  # height 0 (DNL)
        (9, b"\x02", "wrong length"),  # component count disagrees with the length
        (11, b"\x55", "sampling factors"),  # luma 5x5
        (12, b"\x07", "sampling factors"),  # quantisation table 7
        (12, b"\x03", "quantisation table 3 is not defined"),
    ],
)
def test_frame_header_defects(offset: int, value: bytes, words: str) -> None:
    with pytest.raises(RejectedFile, match=words):
        jpeg.rebuild(_frame_patch(encode(scene()), offset, value))


def test_bogus_huffman_table_is_refused_like_libjpeg_would() -> None:
    data = encode(scene())
    dht = data.index(b"\xff\xc4")
    # Three codes of length one cannot exist.
    bad = data[: dht + 5] + b"\x03" + data[dht + 6 :]
    with pytest.raises(RejectedFile, match="Huffman"):
        jpeg.rebuild(bad)
    with pytest.raises(OSError):
        Image.open(io.BytesIO(bad)).load()


def test_read_orientation_reads_headers_only_and_never_raises() -> None:
    for orientation in range(1, 9):
        assert jpeg.read_orientation(encode(scene(), exif=exif_block(orientation))) == orientation
    assert jpeg.read_orientation(encode(scene())) == 1
    assert jpeg.read_orientation(b"\xff\xd8\xff\xe1\x00") == 1
    broken_exif = segment(0xE1, b"Exif\x00\x00MM\x00\x2a\x00\x00\xff\xff")
    assert jpeg.read_orientation(b"\xff\xd8" + broken_exif + b"\xff\xd9") == 1


def test_exif_reader_bounds_checks_everything() -> None:
    block = exif_block(6, gps=True)
    assert exif.orientation(block) == 6
    assert exif.has_gps(block)
    for cut in range(len(block)):
        assert exif.orientation(block[:cut]) in (1, 6)
    assert (
        exif.orientation(b"Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x09\x00") == 1
    )


def _fuzz_sources() -> list[bytes]:
    sources = []
    for progressive in (False, True):
        for subsampling in ("4:2:0", "4:2:2", "4:4:4"):
            for blocks, orientation in ((0, 1), (3, 6)):
                sources.append(
                    encode(
                        scene((72, 40)),
                        quality=85,
                        exif=exif_block(orientation),
                        restart_marker_blocks=blocks,
                        progressive=progressive,
                        subsampling=subsampling,
                    )
                )
        sources.append(encode(scene((40, 72), "L"), progressive=progressive, exif=exif_block(3)))
        sources.append(encode(scene((40, 40), "CMYK"), progressive=progressive))
    return sources


def test_fuzzed_files_are_refused_or_accepted_and_then_decodable() -> None:
    """Acceptance by the cheap walk must imply that libjpeg decodes the stored bytes, and nothing but a
    `RejectedFile` may come out. (Run offline over 220,000 mutations; 1,500 here as a regression guard.)"""
    rng = random.Random(20261126)
    sources = _fuzz_sources()
    accepted = 0
    for _ in range(1500):
        data = bytearray(rng.choice(sources))
        roll = rng.random()
        if roll < 0.7:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif roll < 0.85:
            at = rng.randrange(len(data))
            del data[at : at + rng.randint(1, 20)]
        else:
            at = rng.randrange(len(data))
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        try:
            result = normalise_image(bytes(data), **LIMITS)
        except RejectedFile:
            continue
        accepted += 1
        Image.open(io.BytesIO(result.data)).load()
    assert accepted > 300


def test_every_truncation_is_refused_with_a_reason() -> None:
    source = encode(scene((64, 48)), exif=exif_block(6), restart_marker_blocks=4)
    for cut in range(0, len(source) - 1, 7):
        with pytest.raises(RejectedFile):
            normalise_image(source[:cut] if cut > 3 else source[:3] + b"\x00", **LIMITS)


def test_requantisation_transposes_tables_and_caps_them_when_the_grid_moves() -> None:
    # 4:2:2, 64x48: both edges are whole MCUs (16x8), so a quarter turn keeps the grid.
    image = scene((64, 48))
    data = encode(image, quality=70, subsampling="4:2:2", exif=exif_block(6))
    stream = jpeg.rebuild(data)
    assert grid_survives(stream.frame, 6)
    luma, chroma = stream.qtables[0], stream.qtables[1]
    tables = requantisation_tables(stream)
    assert tables[0] == tuple(luma[c * 8 + r] for r in range(8) for c in range(8))
    assert tables[1] == tables[2] == tuple(chroma[c * 8 + r] for r in range(8) for c in range(8))
    assert output_subsampling(stream.frame, 6) == 1  # 4:2:2 turned is 4:4:0, which Pillow cannot write: 4:2:2
    assert output_subsampling(stream.frame, 3) == 1  # half a turn keeps 4:2:2
    # 60 wide is not a whole number of 16-pixel MCUs: orientation 8 moves that edge to the origin.
    moved = jpeg.rebuild(encode(scene((60, 48)), quality=70, subsampling="4:2:0", exif=exif_block(8)))
    assert not grid_survives(moved.frame, 8)
    assert grid_survives(moved.frame, 6)
    capped = requantisation_tables(moved)
    assert all(v <= cap for v, cap in zip(capped[0], CAP_LUMA, strict=True))
    assert all(v <= cap for v, cap in zip(capped[1], CAP_CHROMA, strict=True))
    assert output_subsampling(moved.frame, 8) == 2


def test_a_quarter_turn_on_an_intact_grid_is_nearly_lossless() -> None:
    # Given a textured photo, stored sideways, quantised with a strongly asymmetric table
    rng = np.random.default_rng(7)
    noise = Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).filter(ImageFilter.GaussianBlur(2))
    table = [1 + 5 * row + col for row in range(8) for col in range(8)]
    data = encode(noise, qtables=[table, table], subsampling="4:2:0", exif=exif_block(6))
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    reference = np.asarray(upright, dtype=np.float64)
    # When it is normalised (tables transposed with the pixels), or naively re-encoded with the same tables
    result = normalise_image(data, **LIMITS)
    naive = encode(upright, qtables=[table, table], subsampling="4:2:0")
    # Then the generation loss is a fraction of the naive one
    mse = float(np.mean((pixels(result.data) - reference) ** 2))
    naive_mse = float(np.mean((pixels(naive) - reference) ** 2))
    assert mse < naive_mse / 3
    with Image.open(io.BytesIO(result.data)) as out:
        assert isinstance(out, JpegImagePlugin.JpegImageFile)
        assert tuple(out.quantization[0]) == tuple(table[c * 8 + r] for r in range(8) for c in range(8))


def test_crafted_floods_are_refused_without_walking_them_all() -> None:
    # A scan full of restart markers with no restart interval: refused at the first one.
    data = encode(scene((64, 48)))
    eoi = data.rindex(b"\xff\xd9")
    flood = data[:eoi] + bytes([0xFF, 0xD0, 0xFF, 0xD1]) * 1_000_000 + data[eoi:]
    with pytest.raises(ImageRejected, match="more restart markers"):
        jpeg.rebuild(flood)
    # A million tiny comment segments.
    comments = data[:2] + segment(0xFE, b"") * (jpeg.MAX_SEGMENTS + 1) + data[2:]
    with pytest.raises(ImageRejected, match="more than 65536 segments"):
        jpeg.rebuild(comments)


@pytest.mark.parametrize("orientation", [2, 3, 6, 8])
@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2", "4:4:4"])
def test_a_reencoded_jpeg_is_already_canonical(orientation: int, subsampling: str) -> None:
    """The encoder's output is stored as it comes: rebuilding it through the walker changes nothing."""
    data = encode(scene((72, 40)), quality=90, subsampling=subsampling, exif=exif_block(orientation))
    result = normalise_image(data, **LIMITS)
    assert not result.lossless
    assert jpeg.rebuild(result.data).data == result.data
    assert jpeg.header_metadata(result.data) == [] == jpeg.metadata(result.data)


def test_header_metadata_reads_the_headers_only() -> None:
    data = encode(scene((64, 48)), exif=exif_block(6))
    assert jpeg.header_metadata(data) == ["Exif"]
    # A comment hidden after the scan is beyond the headers (the full walk finds it).
    eoi = data.rindex(b"\xff\xd9")
    hidden = data[:eoi] + b"\xff\xfe\x00\x06note" + data[eoi:]
    assert jpeg.header_metadata(hidden) == ["Exif"]
    assert "comment" in jpeg.metadata(hidden)
