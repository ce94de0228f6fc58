"""Synthetic brand photos: a genuine product and its counterfeit, on varied backgrounds, light and scale.

Used by the tests, the benchmarks and the demo, so it is deterministic for a seed and needs nothing but Pillow
and NumPy. The product is a packaged item (a box or a bottle) in the brand's navy with a printed logo: a gold
disc holding a red triangle pointing up over a white name band. The counterfeit copies the package but misprints
the logo: a paler, greener disc, the triangle upside down and the name band shifted and shortened, on a
slightly different navy. Each photo holds one to four products, some cut by the image edge, among unrelated
objects, with random lighting, colour cast, noise, blur and JPEG quality.

Photos are written as `<name>.jpg` plus `<name>.json` in the canonical annotation format (boxes in upright
pixels). `sideways_fraction` stores some photos as a phone does: pixels rotated, Exif Orientation 6, annotation
in upright coordinates with the upright `image_size`.

`barcode_label` prints a barcode as a package carries it (an EAN-13, UPC-A, UPC-E or EAN-8 with its digits under
the bars, or a QR code with a GS1 Digital Link), drawn by zxing-cpp's writer; `render_with_barcode` puts one on
a product, or beside it, for the registry's checks.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

from authentic.annotations.model import Annotation, Box, Category
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import ImageSize
from authentic.training.container.channel import write_channel
from authentic.training.manifest import Manifest

GENUINE = 0
COUNTERFEIT = 1
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category(GENUINE, "genuine", "genuine"),
    Category(COUNTERFEIT, "counterfeit", "counterfeit"),
)
_ROTATED_ORIENTATION = 6  # stored pixels turned 90° counter-clockwise; viewers turn them clockwise
_MIN_VISIBLE_PX = 8
_MIN_VISIBLE_FRACTION = 0.5
_Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Sample:
    """One rendered photo: upright pixels and its boxes (pixels, top-left origin)."""

    image: Image.Image
    boxes: tuple[Box, ...]

    @property
    def size(self) -> ImageSize:
        return ImageSize(self.image.width, self.image.height, 3)


# ---------------------------------------------------------------------------------------------------------------
# Public API


def generate_brand(
    out_dir: Path,
    *,
    n_images: int,
    seed: int,
    image_size: int = 320,
    sideways_fraction: float = 0.0,
    categories: Sequence[Category] = DEFAULT_CATEGORIES,
    prefix: str = "photo",
) -> list[Path]:
    """Write `n_images` annotated photos (`<prefix>-NNNN.jpg` + `.json`) and return the image paths.

    `categories` names the two classes (genuine first, counterfeit second); `image_size` is the long side.
    """
    _check_args(n_images=n_images, image_size=image_size, fraction=sideways_fraction)
    genuine, counterfeit = _two_categories(categories)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_sideways = round(n_images * sideways_fraction)
    sideways = set(rng.choice(n_images, size=n_sideways, replace=False).tolist()) if n_sideways else set()
    paths: list[Path] = []
    for index in range(n_images):
        sample = render_sample(rng, image_size=image_size, class_ids=(genuine.class_id, counterfeit.class_id))
        name = f"{prefix}-{index:04d}.jpg"
        quality = int(rng.integers(72, 96))
        data = encode_jpeg(sample.image, quality=quality, sideways=index in sideways)
        path = out_dir / name
        path.write_bytes(data)
        annotation = Annotation(name, sample.size, sample.boxes, (genuine, counterfeit))
        path.with_suffix(".json").write_text(json.dumps(annotation.to_seed_json(), indent=1))
        paths.append(path)
    return paths


def write_training_channel(
    channel_dir: Path,
    *,
    n_images: int,
    seed: int,
    image_size: int = 320,
    brand_id: str = "synthetic",
    categories: Sequence[Category] = DEFAULT_CATEGORIES,
    duplicates: int = 0,
) -> Manifest:
    """Write a ready training channel as SageMaker lays out the finish route's ManifestFile (the manifest under
    `manifests/`, the images and annotations under `objects/`, named by their SHA-256): upright, metadata-free
    JPEGs and canonical annotations, as ingest leaves them.

    `duplicates` re-uploads that many of the photos under new pair ids (same bytes, so the same sha256), as a
    brand that uploads one photo twice does.
    """
    _check_args(n_images=n_images, image_size=image_size, fraction=0.0)
    if not 0 <= duplicates <= n_images:
        raise ValueError(f"duplicates must be between 0 and n_images ({n_images}), got {duplicates}")
    genuine, counterfeit = _two_categories(categories)
    cats = (genuine, counterfeit)
    rng = np.random.default_rng(seed)
    rendered: list[tuple[bytes, Sample]] = []
    for _ in range(n_images):
        sample = render_sample(rng, image_size=image_size, class_ids=(genuine.class_id, counterfeit.class_id))
        rendered.append((encode_jpeg(sample.image, quality=int(rng.integers(80, 96))), sample))
    for index in rng.choice(n_images, size=duplicates, replace=False).tolist():
        rendered.append(rendered[index])

    entries: list[tuple[str, bytes, Annotation]] = []
    boxes_per_class: Counter[str] = Counter()
    names = {c.class_id: c.name for c in cats}
    for index, (data, sample) in enumerate(rendered):
        pair_id = hashlib.sha256(f"{brand_id}/{seed}/{index}".encode()).hexdigest()[:32]
        entries.append((pair_id, data, Annotation(f"{pair_id}.jpg", sample.size, sample.boxes, cats)))
        boxes_per_class.update(names[b.class_id] for b in sample.boxes)
    counts = {"images": len(entries), "boxes": dict(sorted(boxes_per_class.items()))}
    manifest = write_channel(channel_dir, entries, brand_id=brand_id, categories=cats, counts=counts)
    return manifest


def render_single(
    path: Path,
    *,
    class_id: int,
    seed: int,
    image_size: int = 320,
    categories: Sequence[Category] = DEFAULT_CATEGORIES,
    sideways: bool = False,
) -> Annotation:
    """Write one held-out photo of a single product (genuine or counterfeit by `class_id`) and its annotation.

    `class_id` must be one of `categories`; the product's look follows that category's role.
    """
    by_id = {c.class_id: c for c in categories}
    if class_id not in by_id:
        raise ValueError(f"class_id {class_id} is not one of the categories {sorted(by_id)}")
    genuine, counterfeit = _two_categories(categories)
    rng = np.random.default_rng(seed)
    width, height = _frame(rng, image_size)
    canvas = _background(rng, width, height)
    _add_distractors(rng, canvas, count=int(rng.integers(0, 3)))
    look = by_id[class_id].effective_role == "counterfeit"
    # The same scale range as the training photos: a held-out photo tests the model, not its extrapolation.
    product = _product(rng, counterfeit=look, size=int(min(width, height) * rng.uniform(0.3, 0.48)))
    x = (width - product.width) // 2 + int(rng.integers(-width // 10, width // 10 + 1))
    y = (height - product.height) // 2 + int(rng.integers(-height // 10, height // 10 + 1))
    box = _paste(canvas, product, x, y, class_id=class_id, rng=rng)
    image = _lighting(rng, canvas)
    data = encode_jpeg(image, quality=int(rng.integers(80, 96)), sideways=sideways)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    boxes = (box,) if box is not None else ()
    annotation = Annotation(path.name, ImageSize(width, height, 3), boxes, (genuine, counterfeit))
    path.with_suffix(".json").write_text(json.dumps(annotation.to_seed_json(), indent=1))
    return annotation


def barcode_label(code: str, *, symbology: str = "EAN-13", module_px: float = 3.0, seed: int = 0) -> Image.Image:
    """A white label with a barcode as printed on a package. `code` is the number without or with its check
    digit (EAN-13: 12 or 13 digits; UPC-A: 11 or 12; UPC-E: 7 or 8; EAN-8: 7 or 8), for "QR" the text (a GS1
    Digital Link URI), for "GS1 DataMatrix" the element strings in their printed form ("(01)...(10)...").
    The bars are drawn at 8 px a module and shrunk to `module_px` with a random sub-pixel phase, as a camera
    samples them (whole-pixel bars would read more easily than a photo's)."""
    formats = {
        "EAN-13": zxingcpp.BarcodeFormat.EAN13,
        "UPC-A": zxingcpp.BarcodeFormat.UPCA,
        "UPC-E": zxingcpp.BarcodeFormat.UPCE,
        "EAN-8": zxingcpp.BarcodeFormat.EAN8,
        "QR": zxingcpp.BarcodeFormat.QRCode,
        "GS1 DataMatrix": zxingcpp.BarcodeFormat.DataMatrix,
    }
    if symbology not in formats:
        raise ValueError(f"symbology {symbology!r} is not one of {', '.join(formats)}")
    if module_px < 1:
        raise ValueError(f"module_px must be at least 1, got {module_px}")
    linear = symbology not in ("QR", "GS1 DataMatrix")
    options = {"gs1": True} if symbology == "GS1 DataMatrix" else {}
    symbol = zxingcpp.create_barcode(code, formats[symbology], **options)
    crisp = Image.fromarray(np.asarray(symbol.to_image(scale=8, add_hrt=linear, add_quiet_zones=True)))
    rng = np.random.default_rng(seed)
    phase = int(rng.integers(0, 8))
    crisp = crisp.crop((phase, 0, crisp.width, crisp.height))
    factor = module_px / 8
    small = crisp.resize(
        (max(1, round(crisp.width * factor)), max(1, round(crisp.height * factor))), Image.Resampling.BOX
    )
    margin = max(4, round(module_px * 3))
    label = Image.new("RGB", (small.width + 2 * margin, small.height + 2 * margin), (248, 248, 244))
    label.paste(small.convert("RGB"), (margin, margin))
    return label


@dataclass(frozen=True)
class BarcodePhoto:
    """A photo written by `render_with_barcode`: the product's box and the label's, in the photo's pixels."""

    product: Box
    label: tuple[int, int, int, int]  # left, top, right, bottom


def render_with_barcode(
    path: Path,
    *,
    code: str,
    class_id: int = GENUINE,
    seed: int = 0,
    image_size: int = 1280,
    symbology: str = "EAN-13",
    module_px: float = 3.0,
    on_product: bool = True,
    categories: Sequence[Category] = DEFAULT_CATEGORIES,
) -> BarcodePhoto:
    """Write a photo of one boxed product (genuine or counterfeit by `class_id`) with a barcode label printed on
    its lower part, or, with `on_product=False`, lying beside it on the table (a shelf label, another item)."""
    by_id = {c.class_id: c for c in categories}
    if class_id not in by_id:
        raise ValueError(f"class_id {class_id} is not one of the categories {sorted(by_id)}")
    rng = np.random.default_rng(seed)
    width, height = image_size, image_size * 3 // 4
    canvas = _background(rng, width, height)
    label = barcode_label(code, symbology=symbology, module_px=module_px, seed=seed)
    look = by_id[class_id].effective_role == "counterfeit"
    size = int(min(height * 0.9, label.width * 1.6))
    product = _boxed_product(rng, counterfeit=look, size=size, width=max(label.width + 24, int(size * 0.9)))
    x = width // 2 - product.width // 2 - (width // 5 if not on_product else 0)
    y = (height - product.height) // 2
    box = _paste(canvas, product, x, y, class_id=class_id, rng=rng)
    if box is None:  # pragma: no cover - the product is placed inside the frame
        raise ValueError("the product fell outside the photo")
    if on_product:
        lx, ly = x + (product.width - label.width) // 2, y + product.height - label.height - product.height // 12
    else:
        lx, ly = min(width - label.width - 8, int(box.right) + 24), (height - label.height) // 2
    canvas.paste(label, (lx, ly))
    image = canvas.filter(ImageFilter.GaussianBlur(0.4))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_jpeg(image, quality=90))
    return BarcodePhoto(box, (lx, ly, lx + label.width, ly + label.height))


