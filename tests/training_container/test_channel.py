"""Reading the frozen dataset and converting it to the detector's layout."""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from authentic.annotations.model import Annotation, Box, Category
from authentic.cli.synthetic import encode_jpeg
from authentic.errors import DatasetNotReady
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import ImageSize
from authentic.training.container.channel import manifest_file, read_channel, write_channel
from authentic.training.container.convert import write_yolo_layout, yolo_line
from authentic.training.container.evaluate import DEFAULT_THRESHOLD, summarize
from authentic.training.container.split import Split
from authentic.training.manifest import Manifest

CATEGORIES = (Category(3, "bottle", "genuine"), Category(7, "bottle-fake", "counterfeit"))


def photo(width: int = 200, height: int = 100, *, sideways: bool = False, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    return encode_jpeg(Image.fromarray(pixels), sideways=sideways)


UPRIGHT = ImageSize(200, 100)


def annotation(*boxes: Box, size: ImageSize | None = UPRIGHT) -> Annotation:
    return Annotation("x.jpg", size, boxes, CATEGORIES)


def two_class_channel(root: Path, extra: list[tuple[str, bytes, Annotation]] | None = None) -> Path:
    boxes = (Box(3, 10, 10, 50, 40), Box(7, 100, 20, 60, 60))
    entries = [(f"g{i}", photo(seed=i), annotation(*boxes)) for i in range(2)] + (extra or [])
    write_channel(root, entries, brand_id="acme", categories=CATEGORIES)
    return root


def test_every_box_on_its_own_line_with_detector_class_indices(tmp_path: Path) -> None:
    dataset = read_channel(two_class_channel(tmp_path / "ch"), min_images_per_class=1)
    split = Split(("g0",), ("g1",), 0, 0.5)
    layout = write_yolo_layout(dataset, split, tmp_path / "yolo")
    lines = (tmp_path / "yolo" / "labels" / "train" / "g0.txt").read_text().splitlines()
    assert lines == ["0 0.175000 0.300000 0.250000 0.400000", "1 0.650000 0.500000 0.300000 0.600000"]
    assert layout.names == ("bottle", "bottle-fake")
    data = json.loads(layout.data_yaml.read_text())
    assert data["names"] == {"0": "bottle", "1": "bottle-fake"}
    assert (tmp_path / "yolo" / "images" / "val" / "g1.jpg").is_file()
    assert (layout.train_images, layout.val_images) == (1, 1)


def test_names_with_several_dots_keep_their_labels(tmp_path: Path) -> None:
    from authentic.training.container.engine import prepare_ultralytics

    prepare_ultralytics()  # before ultralytics is imported: offline, and its Image.open patch tamed
    from ultralytics.data.utils import img2label_paths

    root = tmp_path / "ch"
    dotted = [("my.photo.v2.final", photo(seed=5), annotation(Box(3, 10, 10, 50, 40), Box(7, 100, 20, 60, 60)))]
    dataset = read_channel(two_class_channel(root, dotted), min_images_per_class=1)
    write_yolo_layout(dataset, Split(("g0", "g1", "my.photo.v2.final"), (), 0, 0.2), tmp_path / "yolo")
    image = tmp_path / "yolo" / "images" / "train" / "my.photo.v2.final.jpg"
    assert image.is_file()
    (label,) = img2label_paths([str(image)])
    assert Path(label).read_text().count("\n") == 2


def test_sizes_are_measured_from_the_image_not_the_json(tmp_path: Path) -> None:
    entries = [("n0", photo(400, 200), annotation(Box(3, 0, 0, 100, 100), Box(7, 200, 0, 100, 100), size=None))]
    dataset = read_channel(two_class_channel(tmp_path / "ch", entries), min_images_per_class=1)
    (sample,) = [s for s in dataset.samples if s.pair_id == "n0"]
    assert (sample.size.width, sample.size.height) == (400, 200)
    assert yolo_line(0, sample.boxes[0], (400, 200)) == "0 0.125000 0.250000 0.250000 0.500000"


def test_a_stored_rotation_is_written_upright(tmp_path: Path) -> None:
    # Stored 100x200 with orientation 6: upright it is 200x100, which the annotation's boxes are drawn on.
    entries = [("s0", photo(200, 100, sideways=True), annotation(Box(3, 10, 10, 50, 40), Box(7, 100, 20, 60, 60)))]
    dataset = read_channel(two_class_channel(tmp_path / "ch", entries), min_images_per_class=1)
    (sample,) = [s for s in dataset.samples if s.pair_id == "s0"]
    assert sample.orientation == 6 and (sample.size.width, sample.size.height) == (200, 100)
    write_yolo_layout(dataset, Split(("g0", "g1", "s0"), (), 0, 0.2), tmp_path / "yolo")
    with Image.open(tmp_path / "yolo" / "images" / "train" / "s0.jpg") as image:
        assert image.size == (200, 100)
        assert image.getexif().get(ORIENTATION_TAG, 1) == 1


def test_dropped_boxes_are_recorded_with_their_class_without_failing(tmp_path: Path) -> None:
    entries = [("b0", photo(), annotation(Box(3, 10, 10, 20, 20), Box(7, 500, 10, 20, 20)))]
    dataset = read_channel(two_class_channel(tmp_path / "ch", entries), min_images_per_class=1)
    (sample,) = [s for s in dataset.samples if s.pair_id == "b0"]
    assert [b.class_id for b in sample.boxes] == [3]
    (problem,) = dataset.rejected
    assert problem.box_index == 1 and "lies outside" in problem.reason
    assert dataset.counts()["bottle-fake"].rejected_boxes == 1


def test_a_box_of_an_unknown_class_is_dropped(tmp_path: Path) -> None:
    entries = [("u0", photo(), annotation(Box(3, 10, 10, 20, 20), Box(9, 50, 10, 20, 20)))]
    dataset = read_channel(two_class_channel(tmp_path / "ch", entries), min_images_per_class=1)
    (problem,) = dataset.rejected
    assert "class id 9 is not one of the categories" in problem.reason


def test_an_annotation_that_is_not_json_fails_the_job(tmp_path: Path) -> None:
    root = two_class_channel(tmp_path / "ch")
    (g1,) = [i for i in Manifest.load(manifest_file(root)).items if i.pair_id == "g1"]
    (root / g1.annotation).write_text("{nope")
    with pytest.raises(DatasetNotReady, match=rf"{g1.annotation}: not valid JSON"):
        read_channel(root, min_images_per_class=1)


def test_summarize_picks_the_start_of_the_f1_plateau_as_threshold() -> None:
    px = np.linspace(0, 1, 1000)
    f1 = np.vstack([np.exp(-((px - 0.4) ** 2) / 0.1), np.exp(-((px - 0.6) ** 2) / 0.1)]) * 0.9
    box = SimpleNamespace(
        ap_class_index=np.array([0, 1]),
        all_ap=np.array([[0.9] * 10, [0.8] * 10]),
        f1_curve=f1,
        px=px,
        p=np.array([0.9, 0.8]),
        r=np.array([0.85, 0.75]),
        f1=np.array([0.87, 0.77]),
    )
    result = summarize(box, ["bottle", "bottle-fake"], np.array([5, 4]), np.array([3, 2]))
    assert result.map50 == pytest.approx(0.85)
    # Each curve peaks at 0.9; its plateau (F1 within 0.01 of the peak) starts sqrt(-0.1 ln(1 - 0.01/0.9)) before.
    before_peak = math.sqrt(-0.1 * math.log(1 - 0.01 / 0.9))
    assert 0.4 < result.threshold < 0.5  # the mean curve peaks at 0.5 and is flat around it
    assert result.per_class["bottle"].threshold == pytest.approx(0.4 - before_peak, abs=0.002)
    assert result.per_class["bottle-fake"].threshold == pytest.approx(0.6 - before_peak, abs=0.002)
    assert (result.per_class["bottle"].images, result.per_class["bottle"].boxes) == (3, 5)


def test_summarize_without_detections_falls_back_to_the_default_threshold() -> None:
    box = SimpleNamespace(
        ap_class_index=np.array([0, 1]),
        all_ap=np.zeros((2, 10)),
        f1_curve=np.zeros((2, 1000)),
        px=np.linspace(0, 1, 1000),
        p=np.zeros(2),
        r=np.zeros(2),
        f1=np.zeros(2),
    )
    result = summarize(box, ["a", "b"], np.array([1, 1]), np.array([1, 1]))
    assert result.threshold == DEFAULT_THRESHOLD and result.map50 == 0.0
    assert json.loads(json.dumps(result.to_json()))["per_class"]["a"]["threshold"] == DEFAULT_THRESHOLD


def test_write_channel_lays_out_what_sagemaker_downloads_from_the_manifest_file(tmp_path: Path) -> None:
    data = photo()
    entries = [("p1", data, annotation(Box(3, 1, 1, 5, 5))), ("p2", data, annotation(Box(7, 1, 1, 5, 5)))]
    manifest = write_channel(tmp_path, entries, brand_id="acme", categories=CATEGORIES)

    digest = hashlib.sha256(data).hexdigest()
    assert [i.image for i in manifest.items] == [f"objects/{digest}.jpg"] * 2  # one object, two pairs
    assert Image.open(io.BytesIO((tmp_path / "objects" / f"{digest}.jpg").read_bytes())).size == (200, 100)
    for item in manifest.items:
        assert (
            item.annotation == f"objects/{hashlib.sha256((tmp_path / item.annotation).read_bytes()).hexdigest()}.json"
        )
    assert manifest_file(tmp_path) == tmp_path / "manifests" / f"{manifest.manifest_id}.json"
    listed = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert listed == set(manifest.channel_file("s3://dataset/acme/")[1:])  # what the ManifestFile lists
    assert Manifest.load(manifest_file(tmp_path)) == manifest
