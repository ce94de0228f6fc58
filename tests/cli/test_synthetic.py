"""The synthetic brand-photo generator: deterministic, valid canonical annotations, varied, phone-like Exif."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from authentic.annotations.checks import check_annotation
from authentic.annotations.model import Category
from authentic.annotations.seed import parse_seed
from authentic.cli.synthetic import (
    COUNTERFEIT,
    GENUINE,
    generate_brand,
    render_sample,
    render_single,
    render_unrelated,
    write_training_channel,
)
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import ImageSize
from authentic.training.manifest import Manifest


def checked(image_path: Path) -> tuple[Image.Image, list[dict[str, Any]], object]:
    """The upright image, its raw boxes, and the annotation as the ingest gate sees it."""
    with Image.open(image_path) as stored:
        orientation = stored.getexif().get(ORIENTATION_TAG, 1)
        size = ImageSize(stored.width, stored.height, 3)
        upright = ImageOps.exif_transpose(stored)
    raw = image_path.with_suffix(".json").read_bytes()
    parsed = parse_seed(raw, source=image_path.name)
    result = check_annotation(parsed, stored=size, orientation=orientation, source=image_path.name)
    return upright, json.loads(raw)["annotations"], result


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path: Path) -> None:
    a = generate_brand(tmp_path / "a", n_images=3, seed=5, image_size=128)
    b = generate_brand(tmp_path / "b", n_images=3, seed=5, image_size=128)
    c = generate_brand(tmp_path / "c", n_images=3, seed=6, image_size=128)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]
    assert [p.with_suffix(".json").read_text() for p in a] == [p.with_suffix(".json").read_text() for p in b]


def test_photos_pass_the_ingest_gate_with_every_box(tmp_path: Path) -> None:
    paths = generate_brand(tmp_path, n_images=24, seed=1, image_size=160)
    for path in paths:
        upright, raw, result = checked(path)
        assert result.problems == (), path.name  # type: ignore[attr-defined]
        assert len(result.annotation.boxes) == len(raw) >= 1  # type: ignore[attr-defined]
        assert max(upright.size) == 160
        doc = json.loads(path.with_suffix(".json").read_text())
        assert doc["file"] == path.name
        assert doc["image_size"] == [{"width": upright.width, "height": upright.height, "depth": 3}]
        assert doc["categories"] == [
            {"class_id": 0, "name": "genuine", "role": "genuine"},
            {"class_id": 1, "name": "counterfeit", "role": "counterfeit"},
        ]


def test_the_set_is_varied_several_boxes_both_classes_edges_and_scales(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    samples = [render_sample(rng, image_size=320) for _ in range(60)]
    boxes = [b for s in samples for b in s.boxes]
    assert sum(len(s.boxes) >= 2 for s in samples) >= 25, "several boxes per image"
    classes = [b.class_id for b in boxes]
    assert 0.3 < classes.count(COUNTERFEIT) / len(classes) < 0.7
    at_edge = [
        b
        for s in samples
        for b in s.boxes
        if b.left <= 0 or b.top <= 0 or b.right >= s.size.width or b.bottom >= s.size.height
    ]
    assert len(at_edge) >= 0.1 * len(boxes), "some products are cut by the image edge"
    heights = [b.height / min(s.size.width, s.size.height) for s in samples for b in s.boxes]
    assert min(heights) < 0.25 < 0.4 < max(heights), "products at several scales"
    assert {s.size.width == s.size.height for s in samples} == {True, False}, "square and oblong frames"
    brightness = [float(np.asarray(s.image).mean()) for s in samples]
    assert max(brightness) - min(brightness) > 40, "varied lighting and backgrounds"


def test_genuine_and_counterfeit_logos_differ_visibly() -> None:
    """The counterfeit's disc is paler and greener: compare mean colours inside the boxes."""
    rng = np.random.default_rng(2)
    means: dict[int, list[np.ndarray]] = {GENUINE: [], COUNTERFEIT: []}
    for _ in range(30):
        sample = render_sample(rng, image_size=320)
        pixels = np.asarray(sample.image, dtype=float)
        for b in sample.boxes:
            crop = pixels[int(b.top) : int(b.bottom), int(b.left) : int(b.right)]
            yellow = crop[(crop[..., 0] > 150) & (crop[..., 1] > 130) & (crop[..., 2] < 150)]
            if len(yellow) > 20:
                means[b.class_id].append(yellow.mean(axis=0))
    genuine, counterfeit = np.mean(means[GENUINE], axis=0), np.mean(means[COUNTERFEIT], axis=0)
    assert counterfeit[1] - genuine[1] > 10, "the counterfeit disc is greener"


