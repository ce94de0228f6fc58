"""Image normalisation: upright, metadata-free, lossless where possible, and a specific reason for every refusal."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageFile, ImageOps, PngImagePlugin

from authentic.annotations.model import Box
from authentic.annotations.orientation import to_stored, to_upright
from authentic.errors import ImageRejected, RejectedFile
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import TRANSPOSE, ImageSize
from authentic.media.normalise import NormalisedImage, has_metadata, normalise_image, read_orientation
from authentic.media.rejections import Reason

LIMITS = {"max_bytes": 64 * 1024 * 1024, "max_pixels": 100_000_000}
SYNTHETIC = [f"synthetic-{shape}-{o}.jpg" for shape in ("landscape", "portrait") for o in range(1, 9)]


@dataclass(frozen=True)
class Entry:
    orientation: int
    stored: tuple[int, int]
    upright: tuple[int, int]


def _size(text: str) -> tuple[int, int]:
    width, height = text.split("x")
    return int(width), int(height)


@pytest.fixture(scope="module")
def exif_dir(shared_data: Path) -> Path:
    return shared_data / "exif"


@pytest.fixture(scope="module")
def manifest(exif_dir: Path) -> dict[str, Entry]:
    rows = [line.split("\t") for line in (exif_dir / "manifest.tsv").read_text().splitlines()[1:]]
    return {r[0]: Entry(int(r[1]), _size(r[4]), _size(r[5])) for r in rows}


def normalise(data: bytes) -> NormalisedImage:
    return normalise_image(data, **LIMITS)


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def region_mean(pixels: np.ndarray, box: Box) -> np.ndarray:
    top, left = round(box.top), round(box.left)
    return np.asarray(pixels[top : round(box.bottom), left : round(box.right)].reshape(-1, 3).mean(axis=0))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def reason_of(data: bytes, **limits: int) -> tuple[Reason, str]:
    with pytest.raises(ImageRejected) as caught:
        normalise_image(data, **(LIMITS | limits))
    return Reason(caught.value.reason), caught.value.message


def scene(size: tuple[int, int] = (96, 64)) -> Image.Image:
    """Quadrants of different colours over a gradient: any wrong turn or mirror shows."""
    w, h = size
    x = np.linspace(0, 255, w)[None, :]
    y = np.linspace(0, 255, h)[:, None]
    rgb = np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), np.full((h, w), 90.0)], axis=2)
    rgb[: h // 2, : w // 2] = (230, 40, 40)
    rgb[h // 2 :, w // 2 :] = (30, 200, 60)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def exif_bytes(orientation: int = 1, gps: bool = False) -> bytes:
    tags = Image.Exif()
    tags[ORIENTATION_TAG] = orientation
    tags[0x0110] = "Phone model"
    if gps:
        tags[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}
    return tags.tobytes()


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


# --- the sixteen synthetic orientations ----------------------------------------------------------------


@pytest.mark.parametrize("name", SYNTHETIC)
def test_a_box_drawn_on_the_stored_photo_lands_on_the_same_content(
    name: str, exif_dir: Path, manifest: dict[str, Entry]
) -> None:
    # Given a photo stored with some orientation, and boxes a labeller drew on the upright photo
    entry = manifest[name]
    source = (exif_dir / name).read_bytes()
    stored, orientation = ImageSize(*entry.stored), entry.orientation
    w, h = entry.upright
    fractions = [(0.08, 0.10, 0.25, 0.20), (0.60, 0.55, 0.30, 0.35), (0.40, 0.05, 0.15, 0.50)]
    boxes = [
        Box(i, round(x * w), round(y * h), round(bw * w), round(bh * h)) for i, (x, y, bw, bh) in enumerate(fractions)
    ]
    # When the photo is normalised
    result = normalise(source)
    # Then it is upright at the manifest's size, with the orientation it applied, and no metadata
    assert (result.size.width, result.size.height) == entry.upright
    assert (result.stored_size.width, result.stored_size.height) == entry.stored
    assert result.orientation == orientation == read_orientation(source)
    assert result.lossless is (orientation == 1)
    assert has_metadata(result.data) == []
    output = decoded(result.data)
    assert output.shape[:2] == (h, w)
    with Image.open(io.BytesIO(source)) as im:
        raw = np.asarray(im.convert("RGB"), dtype=np.float64)  # the stored pixels, never turned
        reference = np.asarray(ImageOps.exif_transpose(im).convert("RGB"), dtype=np.float64)
    # Never worse than the naive re-encode (PIL exif_transpose, then quality 95)
    naive = decoded(save(ImageOps.exif_transpose(Image.open(io.BytesIO(source))), "JPEG", quality=95))
    assert psnr(output, reference) >= min(psnr(naive, reference) - 0.3, 45)
    moved_far = 0.0
    for box in boxes:
        in_stored = to_stored(box, stored, orientation)
        assert to_upright(in_stored, stored, orientation) == box
        # And each box covers the same content on the normalised image as on the stored pixels
        expected = region_mean(raw, in_stored)
        assert np.abs(region_mean(output, box) - expected).max() <= 3.0
        assert np.abs(region_mean(output, box) - region_mean(reference, box)).max() <= 2.0
        if in_stored.right <= stored.width and in_stored.bottom <= stored.height:
            moved_far = max(moved_far, float(np.abs(region_mean(raw, box) - expected).max()))
    if orientation != 1:  # the check has teeth: ignoring the orientation would put some box elsewhere
        assert moved_far > 10


@pytest.mark.parametrize("name", SYNTHETIC)
def test_normalising_an_output_again_gives_the_same_bytes(name: str, exif_dir: Path) -> None:
    first = normalise((exif_dir / name).read_bytes())
    second = normalise(first.data)
    assert second.data == first.data
    assert second.sha256 == first.sha256
    assert second.orientation == 1
    assert second.lossless


# --- real phone photos (12 MP: each decode costs tens of ms, so each property is checked once) -----------


def test_phone_photos_come_out_upright_at_the_manifest_size_with_no_metadata_left(
    exif_dir: Path, manifest: dict[str, Entry]
) -> None:
    phones = sorted(exif_dir.glob("phone-*.jpg"))
    assert len(phones) == 14
    for path in phones:
        source, entry = path.read_bytes(), manifest[path.name]
        assert has_metadata(source), path.name  # the test has teeth: every phone photo carries Exif
        result = normalise(source)
        assert (result.size.width, result.size.height) == entry.upright, path.name
        assert (result.stored_size.width, result.stored_size.height) == entry.stored, path.name
        assert result.orientation == entry.orientation, path.name
        assert (result.extension, result.content_type, result.source_format) == ("jpg", "image/jpeg", "jpeg")
        assert has_metadata(result.data) == [], path.name
        with Image.open(io.BytesIO(result.data)) as im:
            assert im.size == entry.upright
            assert not any(im.info.get(k) for k in ("exif", "xmp", "comment", "photoshop", "mp")), path.name
            assert len(im.getexif()) == 0
        assert normalise(result.data).data == result.data, path.name


def test_upright_phone_photos_are_stored_losslessly_with_identical_pixels(exif_dir: Path) -> None:
    for path in sorted(exif_dir.glob("phone-*-o1.jpg")):
        source = path.read_bytes()
        result = normalise(source)
        assert result.lossless, path.name
        assert len(result.data) < len(source)
        assert np.array_equal(decoded(result.data), decoded(source)), path.name


def test_turned_phone_photos_keep_their_quality(exif_dir: Path) -> None:
    for path in sorted(exif_dir.glob("phone-*.jpg")):
        if path.name.endswith("-o1.jpg"):
            continue
        source = path.read_bytes()
        result = normalise(source)
        assert not result.lossless
        with Image.open(io.BytesIO(source)) as im:
            reference = np.asarray(im.convert("RGB").transpose(TRANSPOSE[result.orientation]), dtype=np.float64)
        assert psnr(decoded(result.data), reference) >= 40, path.name


# --- refusals ------------------------------------------------------------------------------------------


def test_an_empty_file_is_refused() -> None:
    assert reason_of(b"") == (Reason.EMPTY, "the file is empty (0 bytes)")


def test_an_oversize_file_is_refused_before_it_is_read(exif_dir: Path) -> None:
    reason, message = reason_of((exif_dir / "synthetic-landscape-1.jpg").read_bytes(), max_bytes=100_000)
    assert reason is Reason.TOO_LARGE
    assert "0.1 MB" in message and "limit" in message


def test_a_truncated_jpeg_is_refused(exif_dir: Path) -> None:
    source = (exif_dir / "synthetic-portrait-6.jpg").read_bytes()
    reason, message = reason_of(source[: len(source) * 7 // 10])
    assert reason is Reason.TRUNCATED
    assert "truncated" in message and "end-of-image" in message


def test_a_jpeg_with_a_malformed_segment_length_is_refused(exif_dir: Path) -> None:
    source = (exif_dir / "synthetic-landscape-1.jpg").read_bytes()
    reason, message = reason_of(source[:4] + b"\x00\x01" + source[6:])
    assert reason is Reason.MALFORMED
    assert "APP1 segment at byte 2" in message


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "an HTML page"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "a ZIP archive"),
        (b'{"file": "photo.jpg"}', "JSON text"),
        (b"just some notes about the product\n", "text"),
        (bytes(range(7, 200)), "unrecognised binary data"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "an MP4/QuickTime video"),
    ],
)
def test_bytes_that_are_not_an_image_are_refused_saying_what_they_look_like(data: bytes, what: str) -> None:
    reason, message = reason_of(data)
    assert reason is Reason.NOT_AN_IMAGE
    assert what in message and "JPEG, PNG or HEIC/HEIF" in message


@pytest.mark.parametrize(("fmt", "name"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF"), ("WEBP", "WebP")])
def test_unsupported_formats_are_refused_naming_the_format_and_what_is_accepted(fmt: str, name: str) -> None:
    reason, message = reason_of(save(scene(), fmt))
    assert reason is Reason.UNSUPPORTED_FORMAT
    assert message == f"the file is a {name} image, which is not accepted; upload JPEG, PNG or HEIC/HEIF"


def test_avif_is_refused_as_unsupported() -> None:
    reason, message = reason_of(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64))
    assert reason is Reason.UNSUPPORTED_FORMAT
    assert "AVIF" in message


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if any pixel is decoded: bombs must be refused from their headers."""

    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("decoded pixels of a decompression bomb")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_a_jpeg_decompression_bomb_is_refused_from_its_header(no_decoding: None) -> None:
    small = save(scene((64, 48)), "JPEG")
    sof = small.index(b"\xff\xc0")
    bomb = small[: sof + 5] + struct.pack(">HH", 60000, 60000) + small[sof + 9 :]
    reason, message = reason_of(bomb, max_pixels=50_000_000)
    assert reason is Reason.TOO_MANY_PIXELS
    assert message == "the JPEG is 60000x60000 pixels (3600.0 megapixels), over the 50.0-megapixel limit"


