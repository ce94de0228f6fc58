"""Bulk import: every format into the canonical model, with a reason for whatever cannot be imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile

from authentic.annotations.checks import check_annotation
from authentic.annotations.importers.base import ImportedDataset, measure_image
from authentic.annotations.importers.folder import load_dataset
from authentic.annotations.importers.names import parse_yaml_names, read_names
from authentic.annotations.model import Box, Category
from authentic.annotations.seed import parse_seed
from authentic.errors import InvalidInput
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import ImageSize


def make_image(path: Path, size: tuple[int, int] = (40, 30), orientation: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION_TAG] = orientation
    Image.new("RGB", size, (90, 120, 200)).save(path, exif=exif)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def reasons(dataset: ImportedDataset) -> list[str]:
    return [str(problem) for problem in dataset.problems]


def boxes_of(dataset: ImportedDataset) -> dict[str, tuple[Box, ...]]:
    return {item.annotation.file: item.annotation.boxes for item in dataset.items}


def close(a: Box, b: Box, tolerance: float = 1e-3) -> bool:
    pairs = zip((a.left, a.top, a.width, a.height), (b.left, b.top, b.width, b.height), strict=True)
    return a.class_id == b.class_id and all(abs(x - y) <= tolerance for x, y in pairs)


# ---------------------------------------------------------------------------------------------------------
# The playing-cards data set: the same boxes as VOC XML and as YOLO txt


@pytest.fixture(scope="module")
def cards(shared_data: Path) -> Path:
    return shared_data / "playing-cards"


@pytest.fixture(scope="module")
def cards_voc(cards: Path) -> ImportedDataset:
    return load_dataset(cards, "voc")


@pytest.fixture(scope="module")
def cards_yolo(cards: Path) -> ImportedDataset:
    return load_dataset(cards, "yolo")


def test_playing_cards_import_completely_in_both_formats(
    cards: Path, cards_voc: ImportedDataset, cards_yolo: ImportedDataset
) -> None:
    images = sorted(p for p in (cards / "images").rglob("*") if p.is_file())
    assert len(images) == 363
    for dataset in (cards_voc, cards_yolo):
        assert dataset.problems == []
        assert sorted(item.image_path for item in dataset.items) == images
        assert [c.name for c in dataset.categories] == ["ace", "jack", "king", "nine", "queen", "ten"]


def test_playing_cards_voc_and_yolo_agree_within_one_pixel_for_every_box(
    cards_voc: ImportedDataset, cards_yolo: ImportedDataset
) -> None:
    voc, yolo = boxes_of(cards_voc), boxes_of(cards_yolo)
    assert voc.keys() == yolo.keys()
    assert {f.split("/")[1] for f in voc} == {"train", "test"}
    compared = 0
    for file, voc_boxes in voc.items():
        assert len(voc_boxes) == len(yolo[file]), file
        for a, b in zip(voc_boxes, yolo[file], strict=True):
            assert a.class_id == b.class_id, file
            edges = [a.left - b.left, a.top - b.top, a.right - b.right, a.bottom - b.bottom]
            # YOLO's six decimals add up to 0.001 px; beyond that, one pixel at most.
            assert max(abs(d) for d in edges) <= 1 + 1e-3, (file, a, b)
            # The difference is exactly VOC's 1-based convention: the YOLO labels were converted from the raw
            # xmin/ymin, VOC reads them as 1-based pixel indices (left = xmin - 1); right/bottom agree.
            assert abs(edges[0] + 1) < 1e-2 and abs(edges[1] + 1) < 1e-2, (file, a, b)
            assert abs(edges[2]) < 1e-2 and abs(edges[3]) < 1e-2, (file, a, b)
            compared += 1
    assert compared == 670


def test_playing_cards_sizes_are_measured_from_the_images(cards_yolo: ImportedDataset) -> None:
    sizes = {item.annotation.size for item in cards_yolo.items}
    assert {(s.width, s.height) for s in sizes if s} == {(378, 504), (960, 540), (480, 270)}
    for item in cards_yolo.items[:20]:
        with Image.open(item.image_path) as image:
            assert item.annotation.size == ImageSize(*image.size)


def test_playing_cards_names_agree_between_classes_txt_and_data_yaml(cards: Path) -> None:
    assert read_names(cards) == ["ace", "jack", "king", "nine", "queen", "ten"]


def test_an_imported_item_is_a_valid_upload(cards_voc: ImportedDataset) -> None:
    item = cards_voc.items[0]
    data = json.dumps(item.annotation.to_seed_json()).encode()
    stored, orientation = measure_image(item.image_path)
    checked = check_annotation(
        parse_seed(data, source="x.json"), stored=stored, orientation=orientation, source="x.json"
    )
    assert checked.problems == ()
    assert all(close(a, b) for a, b in zip(checked.annotation.boxes, item.annotation.boxes, strict=True))


# ---------------------------------------------------------------------------------------------------------
# Measuring images


def test_measure_image_reads_the_header_without_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jpeg = make_image(tmp_path / "a.jpg", (64, 48), orientation=6)
    png = make_image(tmp_path / "b.png", (10, 20), orientation=8)
    plain_png = make_image(tmp_path / "c.png", (12, 8))  # PngImageFile.getexif() would decode this one

    def no_decoding(*args: Any) -> None:
        raise AssertionError("decoded the pixels")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert measure_image(jpeg) == (ImageSize(64, 48, 3), 6)
    assert measure_image(png) == (ImageSize(10, 20, 3), 8)
    assert measure_image(plain_png) == (ImageSize(12, 8, 3), 1)


def test_a_missing_or_invalid_orientation_reads_as_1(tmp_path: Path) -> None:
    assert measure_image(make_image(tmp_path / "a.jpg"))[1] == 1
    assert measure_image(make_image(tmp_path / "b.jpg", orientation=9))[1] == 1


# ---------------------------------------------------------------------------------------------------------
# YOLO


def yolo_folder(tmp_path: Path, names: str = "classes.txt") -> Path:
    if names == "classes.txt":
        write(tmp_path / "classes.txt", "genuine\ncounterfeit\n")
    else:
        write(tmp_path / "data.yaml", "path: .\ntrain: images/train\nnames:\n  0: genuine\n  1: counterfeit\n")
    make_image(tmp_path / "images" / "train" / "a.jpg", (200, 100))
    write(tmp_path / "labels" / "train" / "a.txt", "0 0.5 0.5 0.5 0.2\n1 0.25 0.75 0.1 0.1\n")
    return tmp_path


@pytest.mark.parametrize("names", ["classes.txt", "data.yaml"])
def test_yolo_scales_normalised_boxes_by_the_measured_size(tmp_path: Path, names: str) -> None:
    dataset = load_dataset(yolo_folder(tmp_path, names), "yolo")

    assert dataset.problems == []
    assert dataset.categories == (Category(0, "genuine"), Category(1, "counterfeit"))
    (item,) = dataset.items
    assert item.image_path == tmp_path / "images" / "train" / "a.jpg"
    assert item.annotation.file == "images/train/a.jpg"
    assert item.annotation.size == ImageSize(200, 100)
    expected = (Box(0, 50, 40, 100, 20), Box(1, 40, 70, 20, 10))
    assert all(close(a, b) for a, b in zip(item.annotation.boxes, expected, strict=True))


def test_yolo_uses_the_upright_size_of_an_exif_rotated_photo(tmp_path: Path) -> None:
    write(tmp_path / "classes.txt", "a\n")
    make_image(tmp_path / "images" / "a.jpg", (200, 100), orientation=6)  # upright 100x200
    write(tmp_path / "labels" / "a.txt", "0 0.5 0.25 0.2 0.1\n")
    (item,) = load_dataset(tmp_path, "yolo").items
    assert item.annotation.size == ImageSize(100, 200)
    assert close(item.annotation.boxes[0], Box(0, 40, 40, 20, 20))


def test_yolo_labels_beside_the_images_and_polygons(tmp_path: Path) -> None:
    write(tmp_path / "classes.txt", "a\nb\n")
    make_image(tmp_path / "a.png", (100, 100))
    write(tmp_path / "a.txt", "1 0.1 0.2 0.5 0.2 0.3 0.6\n")
    (item,) = load_dataset(tmp_path, "yolo").items
    assert close(item.annotation.boxes[0], Box(1, 10, 20, 40, 40))


def test_yolo_empty_label_is_a_photo_without_boxes_and_a_missing_one_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "classes.txt", "a\n")
    make_image(tmp_path / "images" / "empty.jpg")
    write(tmp_path / "labels" / "empty.txt", "\n")
    make_image(tmp_path / "images" / "unlabelled.jpg")
    dataset = load_dataset(tmp_path, "yolo")

    assert [(i.annotation.file, i.annotation.boxes) for i in dataset.items] == [("images/empty.jpg", ())]
    assert reasons(dataset) == [
        "images/unlabelled.jpg: no label file labels/unlabelled.txt (an empty one means: no boxes)"
    ]


def test_yolo_bad_lines_are_dropped_and_named(tmp_path: Path) -> None:
    write(tmp_path / "classes.txt", "a\nb\n")
    make_image(tmp_path / "images" / "a.jpg", (100, 100))
    lines = [
        "0 0.5 0.5 0.2 0.2",
        "0 0.5 0.5",
        "x 0.5 0.5 0.2 0.2",
        "0 0.5 0.5 0.2 zero",
        "7 0.5 0.5 0.2 0.2",
        "0 1.5 1.5 0.2 0.2",
        "0 0.5 0.5 0 0.2",
        "0 0.5 0.5 0.2 nan",
    ]
    write(tmp_path / "labels" / "a.txt", "\n".join(lines))
    dataset = load_dataset(tmp_path, "yolo")

    assert len(dataset.items[0].annotation.boxes) == 1
    assert reasons(dataset) == [
        "labels/a.txt, box 1: expected 'class x_center y_center width height' (or a polygon), got 3 values",
        "labels/a.txt, box 2: not a number: could not convert string to float: 'x'",
        "labels/a.txt, box 3: not a number: could not convert string to float: 'zero'",
        "labels/a.txt, box 4: class id 7 is not one of the categories (0, 1)",
        "labels/a.txt, box 5: lies outside the 100x100 image (box left 140, top 140, width 20, height 20)",
        "labels/a.txt, box 6: zero or negative area (width 0, height 20)",
        "labels/a.txt, box 7: 'nan' is not a finite number",
    ]


def test_yolo_without_class_names_cannot_be_imported(tmp_path: Path) -> None:
    make_image(tmp_path / "images" / "a.jpg")
    with pytest.raises(InvalidInput, match="no class names"):
        load_dataset(tmp_path, "yolo")


def test_class_name_files_that_disagree_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "classes.txt", "a\nb\n")
    write(tmp_path / "data.yaml", "names: [b, a]\n")
    with pytest.raises(InvalidInput, match=r"data.yaml and classes.txt name the classes differently"):
        read_names(tmp_path)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("a\n\nb\n", "line 2 is empty"), ("a\nb\na\n", "repeats a class name"), ("\n", "names no class")],
)
def test_bad_classes_txt_is_refused(tmp_path: Path, text: str, reason: str) -> None:
    write(tmp_path / "classes.txt", text)
    with pytest.raises(InvalidInput, match=reason):
        read_names(tmp_path)


YAML_NAMES = [
    "names:\n  0: ace\n  1: jack\n",
    "path: .\nnames:\n  0: ace  # the first\n  1: 'jack'\nnc: 2\n",
    "names:\n- ace\n- jack\ntrain: images\n",
    'names:\n  - "ace"\n  - jack\n',
    "names: [ace, jack]\n",
    "names: ['ace', \"jack\"]  # two\n",
    "names: {0: ace, 1: jack}\n",
    "nc: 2\nnames:\n  1: jack\n  0: ace\n",
]


@pytest.mark.parametrize("text", YAML_NAMES)
def test_yaml_names_without_a_yaml_library(text: str) -> None:
    assert parse_yaml_names(text) == ["ace", "jack"]
    yaml = pytest.importorskip("yaml")
    loaded = yaml.safe_load(text)["names"]
    assert [loaded[i] for i in range(len(loaded))] == ["ace", "jack"]


def test_yaml_names_with_commas_and_hashes_in_quotes() -> None:
    assert parse_yaml_names("names: ['a, b', \"#1 brand\"]\n") == ["a, b", "#1 brand"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("names:\n  0: a\n  2: b\n", "class ids must be 0..1"),
        ("names:\n  a: x\n", "keys must be class ids"),
        ("names: {0: a, 0: b}\n", "lists class id 0 twice"),
        ("names:\n  - a\n  1: b\n", "mixes"),
        ("names: a b\n", "cannot read"),
        ("names: []\n", "lists no class"),
    ],
)
def test_unreadable_yaml_names_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_yaml_names(text)


def test_a_yaml_without_names_has_none() -> None:
    assert parse_yaml_names("train: images\n") is None


# ---------------------------------------------------------------------------------------------------------
# Pascal VOC


def voc_xml(filename: str, objects: list[tuple[str, tuple[Any, ...]]], size: tuple[int, int] = (40, 30)) -> str:
    body = "".join(
        f"<object><name>{name}</name><difficult>1</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for name, b in objects
    )
    return (
        f"<annotation><filename>{filename}</filename><size><width>{size[0]}</width><height>{size[1]}</height>"
        f"<depth>3</depth></size>{body}</annotation>"
    )


def test_voc_coordinates_are_one_based_inclusive(tmp_path: Path) -> None:
    make_image(tmp_path / "JPEGImages" / "a.jpg", (40, 30))
    write(tmp_path / "Annotations" / "a.xml", voc_xml("a.jpg", [("cat", (1, 1, 40, 30)), ("dog", (11, 6, 20, 15))]))
    dataset = load_dataset(tmp_path, "voc")

    assert dataset.problems == []
    assert dataset.categories == (Category(0, "cat"), Category(1, "dog"))  # sorted names without classes.txt
    (item,) = dataset.items
    assert item.image_path == tmp_path / "JPEGImages" / "a.jpg"
    # (1, 1)-(40, 30) covers the whole 40x30 image; difficult objects are kept.
    assert item.annotation.boxes == (Box(0, 0, 0, 40, 30), Box(1, 10, 5, 10, 10))


def test_voc_in_stored_coordinates_of_a_rotated_photo_is_rotated(tmp_path: Path) -> None:
    make_image(tmp_path / "a.jpg", (40, 30), orientation=6)  # upright 30x40
    write(tmp_path / "a.xml", voc_xml("a.jpg", [("cat", (1, 1, 10, 20))], size=(40, 30)))
    (item,) = load_dataset(tmp_path, "voc").items
    assert item.annotation.size == ImageSize(30, 40)
    assert item.annotation.boxes == (Box(0, 10, 0, 20, 10),)


def test_voc_problems_are_named(tmp_path: Path) -> None:
    write(tmp_path / "classes.txt", "cat\n")
    make_image(tmp_path / "images" / "a.jpg", (40, 30))
    make_image(tmp_path / "images" / "b.jpg", (40, 30))
    make_image(tmp_path / "images" / "f.jpg", (40, 30))
    write(tmp_path / "xml" / "a.xml", voc_xml("a.jpg", [("cat", (1, 1, 5, 5)), ("dog", (1, 1, 5, 5))]))
    write(tmp_path / "xml" / "a2.xml", voc_xml("a.jpg", [("cat", (1, 1, 5, 5))]))
    write(
        tmp_path / "xml" / "b.xml",
        voc_xml("b.jpg", [("cat", (1, 1, 5, 5))], size=(64, 64)).replace("5</xmax>", "five</xmax>", 1),
    )
    write(tmp_path / "xml" / "c.xml", voc_xml("c.jpg", [("cat", (1, 1, 5, 5))]))
    write(tmp_path / "xml" / "d.xml", "<annotation><object>")
    write(tmp_path / "xml" / "e.xml", "<svg/>")
    write(tmp_path / "xml" / "f.xml", voc_xml("f.jpg", [("cat", (1, 1, 5, 5)), ("cat", (50, 1, 60, 5))], size=(0, 0)))
    dataset = load_dataset(tmp_path, "voc")

    assert reasons(dataset) == [
        "xml/d.xml: not valid XML: no element found: line 1, column 20",
        "xml/e.xml: not a Pascal VOC annotation (the root is <svg>, not <annotation>)",
        "xml/c.xml: its image 'c.jpg' is not under the folder",
        "xml/a.xml, box 1: class 'dog' is not one of the class names",
        "xml/a2.xml: its image images/a.jpg is already annotated by xml/a.xml",
        "xml/b.xml: image_size 64x64 does not match the photo's size 40x30",
        "xml/f.xml, box 1: lies outside the 40x30 image (box left 49, top 0, width 11, height 5)",
    ]
    assert [i.annotation.file for i in dataset.items] == ["images/a.jpg", "images/f.jpg"]


def test_voc_without_filename_finds_the_image_by_stem_and_prefers_the_same_split(tmp_path: Path) -> None:
    make_image(tmp_path / "images" / "train" / "x.jpg", (40, 30))
    make_image(tmp_path / "images" / "test" / "x.jpg", (40, 30))
    write(tmp_path / "annotations" / "test" / "x.xml", voc_xml("", [("cat", (1, 1, 5, 5))]))
    (item,) = load_dataset(tmp_path, "voc").items
    assert item.image_path == tmp_path / "images" / "test" / "x.jpg"


def test_an_ambiguous_image_is_a_problem(tmp_path: Path) -> None:
    make_image(tmp_path / "one" / "x.jpg")
    make_image(tmp_path / "two" / "x.jpg")
    write(tmp_path / "x.xml", voc_xml("x.jpg", [("cat", (1, 1, 5, 5))]))
    dataset = load_dataset(tmp_path, "voc")
    assert reasons(dataset) == ["x.xml: its image 'x.jpg' is ambiguous: one/x.jpg, two/x.jpg"]


# ---------------------------------------------------------------------------------------------------------
# COCO


def coco(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 40, "height": 30},
            {"id": 2, "file_name": "b.jpg", "width": 40, "height": 30},
        ],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 7, "bbox": [1, 2, 10, 5], "iscrowd": 0},
            {"id": 11, "image_id": 1, "category_id": 3, "bbox": [5, 5, 5.5, 5], "iscrowd": 0},
            {"id": 12, "image_id": 1, "category_id": 3, "bbox": [0, 0, 40, 30], "iscrowd": 1},
            {"id": 13, "image_id": 1, "category_id": 99, "bbox": [0, 0, 4, 3]},
            {"id": 14, "image_id": 1, "category_id": 3, "bbox": [0, "0", 4, 3]},
            {"id": 15, "image_id": 1, "category_id": 3, "bbox": [0, 0, 4]},
            {"id": 16, "image_id": 5, "category_id": 3, "bbox": [0, 0, 4, 3]},
        ],
        "categories": [{"id": 7, "name": "logo"}, {"id": 3, "name": "cap", "supercategory": "x"}],
    }
    doc.update(fields)
    return doc


def test_coco_remaps_category_ids_and_names_every_problem(tmp_path: Path) -> None:
    make_image(tmp_path / "images" / "a.jpg", (40, 30))
    make_image(tmp_path / "images" / "b.jpg", (40, 30))
    write(tmp_path / "annotations" / "instances.json", json.dumps(coco()))
    dataset = load_dataset(tmp_path, "coco")

    assert dataset.categories == (Category(0, "cap"), Category(1, "logo"))
    assert boxes_of(dataset) == {
        "images/a.jpg": (Box(1, 1, 2, 10, 5), Box(0, 5, 5, 5.5, 5)),
        "images/b.jpg": (),  # an image without annotations is a photo of nothing
    }
    where = "a.jpg (in annotations/instances.json)"
    assert reasons(dataset) == [
        'annotations/instances.json: annotation {"id": 16, "image_id": 5, "category_id": 3, "bbox": [0, 0, 4, 3]} '
        "names no listed image",
        f"{where}, box 2: annotation id 12: is a crowd region (iscrowd=1): skipped, a crowd is not one object",
        f"{where}, box 3: annotation id 13: category_id 99 is not in 'categories'",
        f"{where}, box 4: annotation id 14: 'bbox[1]' must be a number, got string",
        f"{where}, box 5: annotation id 15: 'bbox' must be [x, y, width, height], got [0, 0, 4]",
    ]


def test_coco_declared_size_decides_the_frame_and_a_wrong_one_rejects_the_image(tmp_path: Path) -> None:
    make_image(tmp_path / "a.jpg", (40, 30), orientation=8)  # upright 30x40
    make_image(tmp_path / "b.jpg", (40, 30))
    doc = coco(
        images=[
            {"id": 1, "file_name": "a.jpg", "width": 40, "height": 30},
            {"id": 2, "file_name": "b.jpg", "width": 80, "height": 60},
        ],
        annotations=[
            {"id": 1, "image_id": 1, "category_id": 3, "bbox": [0, 0, 10, 20]},
            {"id": 2, "image_id": 2, "category_id": 3, "bbox": [0, 0, 10, 20]},
        ],
    )
    write(tmp_path / "coco.json", json.dumps(doc))
    dataset = load_dataset(tmp_path, "coco")

    assert boxes_of(dataset) == {"a.jpg": (Box(0, 0, 30, 20, 10),)}
    assert reasons(dataset) == ["b.jpg (in coco.json): image_size 80x60 does not match the photo's size 40x30"]


def test_coco_dataset_level_problems_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "notes.json", json.dumps({"hello": 1}))
    with pytest.raises(InvalidInput, match="no COCO instances JSON"):
        load_dataset(tmp_path, "coco")
    write(tmp_path / "a.json", json.dumps(coco(categories=[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])))
    with pytest.raises(InvalidInput, match="duplicate class id 1"):
        load_dataset(tmp_path, "coco")


def test_coco_files_must_share_their_categories(tmp_path: Path) -> None:
    write(tmp_path / "train.json", json.dumps(coco()))
    write(tmp_path / "val.json", json.dumps(coco(categories=[{"id": 7, "name": "logo"}])))
    with pytest.raises(InvalidInput, match=r"val\.json: its categories differ from those of train\.json"):
        load_dataset(tmp_path, "coco")


# ---------------------------------------------------------------------------------------------------------
# SageMaker Ground Truth


def gt_line(ref: str, boxes: list[dict[str, Any]], class_map: dict[str, str], size: tuple[int, int] = (40, 30)) -> str:
    return json.dumps(
        {
            "source-ref": ref,
            "bounding-box": {
                "image_size": [{"width": size[0], "height": size[1], "depth": 3}],
                "annotations": boxes,
            },
            "bounding-box-metadata": {
                "objects": [{"confidence": 0.9}] * len(boxes),
                "class-map": class_map,
                "type": "groundtruth/object-detection",
                "human-annotated": "yes",
                "job-name": "labeling-job/cards",
            },
        }
    )


def test_groundtruth_manifest(tmp_path: Path) -> None:
    make_image(tmp_path / "photos" / "a.jpg", (40, 30))
    make_image(tmp_path / "photos" / "b.jpg", (40, 30))
    box = {"class_id": 1, "left": 5, "top": 6, "width": 7, "height": 8}
    lines = [
        gt_line("s3://bucket/job/photos/a.jpg", [box], {"1": "logo"}),
        "",
        "{not json",
        json.dumps({"bounding-box": {"annotations": []}}),
        gt_line("s3://bucket/job/photos/missing.jpg", [box], {"1": "logo"}),
        gt_line("s3://bucket/job/photos/b.jpg", [box], {"1": "cap"}),
        gt_line("s3://bucket/job/photos/b.jpg", [dict(box, class_id=0)], {"0": "cap"}),
        json.dumps({"source-ref": "s3://b/a.jpg", "x": 1}),
    ]
    write(tmp_path / "output.manifest", "\n".join(lines))
    dataset = load_dataset(tmp_path, "groundtruth")

    assert dataset.categories == (Category(0, "cap"), Category(1, "logo"))
    assert boxes_of(dataset) == {"photos/a.jpg": (Box(1, 5, 6, 7, 8),), "photos/b.jpg": (Box(0, 5, 6, 7, 8),)}
    assert reasons(dataset)[:4] == [
        "output.manifest line 3: not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
        "(char 1)",
        "output.manifest line 4: missing 'source-ref' (the image's S3 URI)",
        "output.manifest line 5: its image 's3://bucket/job/photos/missing.jpg' is not under the folder",
        "output.manifest line 6: class id 1 is 'cap' here but 'logo' elsewhere",
    ]
    assert reasons(dataset)[4] == (
        "output.manifest line 8: no bounding-box label attribute (an object with 'image_size' and 'annotations')"
    )


def test_groundtruth_box_problems_keep_the_good_boxes(tmp_path: Path) -> None:
    make_image(tmp_path / "a.jpg", (40, 30))
    boxes = [
        {"class_id": 0, "left": 5, "top": 6, "width": 7, "height": 8},
        {"class_id": 0, "left": True, "top": 6, "width": 7, "height": 8},
    ]
    write(tmp_path / "out.manifest", gt_line("s3://b/a.jpg", boxes, {"0": "cap"}))
    dataset = load_dataset(tmp_path, "groundtruth")
    assert boxes_of(dataset) == {"a.jpg": (Box(0, 5, 6, 7, 8),)}
    assert reasons(dataset) == ["out.manifest line 1, box 1: 'left' must be a number, got boolean"]


def test_groundtruth_without_a_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no Ground Truth manifest"):
        load_dataset(tmp_path, "groundtruth")


# ---------------------------------------------------------------------------------------------------------
# Seed folders


def seed_json(boxes: list[dict[str, Any]], categories: Any = None, size: tuple[int, int] = (40, 30)) -> str:
    doc: dict[str, Any] = {"file": "x", "image_size": [{"width": size[0], "height": size[1]}], "annotations": boxes}
    if categories is not None:
        doc["categories"] = categories
    return json.dumps(doc)


def test_seed_folder(tmp_path: Path) -> None:
    box = {"class_id": 1, "left": 5, "top": 6, "width": 7, "height": 8}
    make_image(tmp_path / "a.jpg")
    write(tmp_path / "a.json", seed_json([box], [{"class_id": 0, "name": "genuine"}, {"class_id": 1, "name": "fake"}]))
    make_image(tmp_path / "sub" / "b.png")
    write(tmp_path / "sub" / "b.json", seed_json([box]))  # no categories: the folder's apply
    make_image(tmp_path / "c.jpg")
    write(tmp_path / "c.json", seed_json([box], ["genuine", "replica"]))
    make_image(tmp_path / "d.jpg")
    write(tmp_path / "d.json", "{")
    make_image(tmp_path / "e.jpg")
    write(tmp_path / "orphan.json", seed_json([]))
    make_image(tmp_path / "f.jpg")
    write(tmp_path / "f.json", seed_json([dict(box, class_id=5)]))
    dataset = load_dataset(tmp_path, "seed")

    assert dataset.categories == (Category(0, "genuine"), Category(1, "fake"))
    assert boxes_of(dataset) == {"a.jpg": (Box(1, 5, 6, 7, 8),), "sub/b.png": (Box(1, 5, 6, 7, 8),)}
    assert reasons(dataset) == [
        "d.json: not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "e.jpg: no annotation: expected e.json beside it",
        "orphan.json: no image with the same name beside it",
        "c.json: class id 1 is 'replica' here but 'fake' elsewhere",
        "f.json: no valid box left (box 0: class id 5 is not one of the categories (0, 1))",
    ]


def test_a_seed_folder_without_categories_accepts_any_class_id(tmp_path: Path) -> None:
    make_image(tmp_path / "a.jpg")
    write(tmp_path / "a.json", seed_json([{"class_id": 3, "left": 5, "top": 6, "width": 7, "height": 8}]))
    dataset = load_dataset(tmp_path, "seed")
    assert dataset.categories == ()
    assert boxes_of(dataset) == {"a.jpg": (Box(3, 5, 6, 7, 8),)}


def test_an_unreadable_image_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "a.jpg", "not an image")
    write(tmp_path / "a.json", seed_json([]))
    dataset = load_dataset(tmp_path, "seed")
    assert dataset.items == []
    assert reasons(dataset)[0].startswith("a.jpg: cannot read the image: cannot identify image file")


# ---------------------------------------------------------------------------------------------------------
# load_dataset itself


def test_unknown_format_and_missing_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown annotation format 'labelme'"):
        load_dataset(tmp_path, "labelme")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="is not a folder"):
        load_dataset(tmp_path / "missing", "voc")


def test_groundtruth_picks_the_object_detection_attribute_of_a_chained_job(tmp_path: Path) -> None:
    make_image(tmp_path / "a.jpg", (40, 30))
    line = json.loads(
        gt_line("s3://b/a.jpg", [{"class_id": 0, "left": 1, "top": 2, "width": 3, "height": 4}], {"0": "x"})
    )
    line["verify"] = {"annotations": [], "image_size": []}
    line["verify-metadata"] = "not an object"
    write(tmp_path / "out.manifest", json.dumps(line))
    dataset = load_dataset(tmp_path, "groundtruth")
    assert boxes_of(dataset) == {"a.jpg": (Box(0, 1, 2, 3, 4),)}
    del line["bounding-box-metadata"]
    write(tmp_path / "out.manifest", json.dumps(line))
    assert reasons(load_dataset(tmp_path, "groundtruth")) == [
        "out.manifest line 1: several label attributes hold 'annotations' (bounding-box, verify) and not exactly "
        "one has 'groundtruth/object-detection' as the type in its -metadata"
    ]
