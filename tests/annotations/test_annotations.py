"""The seed annotation JSON and the geometry gate: every bad input gets a reason that names it."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image, ImageOps

from authentic.annotations.checks import EDGE_TOLERANCE_PX, MAX_BOXES, CheckedAnnotation, check_annotation
from authentic.annotations.model import Annotation, Box, Category, ParsedAnnotation, Problem
from authentic.annotations.orientation import to_upright
from authentic.annotations.seed import MAX_SEED_BYTES, parse_seed
from authentic.errors import RejectedFile
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import ImageSize

SOURCE = "brand/p1/annotation.json"
GOOD = b'{"class_id": 0, "left": 1, "top": 2, "width": 3, "height": 4}'
PORTRAIT = ImageSize(378, 504)  # upright size of the photos below
LANDSCAPE = ImageSize(504, 378)  # stored size of an orientation 5-8 photo that is upright PORTRAIT


def seed(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "file": "IMG_1.JPG",
        "image_size": [{"width": 378, "height": 504, "depth": 3}],
        "annotations": [
            {"class_id": 0, "left": 10, "top": 20, "width": 30, "height": 40},
            {"class_id": 1, "left": 100.5, "top": 200, "width": 50, "height": 60},
        ],
        "categories": [{"class_id": 0, "name": "genuine"}, {"class_id": 1, "name": "fake-logo", "role": "counterfeit"}],
    }
    doc.update(fields)
    return doc


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def rejected(data: bytes) -> str:
    with pytest.raises(RejectedFile) as info:
        parse_seed(data, source=SOURCE)
    assert info.value.message.startswith(f"{SOURCE}: ")
    return info.value.message


def check(annotation: Annotation, stored: ImageSize = PORTRAIT, orientation: int = 1) -> CheckedAnnotation:
    return check_annotation(annotation, stored=stored, orientation=orientation, source=SOURCE)


def check_rejected(annotation: Annotation, stored: ImageSize = PORTRAIT, orientation: int = 1) -> RejectedFile:
    with pytest.raises(RejectedFile) as info:
        check(annotation, stored, orientation)
    return info.value


def with_boxes(*boxes: Box, size: ImageSize | None = PORTRAIT, names: int = 2) -> Annotation:
    categories = tuple(Category(i, f"class{i}") for i in range(names))
    return Annotation("IMG_1.JPG", size, boxes, categories)


# ---------------------------------------------------------------------------------------------------------
# parse_seed: the canonical upload format


def test_parses_the_canonical_format() -> None:
    annotation = parse_seed(raw(seed()), source=SOURCE)

    assert annotation.file == "IMG_1.JPG"
    assert annotation.size == ImageSize(378, 504, 3)
    assert annotation.boxes == (Box(0, 10, 20, 30, 40), Box(1, 100.5, 200, 50, 60))
    assert annotation.categories == (Category(0, "genuine"), Category(1, "fake-logo", "counterfeit"))
    assert annotation.problems == ()


def test_to_seed_json_round_trips() -> None:
    annotation = parse_seed(raw(seed()), source=SOURCE)
    again = parse_seed(raw(annotation.to_seed_json()), source=SOURCE)
    assert (again.file, again.size, again.boxes, again.categories) == (
        annotation.file,
        annotation.size,
        annotation.boxes,
        annotation.categories,
    )


@pytest.mark.parametrize(
    ("image_size", "expected"),
    [
        ({"width": 378, "height": 504}, ImageSize(378, 504, 3)),  # a single object, not a list
        ([{"width": 378.0, "height": 504}], ImageSize(378, 504, 3)),  # a whole float is a whole number
        ([{"width": 378, "height": 504, "depth": 1}], ImageSize(378, 504, 1)),
        ([{"width": 378, "height": 504, "depth": "three"}], ImageSize(378, 504, 3)),  # depth is informational
        ([], None),
        (None, None),
    ],
)
def test_image_size_is_read_leniently_where_harmless(image_size: Any, expected: ImageSize | None) -> None:
    assert parse_seed(raw(seed(image_size=image_size)), source=SOURCE).size == expected


def test_missing_image_size_is_none() -> None:
    doc = seed()
    del doc["image_size"]
    assert parse_seed(raw(doc), source=SOURCE).size is None


def test_utf8_bom_and_missing_file_are_accepted() -> None:
    doc = seed()
    del doc["file"]
    annotation = parse_seed(b"\xef\xbb\xbf" + raw(doc), source=SOURCE)
    assert annotation.file == ""
    assert len(annotation.boxes) == 2


def test_a_photo_without_boxes_is_accepted() -> None:
    annotation = parse_seed(raw(seed(annotations=[])), source=SOURCE)
    assert annotation.boxes == ()
    assert check(annotation).annotation.boxes == ()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"categories": ["genuine", "counterfeit"]}, [(0, "genuine"), (1, "counterfeit")]),
        ({"categories": None, "synsets": ["a", "b"]}, [(0, "a"), (1, "b")]),
        ({"categories": ["a", "b"], "synsets": ["a", "b"]}, [(0, "a"), (1, "b")]),
        ({"categories": {"0": "a", "1": "b"}}, [(0, "a"), (1, "b")]),
        ({"categories": [{"class_id": 1, "name": " b "}, {"class_id": 0, "name": "a"}]}, [(0, "a"), (1, "b")]),
        ({"categories": []}, []),
    ],
)
def test_categories_as_objects_synset_lists_and_class_maps(fields: dict[str, Any], expected: list[Any]) -> None:
    annotation = parse_seed(raw(seed(**fields)), source=SOURCE)
    assert [(c.class_id, c.name) for c in annotation.categories] == expected


def test_roles_are_optional_and_case_insensitive() -> None:
    categories = [{"class_id": 0, "name": "a", "role": "Genuine"}, {"class_id": 1, "name": "b", "role": None}]
    annotation = parse_seed(raw(seed(categories=categories)), source=SOURCE)
    assert [c.role for c in annotation.categories] == ["genuine", None]
    assert annotation.categories[1].effective_role == "genuine"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"annotations": [', "not valid JSON: Expecting value: line 1 column 18"),
        (b"", "not valid JSON: Expecting value"),
        (b"\xff\xfe{}", "not valid JSON: not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON: nested too deeply"),
        (b'{"annotations": [], "x": ' + b"1" * 5000 + b"}", "not valid JSON"),
        (b"[]", "must be a JSON object, got array"),
        (b'"text"', "must be a JSON object, got string"),
        (b'{"file": "a.jpg"}', "missing 'annotations'"),
        (raw(seed(annotations={"class_id": 0})), "'annotations' must be an array, got object"),
        (raw(seed(file=7)), "'file' must be a string, got number"),
        (raw(seed(image_size=[{"width": 1, "height": 2}] * 2)), "'image_size' must hold one size, got 2"),
        (raw(seed(image_size="378x504")), "'image_size' must be an object with width and height, got string"),
        (raw(seed(image_size={"width": 378})), "missing 'image_size.height'"),
        (
            raw(seed(image_size={"width": "378", "height": 504})),
            "'image_size.width' must be an integer >= 1, got string",
        ),
        (
            raw(seed(image_size={"width": True, "height": 504})),
            "'image_size.width' must be an integer >= 1, got boolean",
        ),
        (raw(seed(image_size={"width": 0, "height": 504})), "'image_size.width' must be an integer >= 1, got 0"),
        (raw(seed(image_size={"width": 37.5, "height": 504})), "'image_size.width' must be an integer >= 1, got 37.5"),
        (
            raw(seed(categories=[{"class_id": 0, "name": "a"}, {"class_id": 0, "name": "b"}])),
            "duplicate class id 0 in the categories",
        ),
        (raw(seed(categories=["a", "A"])), "category name 'A' is used by class ids 0 and 1"),
        (raw(seed(categories=["a", ""])), "'categories[1]' must not be empty"),
        (raw(seed(categories=["a", {"class_id": 1, "name": "b"}])), "a list of names or a list of objects, not a mix"),
        (raw(seed(categories=[{"class_id": 0}])), "missing 'categories[0].name'"),
        (raw(seed(categories=[{"class_id": -1, "name": "a"}])), "'categories[0].class_id' must be a non-negative"),
        (raw(seed(categories=[{"class_id": 0, "name": 5}])), "'categories[0].name' must be a string, got number"),
        (
            raw(seed(categories=[{"class_id": 0, "name": "a", "role": "fake"}])),
            "'categories[0].role' must be 'genuine' or 'counterfeit', got \"fake\"",
        ),
        (raw(seed(categories={"zero": "a"})), "'categories' keys must be class ids, got \"zero\""),
        (raw(seed(categories="a,b")), "'categories' must be a list of categories or of names, got string"),
        (raw(seed(categories=["a"], synsets=["b"])), "'categories' and 'synsets' disagree"),
        (
            raw(seed(annotations=[{"class_id": 0, "left": 0, "top": 0, "width": 1, "height": 1}] * (MAX_BOXES + 1))),
            f"has {MAX_BOXES + 1} boxes; at most {MAX_BOXES} per image",
        ),
        (b" " * (MAX_SEED_BYTES + 1), f"an annotation file may be at most {MAX_SEED_BYTES}"),
    ],
)
def test_file_level_problems_reject_the_file_with_a_reason(data: bytes, reason: str) -> None:
    assert reason in rejected(data)


@pytest.mark.parametrize(
    ("box", "reason"),
    [
        ({"class_id": 0, "left": "10", "top": 0, "width": 5, "height": 5}, "'left' must be a number, got string"),
        ({"class_id": 0, "left": 10, "top": True, "width": 5, "height": 5}, "'top' must be a number, got boolean"),
        ({"class_id": 0, "left": 10, "top": 0, "width": None, "height": 5}, "'width' must be a number, got null"),
        ({"class_id": 0, "left": 10, "top": 0, "width": [5], "height": 5}, "'width' must be a number, got array"),
        ({"class_id": 0, "left": 10, "top": 0, "width": 5}, "missing 'height'"),
        ({"left": 10, "top": 0}, "missing 'class_id', 'width', 'height'"),
        (
            {"class_id": -1, "left": 10, "top": 0, "width": 5, "height": 5},
            "'class_id' must be a non-negative integer, got -1",
        ),
        (
            {"class_id": 0.5, "left": 10, "top": 0, "width": 5, "height": 5},
            "'class_id' must be a non-negative integer, got 0.5",
        ),
        (
            {"class_id": "0", "left": 10, "top": 0, "width": 5, "height": 5},
            "'class_id' must be a non-negative integer, got string",
        ),
        (
            {"class_id": False, "left": 1, "top": 0, "width": 5, "height": 5},
            "'class_id' must be a non-negative integer, got boolean",
        ),
        ([0, 10, 0, 5, 5], "must be an object with class_id, left, top, width and height, got array"),
        (
            {"class_id": "x", "left": "1", "top": 0, "width": 5, "height": 5},
            "'class_id' must be a non-negative integer, got string; 'left' must be a number, got string",
        ),
    ],
)
def test_a_box_with_a_missing_or_wrong_typed_field_is_dropped_and_named(box: Any, reason: str) -> None:
    good = {"class_id": 0, "left": 1, "top": 2, "width": 3, "height": 4}
    annotation = parse_seed(raw(seed(annotations=[good, good, box])), source=SOURCE)

    assert annotation.boxes == (Box(0, 1, 2, 3, 4),) * 2
    assert annotation.problems == (Problem(SOURCE, reason, 2),)
    assert str(annotation.problems[0]) == f"{SOURCE}, box 2: {reason}"


@pytest.mark.parametrize(
    ("literal", "spelled"),
    [(b"NaN", "NaN"), (b"Infinity", "Infinity"), (b"-Infinity", "-Infinity"), (b"1e999", "Infinity")],
)
def test_nan_and_infinity_are_refused(literal: bytes, spelled: str) -> None:
    data = (
        b'{"annotations": [{"class_id": 0, "left": '
        + literal
        + b', "top": 0, "width": 5, "height": 5}, '
        + GOOD
        + b"]}"
    )
    annotation = parse_seed(data, source=SOURCE)
    assert annotation.problems == (Problem(SOURCE, f"'left' must be a finite number, got {spelled}", 0),)


def test_a_huge_integer_is_refused_not_crashed_on() -> None:
    huge = b"1" + b"0" * 400
    data = (
        b'{"annotations": [{"class_id": 0, "left": ' + huge + b', "top": 0, "width": 5, "height": 5}, ' + GOOD + b"]}"
    )
    (problem,) = parse_seed(data, source=SOURCE).problems
    assert problem.reason == "'left' must be a finite number, got one too large"


def test_a_whole_float_class_id_is_read_as_an_integer() -> None:
    box = {"class_id": 1.0, "left": 1, "top": 2, "width": 3, "height": 4}
    assert parse_seed(raw(seed(annotations=[box])), source=SOURCE).boxes == (Box(1, 1, 2, 3, 4),)


# ---------------------------------------------------------------------------------------------------------
# check_annotation: orientation (DESIGN.md's rule)


def test_size_equal_to_upright_leaves_the_boxes_unchanged() -> None:
    box = Box(0, 10, 20, 30, 40)
    checked = check(with_boxes(box, size=PORTRAIT), stored=LANDSCAPE, orientation=6)

    assert checked.annotation.boxes == (box,)
    assert checked.annotation.size == PORTRAIT
    assert checked.problems == ()


def test_size_equal_to_the_stored_size_of_an_orientation_6_photo_rotates_the_boxes() -> None:
    # Stored 504x378, shown upright as 378x504 after turning 90 degrees clockwise: the stored top-left corner
    # lands at the upright top-right, so a box at stored (10, 20) is at upright x = 378 - 20 - 40.
    checked = check(with_boxes(Box(0, 10, 20, 30, 40), size=LANDSCAPE), stored=LANDSCAPE, orientation=6)

    assert checked.annotation.boxes == (Box(0, 318, 10, 40, 30),)
    assert checked.annotation.size == PORTRAIT


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_stored_frame_boxes_land_on_the_same_pixels_as_pillow_exif_transpose(orientation: int) -> None:
    # Given a stored image with a white block where the box is, carrying an Exif orientation
    stored = ImageSize(64, 40)
    box = Box(0, 5, 8, 20, 12)
    image = Image.new("L", (stored.width, stored.height))
    image.paste(255, (5, 8, 25, 20))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", exif=exif)
    # When the box (declared in stored coordinates) is checked
    checked = check(with_boxes(box, size=stored), stored=stored, orientation=orientation)
    # Then it covers exactly the block on the photo as Pillow turns it upright
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue())))
    assert upright is not None
    left, top, right, bottom = upright.getbbox() or (0, 0, 0, 0)
    assert checked.annotation.boxes == (Box(0, left, top, right - left, bottom - top),)
    assert checked.annotation.size == ImageSize(upright.width, upright.height)


def test_a_square_photo_is_upright() -> None:
    square = ImageSize(500, 500)
    box = Box(0, 10, 20, 30, 40)
    checked = check(with_boxes(box, size=square), stored=square, orientation=6)
    assert checked.annotation.boxes == (box,)


def test_a_missing_size_means_upright() -> None:
    box = Box(0, 10, 20, 30, 40)
    checked = check(with_boxes(box, size=None), stored=LANDSCAPE, orientation=6)
    assert checked.annotation.boxes == (box,)
    assert checked.annotation.size == PORTRAIT


def test_a_size_matching_neither_orientation_rejects_the_file_naming_both_sizes() -> None:
    error = check_rejected(with_boxes(Box(0, 1, 1, 5, 5), size=ImageSize(640, 480)), stored=LANDSCAPE, orientation=6)
    assert error.message == (
        f"{SOURCE}: image_size 640x480 matches neither the photo's upright size 378x504 "
        "nor its stored size 504x378 (Exif orientation 6)"
    )


def test_a_size_not_matching_an_unrotated_photo_names_both_sizes() -> None:
    error = check_rejected(with_boxes(Box(0, 1, 1, 5, 5), size=ImageSize(756, 1008)))
    assert error.message == f"{SOURCE}: image_size 756x1008 does not match the photo's size 378x504"


def test_a_square_size_on_a_photo_that_is_not_square_is_a_mismatch() -> None:
    # box_frame reads every square size as upright; the check still requires it to be the photo's size.
    error = check_rejected(with_boxes(Box(0, 1, 1, 5, 5), size=ImageSize(500, 500)))
    assert "image_size 500x500 does not match the photo's size 378x504" in error.message


def test_upright_boxes_of_non_transposing_orientations_stay_as_they_are() -> None:
    box = Box(0, 10, 20, 30, 40)
    for orientation in (1, 2, 3, 4):
        assert check(with_boxes(box), orientation=orientation).annotation.boxes == (box,)


def test_rotation_matches_orientation_to_upright() -> None:
    box = Box(1, 100, 50, 200, 100)
    for orientation in (5, 6, 7, 8):
        checked = check(with_boxes(box, size=LANDSCAPE), stored=LANDSCAPE, orientation=orientation)
        assert checked.annotation.boxes == (to_upright(box, LANDSCAPE, orientation),)


# ---------------------------------------------------------------------------------------------------------
# check_annotation: boxes


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        (Box(0, -1.5, 10, 20, 20), Box(0, 0, 10, 18.5, 20)),  # rounding past the left edge
        (Box(0, 360, 490, 20, 16), Box(0, 360, 490, 18, 14)),  # 2 px past the right and bottom edges
        (Box(0, 0, 0, 378, 504), Box(0, 0, 0, 378, 504)),  # the whole photo
        (Box(0, 300, 100, 100, 50), Box(0, 300, 100, 78, 50)),  # 22 px past the edge, 78% inside: dragged past
    ],
)
def test_a_box_overshooting_an_edge_is_clipped(box: Box, expected: Box) -> None:
    checked = check(with_boxes(box))
    assert checked.annotation.boxes == (expected,)
    assert checked.problems == ()


def test_the_edge_tolerance_applies_even_to_small_boxes() -> None:
    box = Box(0, 378 - 2, 10, 2 + EDGE_TOLERANCE_PX, 4)  # half of it outside, but only by the tolerance
    assert check(with_boxes(box)).annotation.boxes == (Box(0, 376, 10, 2, 4),)


@pytest.mark.parametrize(
    ("box", "reason"),
    [
        (Box(0, 10, 10, 0, 5), "zero or negative area (width 0, height 5)"),
        (Box(0, 10, 10, 5, -3), "zero or negative area (width 5, height -3)"),
        (Box(0, 400, 10, 20, 20), "lies outside the 378x504 image (box left 400, top 10, width 20, height 20)"),
        (Box(0, -30, -30, 20, 20), "lies outside the 378x504 image"),
        (
            Box(0, 350, 10, 100, 20),
            "lies mostly outside the 378x504 image (box left 350, top 10, width 100, height 20): 28% of it is inside",
        ),
        (Box(0, 377.5, 10, 2, 20), "is thinner than 1 px inside the 378x504 image"),
        (Box(5, 10, 10, 5, 5), "class id 5 is not one of the categories (0, 1)"),
        (Box(-1, 10, 10, 5, 5), "class id -1 is negative"),
        (Box(0, float("nan"), 10, 5, 5), "'left' must be a finite number, got NaN"),
        (Box(0, 10, 10, float("inf"), 5), "'width' must be a finite number, got Infinity"),
    ],
)
def test_a_bad_box_is_dropped_with_its_reason_and_the_good_ones_kept(box: Box, reason: str) -> None:
    good = Box(1, 10, 20, 30, 40)
    checked = check(with_boxes(good, box, good))

    assert checked.annotation.boxes == (good, good)
    assert [(p.file, p.box_index) for p in checked.problems] == [(SOURCE, 1)]
    assert reason in checked.problems[0].reason


def test_without_categories_any_non_negative_class_id_passes() -> None:
    annotation = Annotation("a.jpg", PORTRAIT, (Box(42, 1, 1, 5, 5),))
    assert check(annotation).annotation.boxes == (Box(42, 1, 1, 5, 5),)


def test_boxes_are_named_by_their_position_in_the_file() -> None:
    # Given box 1 unreadable (dropped by parse_seed) and box 3 outside the photo
    boxes = [
        {"class_id": 0, "left": 1, "top": 1, "width": 5, "height": 5},
        {"class_id": 0, "left": "1", "top": 1, "width": 5, "height": 5},
        {"class_id": 1, "left": 2, "top": 2, "width": 5, "height": 5},
        {"class_id": 1, "left": 900, "top": 2, "width": 5, "height": 5},
    ]
    annotation = parse_seed(raw(seed(annotations=boxes)), source=SOURCE)
    assert isinstance(annotation, ParsedAnnotation)
    # When checked
    checked = check(annotation)
    # Then both are reported with their own index, and the two good boxes are kept
    assert [p.box_index for p in checked.problems] == [1, 3]
    assert checked.annotation.boxes == (Box(0, 1, 1, 5, 5), Box(1, 2, 2, 5, 5))
    assert type(checked.annotation) is Annotation


def test_a_file_whose_boxes_are_all_bad_is_rejected_with_every_reason() -> None:
    annotation = with_boxes(Box(0, 10, 10, 0, 5), Box(9, 1, 1, 5, 5), Box(0, 900, 1, 5, 5), Box(0, 1, 1, -1, 1))
    error = check_rejected(annotation)

    assert error.message.startswith(f"{SOURCE}: no valid box left (box 0: zero or negative area")
    assert error.message.endswith("; and 1 more)")
    assert [d["box"] for d in error.details] == [0, 1, 2, 3]


def test_a_file_whose_boxes_are_all_unreadable_is_rejected_by_the_parser() -> None:
    # Even a caller that rebuilt a plain Annotation (losing `problems`) cannot take it for a photo of nothing.
    message = rejected(raw(seed(annotations=[{"class_id": 0}, {"class_id": 0, "left": 1}])))
    assert message == (
        f"{SOURCE}: no valid box left (box 0: missing 'left', 'top', 'width', 'height'; "
        "box 1: missing 'top', 'width', 'height')"
    )


def test_parse_problems_survive_dataclasses_replace() -> None:
    bad = {"class_id": 0, "left": "1", "top": 1, "width": 5, "height": 5}
    annotation = parse_seed(
        raw(seed(annotations=[bad, {"class_id": 0, "left": 1, "top": 1, "width": 5, "height": 5}])), source=SOURCE
    )
    brand_categories = (Category(0, "genuine"),)
    checked = check(replace(annotation, categories=brand_categories))
    assert [(p.box_index, p.reason) for p in checked.problems] == [(0, "'left' must be a number, got string")]
    assert checked.annotation.categories == brand_categories


def test_duplicate_categories_reject_an_annotation_from_any_source() -> None:
    annotation = Annotation("a.jpg", PORTRAIT, (Box(0, 1, 1, 5, 5),), (Category(0, "a"), Category(0, "b")))
    assert "duplicate class id 0" in check_rejected(annotation).message


def test_too_many_boxes_reject_an_annotation_from_any_source() -> None:
    annotation = with_boxes(*[Box(0, 1, 1, 5, 5)] * (MAX_BOXES + 1))
    assert f"at most {MAX_BOXES}" in check_rejected(annotation).message