def test_the_pixel_limit_is_configurable(exif_dir: Path, no_decoding: None) -> None:
    source = (exif_dir / "synthetic-landscape-6.jpg").read_bytes()
    reason, message = reason_of(source, max_pixels=200_000)
    assert reason is Reason.TOO_MANY_PIXELS
    assert "450x600 pixels (0.3 megapixels), over the 0.2-megapixel limit" in message


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def test_a_png_decompression_bomb_is_refused_from_its_header(no_decoding: None) -> None:
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(bytes(1000)))
    bomb = b"\x89PNG\r\n\x1a\n" + ihdr + idat + png_chunk(b"IEND", b"")
    reason, message = reason_of(bomb)
    assert reason is Reason.TOO_MANY_PIXELS
    assert "100000x100000" in message


# --- PNG -----------------------------------------------------------------------------------------------


def png_with_metadata(image: Image.Image, orientation: int = 1) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe")
    info.add_text("Comment", "shot in the shop" * 20, zip=True)
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta><exif:GPSLatitude>51N</exif:GPSLatitude></x:xmpmeta>")
    data = save(image, "PNG", pnginfo=info, exif=exif_bytes(orientation, gps=True))
    ihdr_end = 8 + 25
    extra = png_chunk(b"gAMA", struct.pack(">I", 45455)) + png_chunk(b"tIME", bytes(7)) + png_chunk(b"prVt", b"x")
    return data[:ihdr_end] + extra + data[ihdr_end:] + b"trailing bytes"


