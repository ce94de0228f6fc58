"""Image normalisation for the ingest: one upright, metadata-free image per upload, or the reason it is refused.

What each upload becomes (the decisions are recorded in docs/decisions.md, 2026-11-26):

- **Upright JPEG** (Exif orientation 1 or none): rebuilt at the marker level by `authentic.jpeg`, never
  re-encoded: the stored pixels are the uploaded ones, bit for bit. The structural walk is the validity check:
  about 0.3-0.5 ms of CPU per MB, where a full decode of a 12 MP photo costs 15-45 ms and a 1/8-scale draft decode
  10-30 ms, and both catch less (a scan cut short and closed with EOI decodes "fine" with a grey band).
- **Rotated or mirrored JPEG** (orientation 2-8): decoded, transposed, and re-encoded with the source's own
  quantisation tables. For the four orientations that swap the axes, the tables are transposed too (the DCT
  coefficient (u, v) of a block becomes (v, u)), so when the block grid survives the move, the re-quantisation
  is close to lossless. When a partial edge block moves to the origin the grid shifts and re-encoding is a
  true second generation, so each table entry is then capped at the IJG quality-95 table's. Chroma
  subsampling is the source's own: 4:2:0 stays 4:2:0, and 4:2:2 (chroma halved across) stays 4:2:2 after a
  quarter turn too, because its transpose, 4:4:0, is not something Pillow can write: as many chroma samples
  as the source has, resampled, rather than 4:4:4's twice as many to encode. The ICC profile is kept.
- **PNG**: rebuilt at the chunk level by `authentic.png` and stored as PNG (lossless); an eXIf orientation
  is applied by transposing and re-saving the pixels, still losslessly.
- **HEIC/HEIF** (iPhone): decoded by pillow-heif, which applies the container's irot/imir transformations
  (authoritative in HEIF; the Exif orientation tag is ignored, as Apple and browsers do), and stored as a
  JPEG at quality 95 with the source's chroma subsampling (iPhone: 4:2:0) and its ICC profile.

Every output is canonical: normalising an output again returns the same bytes (a re-encoded JPEG is
Pillow's output as it is, which the walker would not change; its headers are checked for metadata). No
Exif, XMP, IPTC, GPS or comment survives; the ICC profile (colour, not identifying) does.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import pillow_heif
from PIL import Image

from authentic.media import jpeg, png
from authentic.media.geometry import TRANSPOSE, TRANSPOSING, ImageSize
from authentic.media.rejections import ACCEPTED, MB, Reason, check_pixels, rejected

SourceFormat = Literal["jpeg", "png", "heif"]
HEIF_QUALITY = 95


# ITU T.81 Annex K tables (natural order) at IJG quality 95: the coarsest step a re-encode may use when the
# block grid moves.
_ANNEX_K_LUMA = (
    *(16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55),
    *(14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62),
    *(18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92),
    *(49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99),
)
_ANNEX_K_CHROMA = (
    *(17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99),
    *(24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99),
    *(99,) * 32,
)


def _ijg_scaled(table: Sequence[int], quality: int) -> tuple[int, ...]:
    scale = 200 - 2 * quality if quality >= 50 else 5000 // quality
    return tuple(min(255, max(1, (value * scale + 50) // 100)) for value in table)


CAP_LUMA = _ijg_scaled(_ANNEX_K_LUMA, 95)
CAP_CHROMA = _ijg_scaled(_ANNEX_K_CHROMA, 95)
# Pillow's `subsampling` codes and the (across, down) luma samples per chroma sample each one keeps.
_SUBSAMPLINGS = ((2, (2, 2)), (1, (2, 1)), (0, (1, 1)))


@dataclass(frozen=True)
class NormalisedImage:
    data: bytes  # the bytes to store in the dataset
    extension: str  # "jpg" or "png"
    content_type: str  # "image/jpeg" or "image/png"
    source_format: SourceFormat  # "jpeg", "png", "heif"
    stored_size: ImageSize  # size of the stored (uploaded) pixels, before orientation
    size: ImageSize  # upright size of `data`
    orientation: int  # the Exif orientation that was applied (1 if none)
    lossless: bool  # True when `data` decodes to exactly the source's pixels (oriented): nothing re-quantised

    @functools.cached_property
    def sha256(self) -> str:
        """Hex digest of `data`: the dataset's identity for duplicates. Computed on first use, since hashing
        costs more than the whole byte-level normalisation of an upright photo and not every caller needs it."""
        return hashlib.sha256(self.data).hexdigest()


def normalise_image(data: bytes, *, max_bytes: int, max_pixels: int) -> NormalisedImage:
    """The upright, metadata-free image to store for an upload. Raises `RejectedFile` with the reason."""
    if not data:
        raise rejected(Reason.EMPTY, "the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise rejected(Reason.TOO_LARGE, f"the file is {len(data) / MB:.1f} MB, over the {max_bytes / MB:.1f} MB limit")
    handler: dict[SourceFormat, Callable[[bytes, int], NormalisedImage]] = {
        "jpeg": _normalise_jpeg,
        "png": _normalise_png,
        "heif": _normalise_heif,
    }
    return handler[sniff(data)](data, max_pixels)


def read_orientation(data: bytes) -> int:
    """The orientation `normalise_image` would apply, from the headers only; 1 when absent or invalid."""
    if data.startswith(b"\xff\xd8"):
        return jpeg.read_orientation(data)
    if data.startswith(png.SIGNATURE):
        return png.read_orientation(data)
    if _ftyp_brands(data):
        try:
            with _open(data, "HEIF") as im:
                return _heif_orientation(im)
        except Exception:  # best effort by contract
            return 1
    return 1


def has_metadata(data: bytes) -> list[str]:
    """Names of the metadata in an image: Exif, GPS, XMP, IPTC, comment, vendor segments, trailing data."""
    if data.startswith(b"\xff\xd8"):
        return jpeg.metadata(data)
    if data.startswith(png.SIGNATURE):
        return png.metadata(data)
    if _ftyp_brands(data):
        try:
            with _open(data, "HEIF") as im:
                return [name for key, name in (("exif", "Exif"), ("xmp", "XMP")) if im.info.get(key)]
        except Exception:  # a report, not a check
            return ["unreadable structure"]
    return []


# --- format detection ---------------------------------------------------------------------------------

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"})
_VIDEO_BRANDS = frozenset({b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"M4A ", b"3gp4", b"3gp5", b"dash"})
_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "BigTIFF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\xff\x0a", "JPEG XL"),
    (b"8BPS", "Photoshop (PSD)"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"BM", "BMP"),
)
_NOT_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


def _ftyp_brands(data: bytes) -> tuple[bytes, ...]:
    """An ISO-BMFF file's major and compatible brands (HEIF, AVIF, MP4...); empty when it is not one."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return ()
    size = min(int.from_bytes(data[:4], "big"), len(data), 4096)
    brands = [data[8:12]] + [data[at : at + 4] for at in range(16, size - 3, 4)]
    return tuple(brands)


