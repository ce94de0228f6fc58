"""Verify with barcodes: the photo's barcodes read for real (zxing-cpp on generated photos), checked against the
brand's registered GTINs, and weighed into the verdict. The endpoint and the records are fakes of our own ports;
`test_verify_handler` runs the same through the real endpoint and IAM."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from authentic.aws.ports import ClassRule, GtinEntry, VersionRecord
from authentic.barcodes.reader import Budget, Reading, Symbol
from authentic.cli.synthetic import BarcodePhoto, render_with_barcode
from authentic.models.policy import Policy
from authentic.settings import Settings
from authentic.verify.barcodes import BarcodeCheck, Timing
from authentic.verify.service import Verify
from tests.support.fakes import FakeDatasetRecords, FakeEndpoint, FakeGtinRecords, FakeModelRecords

EAN = "5901234123457"
GTIN = "05901234123457"
OTHER = "4006381333931"
# The fake endpoint answers at once: give the reading the time a real endpoint call takes.
WAIT_FOR_THE_READING = Timing(budget_seconds=10, grace_seconds=10, grace_share=1e9)  # the 10 s, however fast
CLASSES = [{"id": 0, "name": "shoe", "role": "genuine"}, {"id": 1, "name": "shoe-fake", "role": "counterfeit"}]


class Brand:
    """A brand "acme" whose version 1 is live; the endpoint "detects" what the test says, where the photo has it."""

    def __init__(self, live: bool = True) -> None:
        self.models = FakeModelRecords()
        self.gtins = FakeGtinRecords()
        self.endpoint = FakeEndpoint()
        if live:
            self.models.put_version(
                VersionRecord("acme", 1, "job-1", "s3://a/m.tar.gz", "acme/v00001.tar.gz", {"threshold": 0.5},
                              {"classes": CLASSES}, {"passed": True})
            )  # fmt: skip
            self.models.move_live("acme", 1, "acme/v00001.tar.gz", "test", order=1.0, manual=False)
        self.reads: list[int] = []

        def counting_read(body: bytes, budget: Budget, reading: Reading) -> Reading:
            from authentic.barcodes.reader import read_photo

            self.reads.append(len(body))
            return read_photo(body, budget, reading)

        config = Settings(uploads_bucket="u", dataset_bucket="d", table_name="t", endpoint_name="e")
        self.verify = Verify(
            Policy(self.models, FakeDatasetRecords()),
            self.endpoint,
            config,
            barcodes=BarcodeCheck(self.gtins, read=counting_read, timing=WAIT_FOR_THE_READING),
        )

    def detects(self, class_id: int, box: Any) -> None:
        detection = {"class_id": class_id, "name": CLASSES[class_id]["name"], "confidence": 0.9,
                     "box": {"left": box.left, "top": box.top, "width": box.width, "height": box.height}}  # fmt: skip
        self.endpoint.answers["acme/v00001.tar.gz"] = json.dumps({"detections": [detection]}).encode()

    def __call__(self, path: Path) -> dict[str, Any]:
        return self.verify("acme", path.read_bytes(), "image/jpeg").to_json()


def shot(tmp_path: Path, code: str = EAN, *, class_id: int = 0, on_product: bool = True) -> tuple[Path, BarcodePhoto]:
    path = tmp_path / f"photo-{code}-{class_id}-{on_product}.jpg"
    return path, render_with_barcode(path, code=code[:12], class_id=class_id, seed=1, on_product=on_product)


def test_a_registered_barcode_on_the_genuine_product_strengthens_the_answer(tmp_path: Path) -> None:
    brand = Brand()
    brand.gtins.replace("acme", [GtinEntry(GTIN, "shoe")])
    path, drawn = shot(tmp_path)
    brand.detects(0, drawn.product)

    answer = brand(path)

    assert answer["verdict"] == "genuine"
    assert f"its barcode {GTIN} is registered to this brand for 'shoe'" in answer["reason"]
    (barcode,) = answer["barcodes"]
    assert {k: barcode[k] for k in ("format", "text", "gtin", "check_digit_ok", "registered", "class")} == {
        "format": "EAN-13", "text": EAN, "gtin": GTIN, "check_digit_ok": True, "registered": True, "class": "shoe",
    }  # fmt: skip
    left, top, right, bottom = drawn.label
    box = barcode["box"]
    assert left <= box["left"] and box["left"] + box["width"] <= right
    assert top <= box["top"] and box["top"] + box["height"] <= bottom
    assert brand.gtins.lookups == [("acme", (GTIN,))]


def test_an_unregistered_barcode_on_the_product_makes_it_counterfeit(tmp_path: Path) -> None:
    brand = Brand()
    brand.gtins.replace("acme", [GtinEntry(GTIN, "shoe")])
    path, drawn = shot(tmp_path, OTHER)
    brand.detects(0, drawn.product)

    answer = brand(path)

    assert answer["verdict"] == "counterfeit"
    assert answer["reason"].startswith(f"barcode 0{OTHER} is not registered to this brand")
    assert answer["barcodes"][0]["registered"] is False


def test_a_relabelled_product_is_counterfeit(tmp_path: Path) -> None:
    brand = Brand()
    brand.models.put_version(
        VersionRecord("acme", 1, "job-1", "s3://a/m.tar.gz", "acme/v00001.tar.gz", {"threshold": 0.5},
                      {"classes": [*CLASSES, {"id": 2, "name": "boot", "role": "genuine"}]}, {"passed": True})
    )  # fmt: skip
    brand.gtins.replace("acme", [GtinEntry(GTIN, "boot")])  # the barcode is the boot's; the product a shoe
    path, drawn = shot(tmp_path)
    brand.detects(0, drawn.product)

    answer = brand(path)

    assert answer["verdict"] == "counterfeit"
    assert "registered to this brand's 'boot', not to 'shoe' (a relabelled product)" in answer["reason"]


def test_an_unregistered_barcode_beside_the_product_leaves_it_genuine(tmp_path: Path) -> None:
    brand = Brand()
    path, drawn = shot(tmp_path, OTHER, on_product=False)
    brand.detects(0, drawn.product)

    answer = brand(path)

    assert answer["verdict"] == "genuine"
    assert "not on the detected product: not taken as evidence" in answer["reason"]


def test_barcodes_are_reported_without_a_live_model(tmp_path: Path) -> None:
    brand = Brand(live=False)
    brand.gtins.replace("acme", [GtinEntry(GTIN)])
    path, _ = shot(tmp_path)

    answer = brand(path)

    assert (answer["verdict"], answer["model_version"]) == ("inconclusive", None)
    assert answer["reason"].startswith("no live model for the brand")
    assert [(b["gtin"], b["registered"]) for b in answer["barcodes"]] == [(GTIN, True)]
    assert brand.endpoint.calls == []


def test_required_needs_a_registered_barcode_in_view(tmp_path: Path) -> None:
    brand = Brand()
    brand.models.put_policy("acme", {}, barcode="required")
    path, drawn = shot(tmp_path, on_product=False)  # lying beside the product, and not registered
    brand.detects(0, drawn.product)

    assert brand(path)["reason"].startswith("no registered barcode in view")

    brand.gtins.replace("acme", [GtinEntry(GTIN, "shoe")])
    brand.verify._mode_cache.clear()
    assert brand(path)["verdict"] == "genuine"


def test_off_reads_nothing(tmp_path: Path) -> None:
    brand = Brand()
    brand.models.put_policy("acme", {"shoe": ClassRule(threshold=0.5)}, barcode="off")
    path, drawn = shot(tmp_path, OTHER)
    brand.detects(0, drawn.product)

    answer = brand(path)

    assert (answer["verdict"], answer["barcodes"]) == ("genuine", [])
    assert brand.reads == []


def test_the_photo_is_read_as_it_came_not_as_shrunk_for_the_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    brand = Brand()
    path, drawn = shot(tmp_path)
    brand.detects(0, drawn.product)
    small = path.stat().st_size // 3
    brand.verify = Verify(
        brand.verify.policy,
        brand.endpoint,
        brand.verify.settings.model_copy(update={"invoke_max_bytes": small}),
        barcodes=brand.verify.barcodes,
    )

    answer = brand(path)

    assert brand.endpoint.calls[0][2] <= small  # the endpoint got the shrunk photo ...
    assert brand.reads == [path.stat().st_size]  # ... the reader the original
    assert answer["barcodes"][0]["gtin"] == GTIN


class SlowEndpoint(FakeEndpoint):
    """The fake endpoint, answering after `seconds` as a real model call does."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def invoke(
        self, endpoint_name: str, target_model: str, body: bytes, content_type: str, *, custom_attributes: str = ""
    ) -> bytes:
        time.sleep(self.seconds)
        return super().invoke(endpoint_name, target_model, body, content_type, custom_attributes=custom_attributes)