def test_an_upright_png_stays_a_png_with_its_pixels_and_without_its_metadata() -> None:
    image = scene().convert("RGBA")
    image.putpixel((3, 3), (1, 2, 3, 0))
    source = png_with_metadata(image)
    found = has_metadata(source)
    for name in ("Exif", "GPS", "XMP", "text (Author)", "text (Comment)", "time", "prVt", "trailing data"):
        assert name in found
    result = normalise(source)
    assert (result.extension, result.content_type, result.source_format) == ("png", "image/png", "png")
    assert result.lossless and result.orientation == 1
    assert result.size == result.stored_size == ImageSize(96, 64, 4)
    assert has_metadata(result.data) == []
    with Image.open(io.BytesIO(result.data)) as out, Image.open(io.BytesIO(source)) as src:
        assert out.tobytes() == src.tobytes()
        assert out.info.get("gamma") == pytest.approx(0.45455)
        assert not {"Author", "Comment", "XML:com.adobe.xmp", "exif"} & set(out.info)
    assert normalise(result.data).data == result.data


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_png_with_an_exif_orientation_is_turned_losslessly(orientation: int) -> None:
    image = scene()
    source = png_with_metadata(image, orientation)
    assert read_orientation(source) == orientation
    result = normalise(source)
    expected = image.transpose(TRANSPOSE[orientation])
    assert result.orientation == orientation and result.lossless
    assert (result.size.width, result.size.height) == expected.size
    assert result.stored_size == ImageSize(96, 64, 3)
    assert has_metadata(result.data) == []
    with Image.open(io.BytesIO(result.data)) as out:
        assert out.tobytes() == expected.tobytes()
        assert out.info.get("gamma") == pytest.approx(0.45455)
    assert normalise(result.data).data == result.data


