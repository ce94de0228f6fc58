"""Background images: crops outside every box, generated scenes, and the training set's empty label files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from authentic.training.container.backgrounds import (
    NEGATIVE_PREFIX,
    YoloBox,
    crop_outside_boxes,
    folder_photos,
    generate_scene,
    photo_folder,
    read_yolo_boxes,
    write_training_backgrounds,
)


def test_a_crop_never_overlaps_a_box() -> None:
    image = Image.new("RGB", (400, 300), (10, 10, 10))
    box = YoloBox(20, 20, 150, 280)  # the product on the left
    crop = crop_outside_boxes(image, [box])
    assert crop is not None
    assert crop.width >= 0.3 * 300 and crop.height >= 0.3 * 300
    assert max(crop.size) <= 2 * min(crop.size)


def test_no_crop_when_the_boxes_fill_the_photo() -> None:
    image = Image.new("RGB", (400, 300))
    assert crop_outside_boxes(image, [YoloBox(10, 10, 390, 290)]) is None
    assert crop_outside_boxes(image, []) is None


def test_generated_scenes_are_deterministic_and_varied() -> None:
    a, b, c = generate_scene(7), generate_scene(7), generate_scene(8)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert a.size != c.size or not np.array_equal(np.asarray(a), np.asarray(c))
    assert a.mode == "RGB" and min(a.size) >= 160


def test_training_backgrounds_have_empty_label_files(tmp_path: Path) -> None:
    images, labels = tmp_path / "images" / "train", tmp_path / "labels" / "train"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    for index in range(4):
        Image.new("RGB", (320, 240), (index * 40, 90, 90)).save(images / f"p{index}.jpg")
        (labels / f"p{index}.txt").write_text("0 0.15 0.5 0.2 0.5\n")  # a box on the left edge
    assert read_yolo_boxes(labels / "p0.txt", (320, 240))[0].x2 == 0.25 * 320

    written = write_training_backgrounds(tmp_path, count=5, seed=0, crop_share=0.4)

    assert written == {"crops": 2, "generated": 3}
    backgrounds = sorted(images.glob(f"{NEGATIVE_PREFIX}*.jpg"))
    assert len(backgrounds) == 5
    for image in backgrounds:
        assert (labels / f"{image.stem}.txt").read_text() == ""


def test_the_photo_folder_is_used_only_where_it_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHENTIC_BACKGROUND_DIR", str(tmp_path / "absent"))
    assert photo_folder() is None
    monkeypatch.setenv("AUTHENTIC_BACKGROUND_DIR", str(tmp_path))
    assert photo_folder() is None  # empty
    Image.new("RGB", (50, 40)).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("not a photo")
    assert photo_folder() == tmp_path
    assert [name for name, _ in folder_photos(tmp_path)] == ["a.jpg"]