def _unsupported(name: str) -> Exception:
    return rejected(Reason.UNSUPPORTED_FORMAT, f"the file is a {name} image, which is not accepted; upload {ACCEPTED}")


def sniff(data: bytes) -> SourceFormat:
    """The accepted format of an upload from its first bytes; raises `RejectedFile` naming what was found."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(png.SIGNATURE):
        return "png"
    brands = _ftyp_brands(data)
    if brands:
        return _sniff_iso_media(data, brands)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        raise _unsupported("WebP")
    for magic, name in _UNSUPPORTED:
        if data.startswith(magic):
            raise _unsupported(name)
    head = data[:512].lstrip()
    if (head[:5].lower() == b"<?xml" and b"<svg" in data[:4096].lower()) or head[:4].lower() == b"<svg":
        raise _unsupported("SVG")
    for magic, what in _NOT_IMAGES:
        if data.startswith(magic):
            raise _not_an_image(data, what)
    raise _not_an_image(data, _text_or_binary(head))


def _sniff_iso_media(data: bytes, brands: tuple[bytes, ...]) -> SourceFormat:
    if brands[0] in (b"avif", b"avis"):
        raise _unsupported("AVIF")
    if _HEIF_BRANDS.intersection(brands):
        return "heif"
    if b"avif" in brands:
        raise _unsupported("AVIF")
    if b"crx " in brands:
        raise _unsupported("Canon raw (CR3)")
    if _VIDEO_BRANDS.intersection(brands):
        raise _not_an_image(data, "an MP4/QuickTime video")
    raise _not_an_image(data, f"an ISO media file of brand {brands[0].decode('latin-1')!r}")


def _text_or_binary(head: bytes) -> str:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "unrecognised binary data"
    lowered = text.lower()
    if "<html" in lowered or "<!doctype html" in lowered:
        return "an HTML page"
    if lowered.startswith(("{", "[")):
        return "JSON text"
    return "text" if text.isprintable() or text.replace("\n", "").replace("\r", "").isprintable() else "binary data"


def _not_an_image(data: bytes, what: str) -> Exception:
    first = data[:8].hex(" ")
    return rejected(
        Reason.NOT_AN_IMAGE,
        f"the file is not an image: its content looks like {what}, not {ACCEPTED} (it begins with {first})",
    )


# --- JPEG ----------------------------------------------------------------------------------------------


def _normalise_jpeg(data: bytes, max_pixels: int) -> NormalisedImage:
    stream = jpeg.rebuild(data)
    frame, orientation = stream.frame, stream.orientation
    check_pixels(frame.width, frame.height, max_pixels, "JPEG")
    depth = 1 if len(frame.components) == 1 else 3
    stored = ImageSize(frame.width, frame.height, depth)
    upright = stored.transposed if orientation in TRANSPOSING else stored
    if orientation == 1 and len(frame.components) != 4:
        return _result(stream.data, "jpeg", "jpeg", stored=stored, size=upright, orientation=orientation, lossless=True)
    encoded = _reencode_jpeg(stream)
    return _result(encoded, "jpeg", "jpeg", stored=stored, size=upright, orientation=orientation, lossless=False)


def _reencode_jpeg(stream: jpeg.JpegStream) -> bytes:
    frame, orientation = stream.frame, stream.orientation
    options: dict[str, Any]
    if len(frame.components) == 4:
        # CMYK/YCCK: the training data is RGB; its tables and ICC profile describe ink, so neither carries over.
        options = {"quality": 95, "subsampling": 0}
    else:
        options = {"qtables": requantisation_tables(stream), "subsampling": output_subsampling(frame, orientation)}
        if stream.icc_profile:
            options["icc_profile"] = stream.icc_profile
    with _open(stream.data, "JPEG") as im:
        _load(im, "JPEG")
        upright = im.convert("RGB") if im.mode == "CMYK" else im
        if orientation in TRANSPOSE:
            upright = upright.transpose(TRANSPOSE[orientation])
        return _save_jpeg(upright, options)


def requantisation_tables(stream: jpeg.JpegStream) -> list[tuple[int, ...]]:
    """One quantisation table per component (Pillow's order) for re-encoding the oriented pixels."""
    frame, orientation = stream.frame, stream.orientation
    tables = [stream.qtables[c.tq] for c in frame.components]
    if orientation in TRANSPOSING:
        tables = [tuple(t[col * 8 + row] for row in range(8) for col in range(8)) for t in tables]
    if not grid_survives(frame, orientation):
        caps = [CAP_LUMA] + [CAP_CHROMA] * (len(tables) - 1)
        tables = [tuple(map(min, t, cap)) for t, cap in zip(tables, caps, strict=True)]
    return tables


def grid_survives(frame: jpeg.Frame, orientation: int) -> bool:
    """Whether the MCU grid maps onto itself: the edges that move to the origin are whole MCUs."""
    mcu_w, mcu_h = frame.mcu_size
    right_edge_moves = orientation in (2, 3, 7, 8)
    bottom_edge_moves = orientation in (3, 4, 6, 7)
    return not ((right_edge_moves and frame.width % mcu_w) or (bottom_edge_moves and frame.height % mcu_h))


def output_subsampling(frame: jpeg.Frame, orientation: int) -> int:
    """Pillow's subsampling code for the source's own chroma subsampling, after the orientation."""
    across, down = frame.chroma_ratio()
    return _subsampling_for(across, down, transposed=orientation in TRANSPOSING)


def _subsampling_for(across: int, down: int, *, transposed: bool) -> int:
    """The layout turned with the pixels where Pillow can write it (4:4:0 becomes 4:2:2); otherwise, as for
    4:2:2 turned into 4:4:0, which Pillow cannot write, the source's own layout: the same chroma samples per
    pixel, as many as the source has, and no more to encode."""
    if transposed and any((h, v) == (down, across) for _, (h, v) in _SUBSAMPLINGS):
        across, down = down, across
    return next(code for code, (h, v) in _SUBSAMPLINGS if h <= across and v <= down)


def _save_jpeg(im: Image.Image, options: dict[str, Any]) -> bytes:
    """Encode with nothing of the source's info. Pillow's output is already canonical (JFIF, the ICC profile
    when given, tables, frame, scan: `jpeg.rebuild` returns it unchanged, which the tests pin), so only its
    headers are checked here rather than walking the new scan data again."""
    im.info = {}  # nothing of the source's info (comments, Exif) may reach the encoder
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", **options)
    data = buffer.getvalue()
    if leaked := jpeg.header_metadata(data):
        raise RuntimeError(f"the JPEG encoder wrote metadata into a normalised image: {', '.join(leaked)}")
    return data


# --- PNG -----------------------------------------------------------------------------------------------


def _normalise_png(data: bytes, max_pixels: int) -> NormalisedImage:
    stream = png.rebuild(data)
    check_pixels(stream.width, stream.height, max_pixels, "PNG")
    orientation = stream.orientation
    stored = ImageSize(stream.width, stream.height, stream.channels)
    upright = stored.transposed if orientation in TRANSPOSING else stored
    with _open(stream.data, "PNG") as im:
        _load(im, "PNG")  # a PNG is verified by decoding it: its zlib stream has no cheaper end-to-end check
        if orientation == 1:
            return _result(stream.data, "png", "png", stored=stored, size=upright, orientation=1, lossless=True)
        rotated = im.transpose(TRANSPOSE[orientation])
        options: dict[str, Any] = {
            key: im.info[key] for key in ("icc_profile", "transparency") if im.info.get(key) is not None
        }
    rotated.info = {}
    buffer = io.BytesIO()
    rotated.save(buffer, "PNG", **options)
    encoded = buffer.getvalue()
    ihdr_end = len(png.SIGNATURE) + 25
    spliced = encoded[:ihdr_end] + b"".join(stream.colour_chunks) + encoded[ihdr_end:]
    # Pillow reads 16-bit colour PNGs as 8-bit: only those lose anything when re-saved.
    lossless = stream.bit_depth <= 8 or stream.color_type == 0
    return _result(
        png.rebuild(spliced).data, "png", "png", stored=stored, size=upright, orientation=orientation, lossless=lossless
    )


# --- HEIF ----------------------------------------------------------------------------------------------


@cache
def _heif_opener() -> None:
    pillow_heif.register_heif_opener()


def _heif_orientation(im: Image.Image) -> int:
    """The Exif orientation equivalent to the irot/imir transformations libheif applies when decoding."""
    heif_file = getattr(im, "_heif_file", None)
    try:
        transforms = heif_file[im.tell()]._c_image.transformations if heif_file is not None else None
    except (AttributeError, IndexError, TypeError):
        transforms = None
    if transforms is None:  # pillow-heif without the transformations: trust the Exif tag it read
        original = im.info.get("original_orientation")
        return original if isinstance(original, int) and 1 <= original <= 8 else 1
    probe = Image.frombytes("L", (3, 2), bytes(range(6)))
    moved = probe
    turns = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
    for name, *args in transforms:
        if name == "irot" and args and args[0] in turns:
            moved = moved.transpose(turns[args[0]])
        elif name == "imir" and args:
            moved = moved.transpose(
                Image.Transpose.FLIP_LEFT_RIGHT if args[0] == 1 else Image.Transpose.FLIP_TOP_BOTTOM
            )
    for orientation, method in TRANSPOSE.items():
        candidate = probe.transpose(method)
        if candidate.size == moved.size and candidate.tobytes() == moved.tobytes():
            return orientation
    return 1


def _normalise_heif(data: bytes, max_pixels: int) -> NormalisedImage:
    with _open(data, "HEIF") as im:
        check_pixels(im.width, im.height, max_pixels, "HEIF image")
        orientation = _heif_orientation(im)
        chroma = im.info.get("chroma", 420)
        icc = im.info.get("icc_profile")
        _load(im, "HEIF")
        upright = _flatten(im)
    size = ImageSize(upright.width, upright.height, 1 if upright.mode == "L" else 3)
    stored = size.transposed if orientation in TRANSPOSING else size
    # libheif has already turned the pixels, so the chroma ratio is judged in the stored frame and transposed.
    across, down = {444: (1, 1), 422: (2, 1)}.get(chroma, (2, 2))
    options: dict[str, Any] = {
        "quality": HEIF_QUALITY,
        "subsampling": _subsampling_for(across, down, transposed=orientation in TRANSPOSING),
    }
    if icc:
        options["icc_profile"] = icc
    encoded = _save_jpeg(upright, options)
    return _result(encoded, "jpeg", "heif", stored=stored, size=size, orientation=orientation, lossless=False)


def _flatten(im: Image.Image) -> Image.Image:
    """RGB or L pixels; transparency is composited over white (a JPEG has no alpha)."""
    if im.mode in ("RGB", "L"):
        return im.copy()
    if "A" in im.getbands():
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        background.alpha_composite(im.convert("RGBA"))
        return background.convert("RGB")
    return im.convert("RGB")


# --- shared --------------------------------------------------------------------------------------------


# What Pillow and pillow-heif raise on a bad file (libheif's security limits arrive as RuntimeError).
_DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, Image.DecompressionBombError)


