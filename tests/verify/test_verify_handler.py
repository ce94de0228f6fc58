"""The verify Lambda against moto, with `invoke_endpoint` served by the real inference server in-process
(through the local SageMaker stand-in, so the production `Endpoint` adapter makes the call). Both routes: the
shopper's `POST /verify?brand=` and the brand's `POST /brands/{brandId}/verify`."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from PIL import Image

from authentic.aws import clients
from authentic.aws.gtin_records import DynamoGtinRecords
from authentic.aws.model_records import DynamoModelRecords
from authentic.aws.ports import ClassRule, GtinEntry, VersionRecord
from authentic.aws.sagemaker import SageMakerEndpoint
from authentic.cli.synthetic import barcode_label
from authentic.contracts import MAX_VERIFY_PHOTO_BYTES, MAX_VERIFY_PIXELS
from authentic.errors import ServiceUnavailable
from authentic.inference.server import ServerSettings, create_app
from authentic.local.background import BackgroundServer
from authentic.local.events import api_gateway_event
from authentic.local.iam.enforcer import Enforcer
from authentic.local.iam.evaluator import evaluator
from authentic.local.sagemaker import LocalSageMaker
from authentic.models.policy import Policy
from authentic.settings import Settings
from authentic.verify.service import Verify
from lambdas import verify
from tests.support.aws import as_function, enforced_aws
from tests.support.fakes import FakeDatasetRecords, FakeModelRecords
from tests.support.scenes import Shape, draw_scene, encode

ENDPOINT = "authentic-test"
LABELS = {
    "classes": [
        {"id": 0, "name": "genuine", "role": "genuine"},
        {"id": 1, "name": "counterfeit", "role": "counterfeit"},
    ]
}


class _Context:
    function_name = "verify"
    memory_limit_in_mb = 1536
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:verify"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


@pytest.fixture
def deployed(
    inference_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    local_templates: dict[str, dict[str, Any]],
) -> Iterator[Settings]:
    """Given a brand "acme" whose version 1 is live, and an endpoint that really serves it (IAM enforced: the
    endpoint loads the model as its own role, and only the verify role may invoke it)."""
    config = Settings(
        uploads_bucket="test-uploads",
        dataset_bucket="test-dataset",
        artifacts_bucket="test-artifacts",
        live_bucket="test-live",
        table_name="test-table",
        endpoint_name=ENDPOINT,
        training_role_arn="arn:aws:iam::123456789012:role/authentic-training",
    )
    for name, value in config.to_env().items():
        monkeypatch.setenv(name, value)
    server = BackgroundServer(
        create_app(ServerSettings(host="127.0.0.1", port=0, workers=1, memory_budget_bytes=512 << 20))
    ).start()
    with enforced_aws(config, local_templates, monkeypatch) as (_, principals):
        stand_in = LocalSageMaker(
            jobs_root=tmp_path / "jobs",
            models_root=tmp_path / "models",
            live_bucket=config.live_bucket,
            endpoint_name=ENDPOINT,
            inference_url=server.url,
            on_job_end=lambda job: None,
            enforcer=Enforcer(evaluator()),
            hosting_credentials=principals.hosting.credentials,
        )
        runtime = BackgroundServer(stand_in.app).start()
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", runtime.url)
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            for path in sorted(inference_model_dir.iterdir()):
                tar.add(path, arcname=path.name)
        clients.client("s3").put_object(Bucket=config.live_bucket, Key="acme/v00001.tar.gz", Body=archive.getvalue())
        records = DynamoModelRecords(config.table_name)
        records.put_version(
            VersionRecord(
                brand_id="acme",
                version=1,
                job_name="authentic-acme-1",
                artifact_uri="s3://test-artifacts/acme/authentic-acme-1/output/model.tar.gz",
                live_key="acme/v00001.tar.gz",
                labels=LABELS,
                metrics={"threshold": 0.3},
                gate={"passed": True},
            )
        )
        records.move_live("acme", 1, "acme/v00001.tar.gz", "test", order=1.0, manual=False)
        clients.clear()
        yield config
        runtime.stop()
    server.stop()
    clients.clear()


BRAND_SERVER = "arn:aws:iam::123456789012:role/brand-server"


def call(brand: str | None, body: bytes, content_type: str, *, signed: bool = False) -> tuple[int, dict[str, Any]]:
    """POST the photo to the public route, or (`signed`) to the brand route as the brand web server."""
    headers = {"Content-Type": content_type}
    if signed:
        path = f"/brands/{brand}/verify"
        event = api_gateway_event(
            "POST",
            "/brands/{brandId}/verify",
            path,
            path_parameters={"brandId": str(brand)},
            headers=headers,
            body=body,
            binary=True,
            caller_arn=BRAND_SERVER,
        )
    else:
        event = api_gateway_event(
            "POST",
            "/verify",
            "/verify",
            query={"brand": brand} if brand else None,
            headers=headers,
            body=body,
            binary=True,
            caller_arn=None,
        )
    with as_function("verify"):  # exactly the verify role's permissions
        response = verify.create_handler()(event, _Context())  # a cold start: settings are read again
    return response["statusCode"], json.loads(response["body"])


def scene_png(shapes: list[Shape]) -> bytes:
    return encode(draw_scene(256, 192, shapes), "PNG")


def test_a_counterfeit_in_the_photo_gives_a_counterfeit_verdict_with_its_boxes(deployed: Settings) -> None:
    photo = scene_png([Shape(0, 28, 40, 70, 56), Shape(1, 150, 90, 72, 64)])
    status, answer = call("acme", photo, "image/png", signed=True)

    assert status == 200
    assert answer["verdict"] == "counterfeit"
    assert answer["model_version"] == 1
    assert answer["image_size"] == {"width": 256, "height": 192}
    counted = {d["name"] for d in answer["detections"] if d["counts"]}
    assert counted == {"genuine", "counterfeit"}
    assert all(d["threshold"] == pytest.approx(0.3) for d in answer["detections"])

    # The shopper gets the same verdict and the same counting boxes, with rounded confidences and nothing more.
    status, public = call("acme", photo, "image/png")
    assert (status, public["verdict"], public["image_size"]) == (200, "counterfeit", answer["image_size"])
    counting = [d for d in answer["detections"] if d["counts"]]
    assert [(d["name"], d["box"]) for d in public["detections"]] == [(d["name"], d["box"]) for d in counting]
    assert [d["confidence"] for d in public["detections"]] == [round(d["confidence"], 2) for d in counting]
    assert "threshold" not in json.dumps(public) and "timings_ms" not in public


def test_only_the_genuine_product_gives_genuine(deployed: Settings) -> None:
    status, answer = call("acme", scene_png([Shape(0, 90, 60, 80, 64)]), "image/png")
    assert status == 200
    assert answer["verdict"] == "genuine", answer["reason"]
    box = answer["detections"][0]["box"]
    assert abs(box["left"] - 90) < 8 and abs(box["top"] - 60) < 8


def test_near_misses_and_thresholds_go_only_to_the_brand(deployed: Settings) -> None:
    # Given a policy whose threshold the genuine product cannot reach: its detection is a near miss
    DynamoModelRecords(deployed.table_name).put_policy("acme", {"genuine": ClassRule(threshold=0.999)})
    photo = scene_png([Shape(0, 90, 60, 80, 64)])

    status, full = call("acme", photo, "image/png", signed=True)
    assert (status, full["verdict"]) == (200, "inconclusive")
    assert "below its threshold 1.00" in full["reason"]
    assert any(d["name"] == "genuine" and d["counts"] is False for d in full["detections"])

    status, public = call("acme", photo, "image/png")
    assert (status, public["verdict"], public["reason"], public["detections"]) == (
        200,
        "inconclusive",
        "nothing recognised",
        [],
    )


def test_an_empty_scene_is_nothing_recognised(deployed: Settings) -> None:
    status, answer = call("acme", scene_png([]), "image/png")
    assert status == 200
    assert answer["verdict"] == "inconclusive"
    assert answer["reason"].startswith("nothing recognised")


def test_no_live_model_is_inconclusive_with_that_reason(deployed: Settings) -> None:
    status, answer = call("newbrand", scene_png([]), "image/png")
    assert (status, answer["verdict"], answer["reason"]) == (200, "inconclusive", "no live model for the brand")


def test_unreadable_photos_and_wrong_types(deployed: Settings) -> None:
    status, answer = call("acme", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg")
    assert status == 200
    assert answer["verdict"] == "inconclusive"
    assert answer["reason"].startswith("photo unreadable")
    assert call("acme", b"hello", "text/plain")[0] == 415
    assert call("acme", b"hello", "text/plain", signed=True)[0] == 415
    assert call(None, b"x", "image/png")[0] == 400
    assert call("ACME!", b"x", "image/png")[0] == 400
    assert call("ACME!", b"x", "image/png", signed=True)[0] == 400


def test_a_photo_over_the_invoke_limit_is_shrunk_and_boxes_come_back_in_its_pixels(
    deployed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = draw_scene(1024, 768, [Shape(0, 360, 240, 320, 256)])
    out = io.BytesIO()
    image.save(out, "PNG")
    monkeypatch.setenv("INVOKE_MAX_BYTES", str(len(out.getvalue()) // 3))

    status, answer = call("acme", out.getvalue(), "image/png", signed=True)

    assert status == 200
    assert answer["verdict"] == "genuine", answer["reason"]
    assert answer["image_size"]["width"] == pytest.approx(1024, abs=2)
    box = next(d["box"] for d in answer["detections"] if d["counts"])
    assert abs(box["left"] - 360) < 24 and abs(box["width"] - 320) < 40


def test_a_photo_over_the_route_limits_is_refused_413_saying_how_to_meet_them(deployed: Settings) -> None:
    too_heavy = b"\xff\xd8\xff\xe0" + bytes(MAX_VERIFY_PHOTO_BYTES)  # what a 6 MB Lambda event leaves for a body
    status, answer = call("acme", too_heavy, "image/jpeg")
    assert status == 413
    assert f"{MAX_VERIFY_PHOTO_BYTES / 1e6:.1f} MB" in answer["message"] and "downscale" in answer["message"]

    wide = io.BytesIO()
    Image.new("RGB", (6000, 5000), (90, 90, 90)).save(wide, "PNG")  # 30 MP in a few hundred KB
    assert len(wide.getvalue()) < MAX_VERIFY_PHOTO_BYTES
    status, answer = call("acme", wide.getvalue(), "image/png")
    assert status == 413
    assert "6000x5000" in answer["message"] and "26.2 megapixels" in answer["message"]

    just_fits = io.BytesIO()
    Image.new("RGB", (5120, 5120), (90, 90, 90)).save(just_fits, "JPEG", quality=50)
    assert MAX_VERIFY_PIXELS == 5120 * 5120
    assert call("acme", just_fits.getvalue(), "image/jpeg")[0] == 200


def test_a_cold_model_is_retried_then_answered_503() -> None:
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    models = FakeModelRecords()
    models.put_version(
        VersionRecord(
            brand_id="acme",
            version=1,
            job_name="authentic-acme-1",
            artifact_uri="s3://artifacts/acme/authentic-acme-1/output/model.tar.gz",
            live_key="acme/v00001.tar.gz",
            labels={"classes": [{"id": 0, "name": "genuine", "role": "genuine"}]},
            metrics={"threshold": 0.3},
        )
    )
    models.move_live("acme", 1, "acme/v00001.tar.gz", "test", order=1.0, manual=False)
    config = Settings(uploads_bucket="u1", dataset_bucket="d1", table_name="t1", endpoint_name=ENDPOINT)
    sleeps: list[float] = []
    clock = iter(float(i) for i in range(100))
    policy = Policy(models, FakeDatasetRecords())
    service = Verify(policy, SageMakerEndpoint(client), config, clock=lambda: next(clock), sleep=sleeps.append)
    with Stubber(client) as stub:
        for _ in range(10):
            stub.add_client_error("invoke_endpoint", "ModelNotReadyException", "loading", 429)
        with pytest.raises(ServiceUnavailable) as unavailable:
            service("acme", scene_png([]), "image/png", deadline_seconds=5)
    assert unavailable.value.retry_after > 0
    assert sleeps and all(s > 0 for s in sleeps)


def test_shoppers_photos_are_not_stored(deployed: Settings) -> None:
    before = _all_keys(deployed)
    status, answer = call("acme", scene_png([Shape(0, 90, 60, 80, 64)]), "image/png")
    assert (status, answer["verdict"]) == (200, "genuine"), answer  # the photo was really verified ...
    assert _all_keys(deployed) == before  # ... and nothing of it was kept


def _all_keys(config: Settings) -> set[str]:
    s3 = clients.client("s3")
    keys = set()
    for bucket in (config.uploads_bucket, config.dataset_bucket, config.artifacts_bucket, config.live_bucket):
        keys |= {f"{bucket}/{o['Key']}" for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    return keys


def barcoded_scene(code: str) -> bytes:
    """A genuine product (a red rectangle, as the test model knows it) with an EAN-13 label printed in its middle,
    at a phone photo's resolution so the bars get 2.5 px a module."""
    scene = draw_scene(1600, 1200, [Shape(0, 500, 360, 640, 480)])
    label = barcode_label(code, module_px=2.5)
    scene.paste(label, (820 - label.width // 2, 600 - label.height // 2))
    return encode(scene, "PNG")


@pytest.mark.parametrize(
    ("registered", "verdict", "says"),
    [
        ([GtinEntry("05901234123457", "genuine")], "genuine", "its barcode 05901234123457 is registered"),
        ([GtinEntry("04006381333931", "genuine")], "counterfeit", "barcode 05901234123457 is not registered"),
        ([GtinEntry("05901234123457", "counterfeit")], "counterfeit", "registered to this brand's 'counterfeit'"),
    ],
)
def test_the_barcode_on_the_product_is_checked_against_the_brands_registered_gtins(
    deployed: Settings,
    monkeypatch: pytest.MonkeyPatch,
    registered: list[GtinEntry],
    verdict: str,
    says: str,
) -> None:
    DynamoGtinRecords(deployed.table_name).replace("acme", registered)  # as the brand registered them
    monkeypatch.setenv("BARCODE_GRACE_SECONDS", "10")  # the local endpoint answers at once; a real one does not
    monkeypatch.setenv("BARCODE_GRACE_SHARE", "1e9")
    monkeypatch.setenv("BARCODE_BUDGET_SECONDS", "10")  # and this machine may be busy: time is not under test

    status, answer = call("acme", barcoded_scene("590123412345"), "image/png")  # the verify role reads them

    assert status == 200
    assert answer["verdict"] == verdict, answer["reason"]
    assert says in answer["reason"]
    (barcode,) = answer["barcodes"]
    assert (barcode["gtin"], barcode["format"], barcode["confirmed"]) == ("05901234123457", "EAN-13", True)
