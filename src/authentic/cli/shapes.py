"""A brand whose two products a tiny detector tells apart after a minute of training on a CPU: a red box with a
white label band (genuine) and a blue oval with the same band (counterfeit), on light, textured backgrounds among
unrelated green triangles and grey discs that are never labelled.

The shopper page's browser tests and its benchmark use it. They test the page and the path of a photo through
the platform, not the detector, so the detector's part must be quick to train and certain in its answers; the
demo's brand (`authentic.cli.synthetic`) is the realistic one. Deterministic for a seed; Pillow and NumPy only.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw

from authentic.annotations.model import Annotation, Box, Category
from authentic.cli import flows
from authentic.cli.client import ApiClient
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import ImageSize

Kind = Literal["genuine", "counterfeit"]
GENUINE, COUNTERFEIT = 0, 1
CATEGORIES = (Category(GENUINE, "acme-box", "genuine"), Category(COUNTERFEIT, "acme-box-fake", "counterfeit"))
_CLASS_OF: dict[Kind, int] = {"genuine": GENUINE, "counterfeit": COUNTERFEIT}
_RED, _BLUE, _BAND = (205, 30, 35), (35, 60, 200), (245, 245, 240)
_SIDEWAYS = 6  # Exif orientation: stored turned 90° counter-clockwise, shown turned back

# Enough to learn the two shapes for certain (mAP50 above 0.95 in every run so far): 32 photos, 15 epochs at
# 96 px, batch 2 (about 200 optimizer steps); one to three minutes on two cores.
PHOTOS = 32
# A tiny brand trained in a minute for the page's tests and bench.shopper, which need each verdict: its threshold is
# the F1 one (max_background_rate 1), since raising it for unrelated photos makes such a model's genuine photos
# inconclusive (docs/training.md measures that trade on real photos).
TRAINING = {"epochs": "15", "imgsz": "96", "batch": "2", "seed": "0", "max_background_rate": "1"}


@dataclass(frozen=True)
class Product:
    kind: Kind
    left: int
    top: int
    width: int
    height: int

    @property
    def box(self) -> Box:
        return Box(_CLASS_OF[self.kind], self.left, self.top, self.width, self.height)


def background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A light surface: a two-colour gradient with fine grain, bright enough and sharp enough for the page's
    quality gate."""
    top, bottom = rng.integers(150, 235, size=3), rng.integers(150, 235, size=3)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    pixels = top * (1 - t) + bottom * t + rng.normal(0, 6, size=(height, width, 1))
    return Image.fromarray(np.clip(np.broadcast_to(pixels, (height, width, 3)), 0, 255).astype(np.uint8), "RGB")