def _boxed_product(rng: np.random.Generator, *, counterfeit: bool, size: int, width: int) -> Image.Image:
    """The brand's box, upright (a barcode is printed on it after), `size` tall and `width` wide."""
    layer = Image.new("RGBA", (width, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    body = _jitter(rng, _FAKE_NAVY if counterfeit else _NAVY, 10)
    draw.rounded_rectangle((0, 0, width - 1, size - 1), radius=max(2, width // 16), fill=(*body, 255))
    _shade_body(layer, 0)
    _logo(draw, rng, box=(0, 0, width, size * 3 // 5), counterfeit=counterfeit)
    return layer


def render_unrelated(path: Path, *, seed: int, image_size: int = 320) -> None:
    """Write a photo with no product at all: a background and unrelated objects (the verdict says
    "nothing recognised")."""
    rng = np.random.default_rng(seed)
    width, height = _frame(rng, image_size)
    canvas = _background(rng, width, height)
    _add_distractors(rng, canvas, count=int(rng.integers(3, 7)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_jpeg(_lighting(rng, canvas), quality=88))


def render_sample(
    rng: np.random.Generator, *, image_size: int = 320, class_ids: tuple[int, int] = (GENUINE, COUNTERFEIT)
) -> Sample:
    """Render one upright photo with one to four products (class per product drawn at random)."""
    width, height = _frame(rng, image_size)
    canvas = _background(rng, width, height)
    _add_distractors(rng, canvas, count=int(rng.integers(0, 4)))
    boxes: list[Box] = []
    wanted = int(rng.choice([1, 2, 2, 3, 3, 4]))
    short = min(width, height)
    for _ in range(wanted * 6):  # rejection sampling against overlap
        if len(boxes) == wanted:
            break
        counterfeit = bool(rng.random() < 0.5)
        product = _product(rng, counterfeit=counterfeit, size=int(short * rng.uniform(0.2, 0.48)))
        at_edge = rng.random() < 0.25
        x, y = _position(rng, width, height, product.size, at_edge=at_edge)
        visible = _visible_box(product, x, y, width, height)
        if visible is None or any(_iou(visible, other) > 0.05 for other in boxes):
            continue
        box = _paste(canvas, product, x, y, class_id=class_ids[1] if counterfeit else class_ids[0], rng=rng)
        if box is not None:
            boxes.append(box)
    return Sample(_lighting(rng, canvas), tuple(boxes))


def encode_jpeg(image: Image.Image, *, quality: int = 90, sideways: bool = False) -> bytes:
    """JPEG bytes of an upright image; `sideways` stores it as a phone held sideways (Exif Orientation 6)."""
    buffer = io.BytesIO()
    if sideways:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = _ROTATED_ORIENTATION
        image.transpose(Image.Transpose.ROTATE_90).save(buffer, "JPEG", quality=quality, exif=exif.tobytes())
    else:
        image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# Scene


def _check_args(*, n_images: int, image_size: int, fraction: float) -> None:
    if n_images < 1:
        raise ValueError(f"n_images must be at least 1, got {n_images}")
    if image_size < 64:
        raise ValueError(f"image_size must be at least 64 pixels, got {image_size}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"sideways_fraction must be between 0 and 1, got {fraction}")


def _two_categories(categories: Sequence[Category]) -> tuple[Category, Category]:
    genuine = [c for c in categories if c.effective_role == "genuine"]
    counterfeit = [c for c in categories if c.effective_role == "counterfeit"]
    if len(categories) != 2 or len(genuine) != 1 or len(counterfeit) != 1:
        raise ValueError("categories must be exactly one genuine-role and one counterfeit-role category")
    return genuine[0], counterfeit[0]


def _frame(rng: np.random.Generator, image_size: int) -> tuple[int, int]:
    """Landscape, portrait or square, with `image_size` as the long side."""
    short = int(image_size * float(rng.choice([0.75, 1.0, 0.75])))
    return (image_size, short) if rng.random() < 0.6 else (short, image_size)


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    kind = int(rng.integers(0, 4))
    base = rng.integers(40, 230, size=3).astype(np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == 0:  # two-colour gradient (a wall, a sheet)
        other = rng.integers(40, 230, size=3).astype(np.float32)
        t = (yy / height)[..., None]
        pixels = base * (1 - t) + other * t
    elif kind == 1:  # wood grain
        freq = rng.uniform(0.04, 0.12)
        grain = np.sin(xx * freq + 3 * np.sin(yy * 0.02 + rng.uniform(0, 6))) * 0.5 + 0.5
        wood = np.array([150, 100, 60], np.float32) * rng.uniform(0.6, 1.2)
        pixels = wood * (0.75 + 0.25 * grain[..., None])
    elif kind == 2:  # checked cloth
        cell = int(rng.integers(12, 40))
        checks = ((xx // cell + yy // cell) % 2)[..., None]
        other = rng.integers(40, 230, size=3).astype(np.float32)
        pixels = base * checks + other * (1 - checks)
    else:  # plain, textured
        pixels = np.broadcast_to(base, (height, width, 3)).copy()
    pixels = pixels + rng.normal(0, rng.uniform(2, 10), size=(height, width, 1))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _add_distractors(rng: np.random.Generator, canvas: Image.Image, *, count: int) -> None:
    """Unrelated things on the table: cups, coins, pens, leaves. Never the brand's logo."""
    draw = ImageDraw.Draw(canvas)
    short = min(canvas.size)
    for _ in range(count):
        colour = _rand_colour(rng)
        size = int(short * rng.uniform(0.08, 0.3))
        x = int(rng.integers(-size // 3, canvas.width - size // 2))
        y = int(rng.integers(-size // 3, canvas.height - size // 2))
        kind = int(rng.integers(0, 4))
        if kind == 0:  # a cup seen from above
            draw.ellipse((x, y, x + size, y + size), fill=colour, outline=_shade(colour, 0.6), width=3)
            inner = size // 5
            draw.ellipse((x + inner, y + inner, x + size - inner, y + size - inner), fill=_shade(colour, 0.8))
        elif kind == 1:  # a pen
            draw.line((x, y, x + size, y + size // 3), fill=colour, width=max(3, size // 10))
        elif kind == 2:  # a leaf or a scrap of paper
            points = [
                (
                    x + size * 0.5 * (1 + math.cos(a)) * rng.uniform(0.6, 1.0),
                    y + size * 0.5 * (1 + math.sin(a)),
                )
                for a in np.linspace(0, 2 * math.pi, 7)[:-1]
            ]
            draw.polygon(points, fill=colour)
        else:  # a plain carton, no print
            draw.rectangle((x, y, x + size, y + int(size * rng.uniform(0.5, 1.2))), fill=colour)


def _position(
    rng: np.random.Generator, width: int, height: int, size: tuple[int, int], *, at_edge: bool
) -> tuple[int, int]:
    pw, ph = size
    if not at_edge:
        return int(rng.integers(0, max(1, width - pw))), int(rng.integers(0, max(1, height - ph)))
    # Cut by one side: up to 40% of the product outside the frame.
    side = int(rng.integers(0, 4))
    cut_x, cut_y = int(pw * rng.uniform(0.1, 0.4)), int(ph * rng.uniform(0.1, 0.4))
    x = int(rng.integers(0, max(1, width - pw)))
    y = int(rng.integers(0, max(1, height - ph)))
    if side == 0:
        x = -cut_x
    elif side == 1:
        x = width - pw + cut_x
    elif side == 2:
        y = -cut_y
    else:
        y = height - ph + cut_y
    return x, y


def _visible_box(product: Image.Image, x: int, y: int, width: int, height: int) -> Box | None:
    bbox = product.getchannel("A").point(lambda v: 255 if v > 64 else 0).getbbox()
    if bbox is None:
        return None
    left, top, right, bottom = bbox[0] + x, bbox[1] + y, bbox[2] + x, bbox[3] + y
    full = (right - left) * (bottom - top)
    left, top, right, bottom = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
    if right - left < _MIN_VISIBLE_PX or bottom - top < _MIN_VISIBLE_PX:
        return None
    if (right - left) * (bottom - top) < _MIN_VISIBLE_FRACTION * full:
        return None
    return Box(0, left, top, right - left, bottom - top)


def _paste(
    canvas: Image.Image, product: Image.Image, x: int, y: int, *, class_id: int, rng: np.random.Generator
) -> Box | None:
    """Paste with a soft shadow; return the visible box of the product (its alpha), clipped to the frame."""
    visible = _visible_box(product, x, y, canvas.width, canvas.height)
    if visible is None:
        return None
    alpha = product.getchannel("A")
    shadow = Image.new("L", canvas.size, 0)
    offset = (int(rng.integers(2, 8)), int(rng.integers(2, 8)))
    shadow.paste(alpha.point(lambda v: v * 0.45), (x + offset[0], y + offset[1]))
    shadow = shadow.filter(ImageFilter.GaussianBlur(4))
    canvas.paste(Image.new("RGB", canvas.size, (20, 20, 20)), (0, 0), shadow)
    canvas.paste(product, (x, y), product)
    return Box(class_id, visible.left, visible.top, visible.width, visible.height)


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.right, b.right) - max(a.left, b.left))
    iy = max(0.0, min(a.bottom, b.bottom) - max(a.top, b.top))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _lighting(rng: np.random.Generator, canvas: Image.Image) -> Image.Image:
    """Exposure, a light gradient, colour temperature, sensor noise and sometimes a little blur."""
    pixels = np.asarray(canvas, dtype=np.float32)
    height, width = pixels.shape[:2]
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(angle) * (xx / width - 0.5) + np.sin(angle) * (yy / height - 0.5))[..., None]
    gain = rng.uniform(0.65, 1.25) * (1 + rng.uniform(0.0, 0.5) * ramp)
    cast = np.array([rng.uniform(0.88, 1.12), 1.0, rng.uniform(0.88, 1.12)], np.float32)
    pixels = pixels * gain * cast + rng.normal(0, rng.uniform(1, 7), size=pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    return image


# ---------------------------------------------------------------------------------------------------------------
# The product and its logo

_NAVY: _Colour = (28, 48, 120)
_FAKE_NAVY: _Colour = (40, 52, 104)
_GOLD: _Colour = (232, 184, 48)
_FAKE_GOLD: _Colour = (200, 214, 120)
_RED: _Colour = (200, 30, 40)
_FAKE_RED: _Colour = (226, 88, 60)


def _product(rng: np.random.Generator, *, counterfeit: bool, size: int) -> Image.Image:
    """A package with the brand's print, upright on a transparent layer, tilted a little; `size` is its height."""
    bottle = rng.random() < 0.4
    height = max(size, 24)
    width = int(height * (rng.uniform(0.45, 0.6) if bottle else rng.uniform(0.7, 1.2)))
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    body = _jitter(rng, _FAKE_NAVY if counterfeit else _NAVY, 10)
    top = 0
    if bottle:  # a cap and a shoulder
        cap_w = width // 2
        top = height // 6
        draw.rectangle(((width - cap_w) // 2, 0, (width + cap_w) // 2, top), fill=_jitter(rng, (30, 30, 30), 15))
    radius = max(2, width // 8)
    draw.rounded_rectangle((0, top, width - 1, height - 1), radius=radius, fill=(*body, 255))
    _shade_body(layer, top)
    _logo(draw, rng, box=(0, top, width, height), counterfeit=counterfeit)
    angle = float(rng.uniform(-12, 12))
    return layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)


def _shade_body(layer: Image.Image, top: int) -> None:
    """A soft vertical highlight so the package looks round, not flat."""
    width = layer.width
    pixels = np.asarray(layer, dtype=np.float32).copy()
    x = np.linspace(-1, 1, width, dtype=np.float32)
    light = 1.15 - 0.35 * x**2
    pixels[top:, :, :3] *= light[None, :, None]
    layer.paste(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGBA"))


def _logo(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, *, box: tuple[int, int, int, int], counterfeit: bool
) -> None:
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    diameter = int(min(width, height) * 0.62)
    cx, cy = left + width // 2, top + int(height * 0.4)
    r = diameter // 2
    disc = _jitter(rng, _FAKE_GOLD if counterfeit else _GOLD, 8)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=disc, outline=(250, 250, 250), width=max(1, r // 8))
    t = int(r * 0.62)
    red = _jitter(rng, _FAKE_RED if counterfeit else _RED, 8)
    if counterfeit:  # misprint: the triangle is upside down
        triangle = [(cx - t, cy - t // 2), (cx + t, cy - t // 2), (cx, cy + t)]
    else:
        triangle = [(cx - t, cy + t // 2), (cx + t, cy + t // 2), (cx, cy - t)]
    draw.polygon(triangle, fill=red)
    # The name band: genuine is centred and full width; the counterfeit's is shorter and shifted right.
    band_h = max(3, height // 9)
    band_top = min(bottom - band_h - 2, cy + r + max(2, height // 20))
    margin = width // 6
    if counterfeit:
        shift = width // 8
        band = (left + margin + shift, band_top, right - margin // 2, band_top + band_h)
    else:
        band = (left + margin, band_top, right - margin, band_top + band_h)
    draw.rectangle(band, fill=(245, 245, 240))
    letters = 4 if counterfeit else 5
    span = (band[2] - band[0]) / (letters + 1)
    for i in range(letters):
        lx = band[0] + span * (i + 0.6)
        draw.rectangle((lx, band[1] + 1, lx + span * 0.5, band[3] - 1), fill=(30, 30, 40))


def _jitter(rng: np.random.Generator, colour: _Colour, amount: int) -> _Colour:
    r, g, b = (int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)
    return r, g, b


def _shade(colour: _Colour, factor: float) -> _Colour:
    r, g, b = (int(c * factor) for c in colour)
    return r, g, b


def _rand_colour(rng: np.random.Generator) -> _Colour:
    r, g, b = (int(v) for v in rng.integers(30, 240, size=3))
    return r, g, b