def brand_reading_with(read: Any, timing: Timing, endpoint: FakeEndpoint) -> Brand:
    brand = Brand()
    brand.endpoint = endpoint
    config = Settings(uploads_bucket="u", dataset_bucket="d", table_name="t", endpoint_name="e")
    brand.verify = Verify(brand.verify.policy, endpoint, config, barcodes=BarcodeCheck(brand.gtins, read, timing))
    return brand


def test_an_advisory_answer_carries_the_barcode_while_its_confirmation_still_runs(tmp_path: Path) -> None:
    path, drawn = shot(tmp_path)
    confirming = threading.Event()

    def found_then_confirming(body: bytes, budget: Budget, reading: Reading) -> Reading:
        with Image.open(path) as image:
            reading.size = image.size
        left, top, right, bottom = (float(v) for v in drawn.label)
        corners = ((left, top), (right, top), (right, bottom), (left, bottom))
        reading.symbols = [Symbol("EAN-13", EAN, "]E0", corners, confirmed=False, stage="scan")]  # found, published
        confirming.wait(10)  # the bar-profile fit takes far longer than the model's answer
        return reading

    brand = brand_reading_with(found_then_confirming, Timing(), SlowEndpoint(0.05))
    brand.gtins.replace("acme", [GtinEntry(GTIN, "shoe")])
    brand.detects(0, drawn.product)
    try:
        answer = brand(path)
    finally:
        confirming.set()

    assert answer["verdict"] == "genuine"
    assert f"its barcode {GTIN} is registered to this brand for 'shoe'" in answer["reason"]
    assert [(b["gtin"], b["registered"], b["confirmed"]) for b in answer["barcodes"]] == [(GTIN, True, False)]


