"""The verdict table (README, "The verdict with barcodes"), row by row: the detector's answer (genuine,
counterfeit, nothing) × the barcode in the photo (registered and matching, registered to another class,
unregistered, none, unreadable), under the advisory and required settings; and the conditions that keep a
barcode from calling a genuine product counterfeit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from authentic.aws.ports import GtinCoverage
from authentic.verify.barcode_verdict import NO_REGISTERED_BARCODE, combine, lies_on
from authentic.verify.barcodes import BarcodeFinding
from authentic.verify.verdict import NOTHING_RECOGNISED, Verdict, decide

CLASSES = [
    {"id": 0, "name": "shoe", "role": "genuine", "threshold": 0.5},
    {"id": 1, "name": "boot", "role": "genuine", "threshold": 0.5},
    {"id": 2, "name": "shoe-fake", "role": "counterfeit", "threshold": 0.5},
]
PRODUCT = {"left": 100, "top": 100, "width": 300, "height": 400}  # the detected product's box
ON = {"left": 180, "top": 380, "width": 140, "height": 60}  # a barcode printed on it
TOUCHING = {"left": 400, "top": 300, "width": 120, "height": 60}  # a label touching its right edge
OFF = {"left": 600, "top": 300, "width": 120, "height": 60}  # one lying beside it on the table


def detector(answer: str) -> Verdict:
    """What the detector alone says: a genuine shoe, a known counterfeit, or nothing recognised."""
    class_id = {"genuine": 0, "counterfeit": 2, "nothing": None}[answer]
    if class_id is None:
        return decide([], CLASSES)
    return decide(
        [{"class_id": class_id, "name": CLASSES[class_id]["name"], "confidence": 0.9, "box": PRODUCT}], CLASSES
    )


# The brand's list has GTINs of its shoes and boots: a barcode it does not list on either is held against it.
LISTED = GtinCoverage(frozenset({"shoe", "boot"}))


def barcode(
    kind: str,
    *,
    box: Mapping[str, float] | None = None,
    confirmed: bool = True,
    trade_item: bool = True,
    registry: GtinCoverage = LISTED,
) -> BarcodeFinding:
    gtin, ok, registered, name = {
        "matching": ("05901234123457", True, True, "shoe"),
        "untied": ("05901234123457", True, True, None),  # registered to the brand, no class given
        "other-class": ("05901234123464", True, True, "boot"),
        "unregistered": ("04006381333931", True, False, None),
        "unreadable": ("09506000134353", False, False, None),
    }[kind]
    return BarcodeFinding("EAN-13", gtin[1:], gtin, ok, registered, name, box or ON, confirmed, trade_item, registry)


# -- the table, row by row: (detector, barcode) -> (advisory, required) --------------------------------------
TABLE = [
    ("genuine", "matching", "genuine", "genuine"),
    ("genuine", "other-class", "counterfeit", "counterfeit"),
    ("genuine", "unregistered", "counterfeit", "counterfeit"),
    ("genuine", "none", "genuine", "inconclusive"),
    ("genuine", "unreadable", "genuine", "inconclusive"),
    ("counterfeit", "matching", "counterfeit", "counterfeit"),
    ("counterfeit", "other-class", "counterfeit", "counterfeit"),
    ("counterfeit", "unregistered", "counterfeit", "counterfeit"),
    ("counterfeit", "none", "counterfeit", "counterfeit"),
    ("counterfeit", "unreadable", "counterfeit", "counterfeit"),
    ("nothing", "matching", "inconclusive", "inconclusive"),
    ("nothing", "other-class", "inconclusive", "inconclusive"),
    ("nothing", "unregistered", "inconclusive", "inconclusive"),
    ("nothing", "none", "inconclusive", "inconclusive"),
    ("nothing", "unreadable", "inconclusive", "inconclusive"),
]


@pytest.mark.parametrize(("seen", "read", "advisory", "required"), TABLE)
def test_the_verdict_table(seen: str, read: str, advisory: str, required: str) -> None:
    found = [] if read == "none" else [barcode(read)]
    assert combine(detector(seen), found, "advisory").verdict == advisory
    assert combine(detector(seen), found, "required").verdict == required
    assert combine(detector(seen), found, "off") == detector(seen)  # off: the detector alone


def test_the_reasons_say_what_the_barcode_showed() -> None:
    assert "its barcode 05901234123457 is registered to this brand for 'shoe'" in (
        combine(detector("genuine"), [barcode("matching")], "advisory").reason
    )
    relabelled = combine(detector("genuine"), [barcode("other-class")], "advisory").reason
    assert relabelled.startswith("barcode 05901234123464 is registered to this brand's 'boot', not to 'shoe'")
    assert "relabelled" in relabelled and "on the detected product (genuine class 'shoe' at 0.90)" in relabelled
    unregistered = combine(detector("genuine"), [barcode("unregistered")], "advisory").reason
    assert unregistered.startswith("barcode 04006381333931 is not registered to this brand")
    required = combine(detector("genuine"), [], "required")
    assert required.reason.startswith(NO_REGISTERED_BARCODE)
    assert "check digit fails: not used" in combine(detector("genuine"), [barcode("unreadable")], "advisory").reason
    assert "counterfeits copy barcodes" in combine(detector("counterfeit"), [barcode("matching")], "advisory").reason
    nothing = combine(detector("nothing"), [barcode("unregistered")], "advisory").reason
    assert nothing.startswith(NOTHING_RECOGNISED) and "not registered to this brand" in nothing


def test_a_gtin_registered_without_a_class_matches_any_product_of_the_brand() -> None:
    assert combine(detector("genuine"), [barcode("untied")], "required").verdict == "genuine"


@pytest.mark.parametrize("kind", ["other-class", "unregistered"])
def test_a_mismatch_off_the_product_leaves_the_verdict_and_is_reported(kind: str) -> None:
    verdict = combine(detector("genuine"), [barcode(kind, box=OFF)], "advisory")
    assert verdict.verdict == "genuine"
    assert "not on the detected product: not taken as evidence" in verdict.reason


@pytest.mark.parametrize("kind", ["other-class", "unregistered"])
def test_a_mismatch_touching_the_product_counts(kind: str) -> None:
    assert lies_on(TOUCHING, PRODUCT)
    assert combine(detector("genuine"), [barcode(kind, box=TOUCHING)], "advisory").verdict == "counterfeit"


@pytest.mark.parametrize("kind", ["other-class", "unregistered"])
def test_a_mismatch_read_only_once_is_not_evidence(kind: str) -> None:
    verdict = combine(detector("genuine"), [barcode(kind, confirmed=False)], "advisory")
    assert verdict.verdict == "genuine"
    assert "read only once" in verdict.reason


def test_a_shops_in_store_number_is_not_evidence() -> None:
    label = BarcodeFinding("EAN-13", "2111220009686", "02111220009686", True, False, None, ON, True, False)
    verdict = combine(detector("genuine"), [label], "advisory")
    assert verdict.verdict == "genuine"
    assert "in-store number" in verdict.reason


def test_an_unregistered_label_beside_the_brands_own_barcode_is_not_evidence() -> None:
    importer = barcode("unregistered", box={"left": 180, "top": 200, "width": 140, "height": 60})
    verdict = combine(detector("genuine"), [barcode("matching"), importer], "advisory")
    assert verdict.verdict == "genuine"
    assert "also carries one of the brand's registered barcodes" in verdict.reason


def test_a_barcode_on_another_product_of_the_brand_matches_that_one() -> None:
    boot = {"left": 450, "top": 100, "width": 200, "height": 300}
    detections: list[dict[str, Any]] = [
        {"class_id": 0, "name": "shoe", "confidence": 0.9, "box": PRODUCT},
        {"class_id": 1, "name": "boot", "confidence": 0.8, "box": boot},
    ]
    boots_barcode = barcode("other-class", box={"left": 500, "top": 300, "width": 100, "height": 50})
    assert combine(decide(detections, CLASSES), [boots_barcode], "advisory").verdict == "genuine"
    on_the_shoe = barcode("other-class")
    assert combine(decide(detections, CLASSES), [on_the_shoe], "advisory").verdict == "counterfeit"


def test_under_required_a_barcode_elsewhere_in_the_photo_may_be_the_registered_one() -> None:
    assert combine(detector("genuine"), [barcode("matching", box=OFF)], "required").verdict == "genuine"


def test_the_detections_are_kept() -> None:
    seen = detector("genuine")
    assert combine(seen, [barcode("unregistered")], "advisory").detections == seen.detections


@pytest.mark.parametrize(
    ("registry", "why"),
    [
        (GtinCoverage(), "this brand has registered no barcodes of 'shoe'"),  # the brand registered nothing yet
        (GtinCoverage(frozenset({"boot"})), "this brand has registered no barcodes of 'shoe'"),  # only its boots'
    ],
)
def test_an_unlisted_barcode_says_nothing_of_a_product_whose_barcodes_the_brand_has_not_listed(
    registry: GtinCoverage, why: str
) -> None:
    answer = combine(detector("genuine"), [barcode("unregistered", registry=registry)], "advisory")
    assert answer.verdict == "genuine"
    assert f"barcode 04006381333931 is not registered to this brand, but {why}: not taken as evidence" in (
        answer.reason
    )


def test_gtins_tied_to_no_class_speak_for_every_product() -> None:
    untied = GtinCoverage(untied=True)
    assert combine(detector("genuine"), [barcode("unregistered", registry=untied)], "advisory").verdict == (
        "counterfeit"
    )