def distractors(rng: np.random.Generator, image: Image.Image, count: int) -> None:
    """Unrelated things: green triangles and grey discs (never labelled, so the detector learns to ignore them)."""
    pen = ImageDraw.Draw(image)
    short = min(image.size)
    for _ in range(count):
        size = int(short * rng.uniform(0.12, 0.3))
        x = int(rng.integers(0, max(1, image.width - size)))
        y = int(rng.integers(0, max(1, image.height - size)))
        if rng.random() < 0.5:
            pen.polygon([(x, y + size), (x + size, y + size), (x + size // 2, y)], fill=(40, 150, 60))
        else:
            grey = int(rng.integers(60, 120))
            pen.ellipse((x, y, x + size, y + size), fill=(grey, grey, grey))


def draw_product(image: Image.Image, product: Product) -> None:
    pen = ImageDraw.Draw(image)
    left, top = product.left, product.top
    right, bottom = left + product.width - 1, top + product.height - 1
    if product.kind == "genuine":
        pen.rounded_rectangle((left, top, right, bottom), radius=max(2, product.width // 10), fill=_RED)
    else:
        pen.ellipse((left, top, right, bottom), fill=_BLUE)
    band = max(2, product.height // 7)
    middle = top + product.height // 2
    pen.rectangle((left + product.width // 5, middle - band, right - product.width // 5, middle + band), fill=_BAND)


def scene(width: int, height: int, products: list[Product], *, seed: int, clutter: int | None = None) -> Image.Image:
    """A photo of the products where they say, drawn over `clutter` unrelated objects (default: 0 to 2)."""
    rng = np.random.default_rng(seed)
    image = background(rng, width, height)
    distractors(rng, image, int(rng.integers(0, 3)) if clutter is None else clutter)
    for product in products:
        draw_product(image, product)
    return image


def one_product(kind: Kind, width: int, height: int, *, seed: int, scale: float = 0.4) -> tuple[Image.Image, Product]:
    """A shopper's photo: one product near the middle, filling about `scale` of the short side."""
    rng = np.random.default_rng(seed)
    size = int(min(width, height) * scale)
    product_w = size if kind == "counterfeit" else int(size * 0.8)
    left = (width - product_w) // 2 + int(rng.integers(-width // 8, width // 8 + 1))
    top = (height - size) // 2 + int(rng.integers(-height // 8, height // 8 + 1))
    product = Product(kind, left, top, product_w, size)
    return scene(width, height, [product], seed=seed, clutter=0), product


def unrelated(width: int, height: int, *, seed: int) -> Image.Image:
    """A photo with none of the brand's products: only unrelated objects."""
    return scene(width, height, [], seed=seed, clutter=5)


def random_products(rng: np.random.Generator, width: int, height: int) -> list[Product]:
    """One to three products of random kinds and sizes that do not overlap."""
    products: list[Product] = []
    wanted = int(rng.integers(1, 4))
    for _ in range(wanted * 8):
        if len(products) == wanted:
            break
        kind: Kind = "counterfeit" if rng.random() < 0.5 else "genuine"
        size = int(min(width, height) * rng.uniform(0.22, 0.5))
        product_w = size if kind == "counterfeit" else int(size * rng.uniform(0.7, 0.9))
        left = int(rng.integers(0, width - product_w))
        top = int(rng.integers(0, height - size))
        candidate = Product(kind, left, top, product_w, size)
        if not any(_overlap(candidate, other) for other in products):
            products.append(candidate)
    return products


def write_brand(folder: Path, *, images: int, seed: int, size: tuple[int, int] = (320, 240)) -> list[Path]:
    """`images` annotated photos (`shape-NNNN.jpg` + `.json`, the canonical format) for upload through the API;
    every fourth one is stored sideways (Exif 6) with its boxes in upright pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(images):
        width, height = size if index % 3 else size[::-1]
        products = random_products(rng, width, height)
        image = scene(width, height, products, seed=int(rng.integers(0, 2**31)), clutter=int(rng.integers(0, 3)))
        path = folder / f"shape-{index:04d}.jpg"
        path.write_bytes(jpeg(image, quality=int(rng.integers(80, 95)), sideways=index % 4 == 3))
        annotation = Annotation(path.name, ImageSize(width, height, 3), tuple(p.box for p in products), CATEGORIES)
        path.with_suffix(".json").write_text(json.dumps(annotation.to_seed_json()))
        paths.append(path)
    return paths


def upload_and_train(client: ApiClient, brand: str, folder: Path, *, seed: int = 1) -> dict[str, Any]:
    """Write the brand's photos to `folder`, upload them through the API, train and wait for the promotion:
    the training job as the API describes it at the end (`state`, `version`, `gate`, ...)."""
    write_brand(folder, images=PHOTOS, seed=seed)
    report = flows.import_folder(client, brand, folder, "seed")
    if report.rejected or report.pending or len(report.accepted) != PHOTOS:
        raise RuntimeError(f"ingest did not accept every photo: {report}")
    return flows.train_and_wait(client, brand, TRAINING, timeout=1800)


def jpeg(image: Image.Image, *, quality: int = 90, sideways: bool = False) -> bytes:
    """JPEG bytes of an upright image; `sideways` stores it turned, with Exif orientation 6, as phones do."""
    out = io.BytesIO()
    if sideways:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = _SIDEWAYS
        image.transpose(Image.Transpose.ROTATE_90).save(out, "JPEG", quality=quality, exif=exif.tobytes())
    else:
        image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _overlap(a: Product, b: Product, margin: int = 4) -> bool:
    return not (
        a.left + a.width + margin <= b.left
        or b.left + b.width + margin <= a.left
        or a.top + a.height + margin <= b.top
        or b.top + b.height + margin <= a.top
    )