def test_an_advisory_reading_delays_the_answer_by_at_most_its_share_of_the_model_call(tmp_path: Path) -> None:
    path, drawn = shot(tmp_path)
    released = threading.Event()

    def never_done(body: bytes, budget: Budget, reading: Reading) -> Reading:
        released.wait(30)
        return reading

    # A grace of 10 s, but at most a tenth of the 0.2 s the model took: the answer does not wait for the reading.
    brand = brand_reading_with(never_done, Timing(budget_seconds=30, grace_seconds=10, grace_share=0.1),
                               SlowEndpoint(0.2))  # fmt: skip
    brand.detects(0, drawn.product)
    started = time.monotonic()
    try:
        answer = brand(path)
    finally:
        released.set()

    assert time.monotonic() - started < 5  # not the 10 s grace; about 0.22 s on an idle machine
    assert (answer["verdict"], answer["barcodes"]) == ("genuine", [])


def test_the_grace_past_the_answer_by_mode() -> None:
    timing = Timing(grace_seconds=0.01, required_grace_seconds=1.0, grace_share=0.1)
    assert timing.grace("advisory", 0.05) == pytest.approx(0.005)  # a tenth of a fast answer
    assert timing.grace("advisory", 0.5) == pytest.approx(0.01)  # never more than the grace
    assert timing.grace("required", 0.05) == pytest.approx(1.0)  # a required barcode is worth the wait
