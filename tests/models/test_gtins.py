"""The brand's registered GTINs: GS1 validation with every wrong entry named, the limits, and the routes
(`GET/PUT /brands/{brandId}/gtins`) on moto with the functions' own IAM permissions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from authentic import keys
from authentic.aws.gtin_records import DynamoGtinRecords
from authentic.aws.ports import (
    Contribution,
    DatasetSummary,
    GtinEntry,
    Outcome,
    PairFiles,
)
from authentic.errors import PayloadTooLarge, UnprocessableEntries
from authentic.local.provision import Provisioned
from authentic.models.gtins import MAX_GTINS_PER_BRAND, GtinRegistry, check_body_size
from authentic.models.policy import Policy
from authentic.settings import Settings
from lambdas import training
from tests.support.aws import as_function
from tests.support.fakes import FakeDatasetRecords, FakeGtinRecords, FakeModelRecords

EVENTS = Path(__file__).resolve().parents[1] / "events"


def registry(classes: tuple[str, ...] = ("shoe", "boot")) -> GtinRegistry:
    datasets = FakeDatasetRecords()
    datasets.datasets["acme"] = DatasetSummary(images=10, categories=dict(enumerate(classes)))
    return GtinRegistry(FakeGtinRecords(), Policy(FakeModelRecords(), datasets))


def test_gtins_are_stored_as_gtin_14_each_with_its_class() -> None:
    gtins = registry()
    answer = gtins.put(
        "acme",
        {
            "gtins": [
                "5901234123457",
                {"gtin": "96385074", "class": "boot"},
                {"gtin": "04965802", "format": "UPC-E", "class": "shoe"},
                {"gtin": "036000291452"},
            ]
        },
    )
    assert answer["gtins"] == [
        {"gtin": "00000096385074", "class": "boot"},
        {"gtin": "00036000291452", "class": None},
        {"gtin": "00049000006582", "class": "shoe"},  # the UPC-E expanded to its UPC-A
        {"gtin": "05901234123457", "class": None},
    ]
    assert (answer["count"], answer["added"], answer["removed"]) == (4, 4, 0)
    assert gtins.get("acme")["gtins"] == answer["gtins"]
    again = gtins.put("acme", {"gtins": ["05901234123457", "5901234123457"]})  # the same GTIN twice is one
    assert (again["count"], again["removed"]) == (1, 3)


def test_every_wrong_entry_is_named_in_one_answer() -> None:
    with pytest.raises(UnprocessableEntries) as refused:
        registry().put(
            "acme",
            {
                "gtins": [
                    "5901234123457",  # fine
                    "5901234123458",  # check digit
                    {"gtin": "96385074", "class": "hat"},  # not a class of the brand
                    "59012341234",  # 11 digits
                    {"gtin": "0412345678903"},  # in-store number
                    {"gtin": "04965802"},  # a UPC-E not marked as one
                    {"gtin": "5901234123457", "class": "boot"},  # entry 1 again, another class
                    {"gtin": "5901234123457", "colour": "red"},
                    42,
                ]
            },
        )
    assert refused.value.status == 422
    problems = refused.value.details["problems"]
    assert [p["entry"] for p in problems] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "it should be 7" in problems[0]["problem"]
    assert "class 'hat' is not one of this brand's classes ('boot', 'shoe')" in problems[1]["problem"]
    assert "has 11 digits" in problems[2]["problem"]
    assert "restricted circulation" in problems[3]["problem"]
    assert "mark it as UPC-E" in problems[4]["problem"]
    assert "also entry 1" in problems[5]["problem"]
    assert "unknown field(s) colour" in problems[6]["problem"]
    assert refused.value.message.startswith("8 of 9 entries are not valid GTINs of this brand: entry 2")


def test_the_limits_are_answered_413_with_what_they_are() -> None:
    with pytest.raises(PayloadTooLarge) as too_many:
        registry().put("acme", {"gtins": ["5901234123457"] * (MAX_GTINS_PER_BRAND + 1)})
    assert "at most 10,000" in too_many.value.message
    with pytest.raises(PayloadTooLarge) as too_big:
        check_body_size(3_000_000)
    assert "3.0 MB" in too_big.value.message and "at most 2 MB" in too_big.value.message


def test_a_body_that_is_not_a_list_says_the_shape() -> None:
    with pytest.raises(Exception) as refused:
        registry().put("acme", {"gtin": "5901234123457"})
    assert '{"gtins": [...]}' in str(refused.value)


# -- the routes, on moto, as the training function -------------------------------------------------------------


class _Context:
    function_name = "training"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:training"
    aws_request_id = "req-1"


def call(method: str, brand: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    event = json.loads((EVENTS / "apigw_rest_request.json").read_text())
    event.update(
        {
            "resource": "/brands/{brandId}/gtins",
            "path": f"/brands/{brand}/gtins",
            "httpMethod": method,
            "pathParameters": {"brandId": brand},
            "body": json.dumps(body) if body is not None else None,
        }
    )
    event["requestContext"].update({"resourcePath": "/brands/{brandId}/gtins", "httpMethod": method})
    with as_function("training"):  # a cold start: the services are built as the function, with its role
        response = training.create_handler()(event, _Context())
    return response["statusCode"], json.loads(response["body"])


def seed_classes(app_settings: Settings, brand: str, names: tuple[str, ...]) -> None:
    from authentic.aws.dataset_records import DynamoDatasetRecords

    records = DynamoDatasetRecords(app_settings.table_name)
    pair = records.record_arrival(brand, "p1", "image", version_id="v1", size=1, sequencer="1")
    pair = records.record_arrival(brand, "p1", "annotation", version_id="v1", size=1, sequencer="2")
    records.commit_outcome(
        brand,
        "p1",
        pair,
        Outcome(
            "accepted",
            "f1",
            contribution=Contribution(1, dict.fromkeys(range(len(names)), 1), dict.fromkeys(range(len(names)), 1)),
            categories=dict(enumerate(names)),
            files=PairFiles(
                source_file="a.jpg",
                image_key=keys.dataset_object_key(brand, "a" * 64, "jpg"),
                annotation_key=keys.dataset_object_key(brand, "b" * 64, "json"),
                sha256="a" * 64,
            ),
        ),
    )


def test_the_routes_register_and_list_a_brands_gtins(moto_aws: Provisioned, app_settings: Settings) -> None:
    seed_classes(app_settings, "acme", ("shoe", "boot"))
    status, answer = call("PUT", "acme", {"gtins": [{"gtin": "5901234123457", "class": "shoe"}, "96385074"]})
    assert status == 200, answer
    assert answer["count"] == 2

    status, listed = call("GET", "acme")
    assert status == 200
    assert listed["gtins"] == [
        {"gtin": "00000096385074", "class": None},
        {"gtin": "05901234123457", "class": "shoe"},
    ]
    assert call("GET", "other") == (200, {"brand_id": "other", "count": 0, "gtins": []})  # not acme's list


def test_the_route_answers_422_naming_every_wrong_entry(moto_aws: Provisioned, app_settings: Settings) -> None:
    status, answer = call("PUT", "acme", {"gtins": ["5901234123458", "96385074", "123"]})
    assert status == 422
    assert answer["error"] == "invalid_entries"
    assert [p["entry"] for p in answer["details"]["problems"]] == [1, 3]
    assert call("GET", "acme")[1]["count"] == 0  # nothing of a refused list is stored


def test_a_brand_id_that_is_not_valid_is_refused(moto_aws: Provisioned) -> None:
    assert call("GET", "ACME!")[0] == 400


def test_the_verify_function_may_look_gtins_up_but_not_change_them(
    moto_aws: Provisioned, app_settings: Settings
) -> None:
    DynamoGtinRecords(app_settings.table_name).replace("acme", [GtinEntry("05901234123457", "shoe")])
    with as_function("verify"):
        records = DynamoGtinRecords(app_settings.table_name)
        assert records.lookup("acme", ["05901234123457", "04006381333931"]) == {
            "05901234123457": GtinEntry("05901234123457", "shoe")
        }
        with pytest.raises(ClientError) as denied:
            records.replace("acme", [])
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
