"""POST /brands/{brandId}/uploads through the real handler, against moto."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.ports import Outcome
from authentic.local.provision import Provisioned
from authentic.settings import Settings
from lambdas import uploads
from tests.support.aws import as_function
from tests.support.builders import jpeg, load_event


def call(
    method: str, brand: str, body: Any = None, raw: str | None = None, query: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    event = load_event("apigw_rest_request.json")
    event["queryStringParameters"] = query
    path = f"/brands/{brand}/uploads"
    event.update(
        {
            "resource": "/brands/{brandId}/uploads",
            "path": path,
            "httpMethod": method,
            "pathParameters": {"brandId": brand},
            "body": raw if raw is not None else (json.dumps(body) if body is not None else None),
        }
    )
    event["requestContext"].update({"resourcePath": "/brands/{brandId}/uploads", "httpMethod": method})
    with as_function("uploads"):  # exactly the uploads role's permissions
        response = uploads.create_handler()(event, _Context())
    return response["statusCode"], json.loads(response["body"])


class _Context:
    function_name = "uploads"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:uploads"
    aws_request_id = "req-1"


def test_forms_are_made_by_the_server_under_the_brand_prefix(moto_aws: Provisioned, app_settings: Settings) -> None:
    status, body = call("POST", "acme", {"pairs": [{"content_type": "image/png", "name": "../../etc/passwd"}]})

    assert status == 200
    (pair,) = body["pairs"]
    assert pair["name"] == "../../etc/passwd"  # echoed, never a path
    assert pair["image"]["fields"]["key"] == f"acme/{pair['pair_id']}/image"
    assert pair["annotation"]["fields"]["key"] == f"acme/{pair['pair_id']}/annotation.json"
    policy = json.loads(__import__("base64").b64decode(pair["image"]["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, app_settings.max_image_bytes] in conditions
    assert {"Content-Type": "image/png"} in conditions
    annotation_policy = json.loads(__import__("base64").b64decode(pair["annotation"]["fields"]["policy"]))
    assert ["content-length-range", 1, app_settings.max_annotation_bytes] in annotation_policy["conditions"]


def test_count_gives_that_many_distinct_pairs(moto_aws: Provisioned) -> None:
    status, body = call("POST", "acme", {"count": 3})
    assert status == 200
    assert len({p["pair_id"] for p in body["pairs"]}) == 3


def test_a_form_uploads_for_real(moto_aws: Provisioned, app_settings: Settings) -> None:
    _, body = call("POST", "acme", {"count": 1})
    form = body["pairs"][0]["image"]
    data = jpeg()
    response = requests.post(form["url"], data=form["fields"], files={"file": ("x.jpg", data)}, timeout=10)
    assert response.status_code in (200, 204)
    from authentic.aws import clients

    stored = clients.client("s3").get_object(Bucket=app_settings.uploads_bucket, Key=form["fields"]["key"])
    assert stored["Body"].read() == data


@pytest.mark.parametrize(
    ("brand", "body", "raw", "fragment"),
    [
        ("ACME", {"count": 1}, None, "brandId 'ACME' is not valid"),
        ("a_b", {"count": 1}, None, "is not valid"),
        ("-acme", {"count": 1}, None, "is not valid"),
        ("snapshots", {"count": 1}, None, "is reserved"),
        ("acme", {"count": 0}, None, "count"),
        ("acme", {}, None, "at least one pair"),
        ("acme", {"count": 1000}, None, "at most 100"),
        ("acme", {"count": 10**12}, None, "less than or equal to 1000"),  # refused before any list is built
        ("acme", {"pairs": [{}] * 1001}, None, "at most 1000 items"),
        ("acme", {"count": 1, "content_type": "image/gif"}, None, "'image/gif' is not accepted"),
        ("acme", {"count": 1, "pairs": []}, None, "either 'count' or 'pairs'"),
        ("acme", {"count": 1, "key": "x"}, None, "key"),
        ("acme", None, "{not json", "not valid JSON"),
        ("acme", [1, 2], None, "JSON object"),
    ],
)
def test_bad_requests_get_a_specific_400(
    moto_aws: Provisioned, brand: str, body: Any, raw: str | None, fragment: str
) -> None:
    status, answer = call("POST", brand, body, raw)
    assert status == 400
    assert fragment in answer["message"]


def test_summary_of_an_empty_brand(moto_aws: Provisioned) -> None:
    status, body = call("GET", "acme")
    assert status == 200
    assert body["images"] == 0
    assert body["counts"] == {"accepted": 0, "rejected": 0, "pending": 0, "stale": 0}


def test_an_uploader_asks_for_its_own_pairs_outcomes(moto_aws: Provisioned, app_settings: Settings) -> None:
    """Before any file of a pair is ingested the pair is `unknown` (not finished); then pending, then its outcome."""
    records = DynamoDatasetRecords(app_settings.table_name)
    waiting, half, done = (uuid.uuid4().hex for _ in range(3))
    records.record_arrival("acme", half, "image", version_id="v1", size=10, sequencer="01")
    records.record_arrival("acme", done, "image", version_id="v1", size=10, sequencer="01")
    arrived = records.record_arrival("acme", done, "annotation", version_id="v2", size=10, sequencer="02")
    assert records.commit_outcome("acme", done, arrived, Outcome("rejected", "f1", reason="the JPEG is truncated"))

    status, body = call("GET", "acme", query={"pairs": f"{waiting},{half},{done}"})

    assert status == 200
    assert [(p["pair_id"], p["status"]) for p in body["pairs"]] == [
        (waiting, "unknown"),
        (half, "pending"),
        (done, "rejected"),
    ]
    assert body["pairs"][2]["reason"] == "the JPEG is truncated"
    assert call("GET", "acme", query={"pairs": "not-a-pair"})[0] == 400
    assert call("GET", "acme", query={"pairs": ",".join(uuid.uuid4().hex for _ in range(101))})[0] == 400


def test_a_path_parameter_no_id_can_hold_gets_a_400_in_the_apis_shape(moto_aws: Provisioned) -> None:
    """API Gateway passes such a path (decoded) to the function; the resolver cannot match it to the route."""
    status, body = call("GET", "\x84")
    assert status == 400
    assert body["error"] == "invalid_input" and "path parameter" in body["message"]