def test_a_palette_png_keeps_its_transparency_when_turned() -> None:
    image = scene().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    source = save(image, "PNG", transparency=0, exif=exif_bytes(6))
    result = normalise(source)
    with Image.open(io.BytesIO(result.data)) as out:
        assert out.mode == "P" and "transparency" in out.info
        expected = image.transpose(TRANSPOSE[6])
        expected.info["transparency"] = 0
        assert out.convert("RGBA").tobytes() == expected.convert("RGBA").tobytes()


def test_broken_pngs_are_refused_with_a_reason() -> None:
    source = save(scene(), "PNG")
    assert reason_of(source[: len(source) // 2])[0] is Reason.TRUNCATED
    corrupt = bytearray(source)
    corrupt[8 + 25 + 8 + 4] ^= 0xFF  # inside IDAT's data: its CRC no longer matches
    reason, message = reason_of(bytes(corrupt))
    assert reason is Reason.MALFORMED and "CRC" in message
    # A cut IDAT with a valid CRC and IEND after it: only decoding can tell.
    idat_at = source.index(b"IDAT") - 4
    length = struct.unpack(">I", source[idat_at : idat_at + 4])[0]
    short = png_chunk(b"IDAT", source[idat_at + 8 : idat_at + 8 + length // 2])
    cut = source[:idat_at] + short + png_chunk(b"IEND", b"")
    assert reason_of(cut)[0] in (Reason.TRUNCATED, Reason.UNDECODABLE)


# --- HEIC ----------------------------------------------------------------------------------------------


def heic(image: Image.Image, orientation: int = 1) -> bytes:
    pillow_heif.register_heif_opener()
    xmp = b"<x:xmpmeta><exif:GPSLatitude>51N</exif:GPSLatitude></x:xmpmeta>"
    return save(image, "HEIF", quality=90, exif=exif_bytes(orientation, gps=True), xmp=xmp)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_heic_is_stored_as_an_upright_jpeg_without_metadata(orientation: int) -> None:
    # Given an iPhone-style HEIC: stored pixels plus irot/imir (pillow-heif writes them from the Exif tag)
    stored = scene((96, 64))
    source = heic(stored, orientation)
    assert "Exif" in has_metadata(source)
    # When it is normalised
    result = normalise(source)
    # Then it is a JPEG with the pixels upright, the orientation reported, and no metadata
    expected = stored.transpose(TRANSPOSE[orientation]) if orientation != 1 else stored
    assert (result.extension, result.content_type, result.source_format) == ("jpg", "image/jpeg", "heif")
    assert result.orientation == orientation == read_orientation(source)
    assert (result.size.width, result.size.height) == expected.size
    assert (result.stored_size.width, result.stored_size.height) == (96, 64)
    assert not result.lossless
    assert has_metadata(result.data) == []
    difference = np.abs(decoded(result.data) - np.asarray(expected, dtype=np.float64))
    assert difference.mean() < 4
    assert normalise(result.data).data == result.data


def test_heic_with_alpha_is_flattened_over_white() -> None:
    image = scene().convert("RGBA")
    image.paste((0, 0, 0, 0), (0, 0, 20, 20))
    result = normalise(heic(image))
    assert decoded(result.data)[2:18, 2:18].mean() > 245


def test_broken_or_oversize_heic_is_refused() -> None:
    source = heic(scene((256, 192)))
    assert reason_of(source, max_pixels=10_000)[0] is Reason.TOO_MANY_PIXELS
    reason, message = reason_of(source[: len(source) // 2])
    assert reason in (Reason.UNDECODABLE, Reason.TRUNCATED)
    assert "HEIF" in message


def test_cmyk_and_grayscale_jpegs() -> None:
    cmyk = normalise(save(scene().convert("CMYK"), "JPEG", quality=95))
    assert not cmyk.lossless and cmyk.size.depth == 3
    with Image.open(io.BytesIO(cmyk.data)) as out:
        assert out.mode == "RGB"
    gray = normalise(save(scene().convert("L"), "JPEG", exif=exif_bytes(8)))
    assert gray.size == ImageSize(64, 96, 1)
    with Image.open(io.BytesIO(gray.data)) as out:
        assert out.mode == "L"


def test_a_refusal_is_the_domain_error_the_ingest_already_catches() -> None:
    with pytest.raises(RejectedFile) as caught:
        normalise_image(b"", **LIMITS)
    assert isinstance(caught.value, ImageRejected)
    assert caught.value.details is None  # the ingest reads `details` as its list of box problems
    assert caught.value.status == 422


def test_header_readers_never_raise_on_garbage() -> None:
    for data in (b"", b"\xff\xd8", b"\x89PNG\r\n\x1a\n\x00", b"\x00\x00\x00\x10ftypheic\x00\x00\x00\x00", b"hello"):
        assert read_orientation(data) == 1
        assert isinstance(has_metadata(data), list)