def test_sideways_photos_carry_exif_orientation_6_and_upright_annotations(tmp_path: Path) -> None:
    paths = generate_brand(tmp_path, n_images=10, seed=4, image_size=160, sideways_fraction=0.5)
    sideways = 0
    for path in paths:
        with Image.open(path) as stored:
            orientation = stored.getexif().get(ORIENTATION_TAG, 1)
            stored_size = stored.size
        upright, _raw, result = checked(path)
        doc = json.loads(path.with_suffix(".json").read_text())
        declared = (doc["image_size"][0]["width"], doc["image_size"][0]["height"])
        assert declared == upright.size
        assert result.problems == ()  # type: ignore[attr-defined]
        if orientation == 6:
            sideways += 1
            assert stored_size == (upright.height, upright.width)
    assert sideways == 5


def test_sideways_pixels_match_the_upright_scene(tmp_path: Path) -> None:
    """Decoding with the Exif rotation applied gives back the upright photo the boxes were drawn on."""
    upright_path = generate_brand(tmp_path / "up", n_images=1, seed=9, image_size=160)[0]
    sideways_path = generate_brand(tmp_path / "side", n_images=1, seed=9, image_size=160, sideways_fraction=1.0)[0]
    with Image.open(upright_path) as a, Image.open(sideways_path) as b:
        up = np.asarray(a.convert("RGB"), dtype=float)
        turned = np.asarray(ImageOps.exif_transpose(b).convert("RGB"), dtype=float)
    assert up.shape == turned.shape
    assert np.abs(up - turned).mean() < 6  # JPEG noise only


def test_single_product_photo_and_unrelated_photo(tmp_path: Path) -> None:
    annotation = render_single(tmp_path / "fake.jpg", class_id=COUNTERFEIT, seed=3)
    assert [b.class_id for b in annotation.boxes] == [COUNTERFEIT]
    assert (tmp_path / "fake.json").is_file()
    _upright, _raw, result = checked(tmp_path / "fake.jpg")
    assert result.problems == ()  # type: ignore[attr-defined]

    render_unrelated(tmp_path / "mug.jpg", seed=3)
    with Image.open(tmp_path / "mug.jpg") as image:
        assert max(image.size) == 320
    assert not (tmp_path / "mug.json").exists()


def test_brand_specific_category_names(tmp_path: Path) -> None:
    categories = (Category(3, "acme-bottle", "genuine"), Category(7, "acme-knockoff", "counterfeit"))
    path = generate_brand(tmp_path, n_images=4, seed=1, image_size=128, categories=categories)[0]
    doc = json.loads(path.with_suffix(".json").read_text())
    assert {b["class_id"] for b in doc["annotations"]} <= {3, 7}
    with pytest.raises(ValueError, match="class_id 5"):
        render_single(tmp_path / "x.jpg", class_id=5, seed=1, categories=categories)


def test_training_channel_is_what_the_finish_route_writes(tmp_path: Path) -> None:
    manifest = write_training_channel(tmp_path, n_images=6, seed=2, image_size=128, duplicates=2, brand_id="acme")
    loaded = Manifest.load(tmp_path / "manifests" / f"{manifest.manifest_id}.json")
    assert loaded == manifest
    assert loaded.brand_id == "acme"
    assert len(loaded.items) == 8
    hashes = [item.sha256 for item in loaded.items]
    assert len(set(hashes)) == 6, "the re-uploaded photos share their hash"
    assert len({item.image for item in loaded.items}) == 6, "and their object"
    for item in loaded.items:
        data = (tmp_path / item.image).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item.sha256
        with Image.open(tmp_path / item.image) as image:
            assert ORIENTATION_TAG not in image.getexif()
        doc = json.loads((tmp_path / item.annotation).read_text())
        assert doc["annotations"]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_images"):
        generate_brand(tmp_path, n_images=0, seed=1)
    with pytest.raises(ValueError, match="sideways_fraction"):
        generate_brand(tmp_path, n_images=2, seed=1, sideways_fraction=1.5)
    with pytest.raises(ValueError, match="genuine-role"):
        generate_brand(tmp_path, n_images=2, seed=1, categories=(Category(0, "a"), Category(1, "b")))