def _open(data: bytes, fmt: str) -> Image.Image:
    if fmt == "HEIF":
        _heif_opener()
    try:
        return Image.open(io.BytesIO(data), formats=[fmt])
    except _DECODER_ERRORS as exc:
        raise rejected(Reason.UNDECODABLE, f"the {fmt} image could not be read: {exc}") from exc


def _load(im: Image.Image, fmt: str) -> None:
    """Decode every pixel; Pillow's LOAD_TRUNCATED_IMAGES stays False, so a short stream raises."""
    try:
        im.load()
    except _DECODER_ERRORS as exc:
        reason = Reason.TRUNCATED if "truncated" in str(exc) else Reason.UNDECODABLE
        raise rejected(reason, f"the {fmt} image could not be decoded: {exc}") from exc


def _result(
    data: bytes,
    kind: Literal["jpeg", "png"],
    source_format: SourceFormat,
    *,
    stored: ImageSize,
    size: ImageSize,
    orientation: int,
    lossless: bool,
) -> NormalisedImage:
    return NormalisedImage(
        data=data,
        extension="jpg" if kind == "jpeg" else "png",
        content_type=f"image/{kind}",
        source_format=source_format,
        stored_size=stored,
        size=size,
        orientation=orientation,
        lossless=lossless,
    )
