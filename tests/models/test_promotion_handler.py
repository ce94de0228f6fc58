"""Promotion through the real handler: sample EventBridge events, moto S3/DynamoDB, the fake job control plane."""

from __future__ import annotations

import io
import json
import os
import tarfile
from typing import Any

import pytest

from authentic.aws import clients
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.model_records import DynamoModelRecords
from authentic.aws.ports import JobStart
from authentic.aws.s3 import S3ObjectStore
from authentic.local.provision import Provisioned
from authentic.models.artifact import read_summary
from authentic.models.policy import Policy
from authentic.models.versions import ModelVersions
from authentic.settings import Settings
from lambdas import promotion, training
from tests.support.aws import as_function
from tests.support.builders import load_event, training_event
from tests.support.fakes import FakeTrainingJobs

LABELS = {
    "classes": [
        {"id": 0, "name": "genuine", "role": "genuine"},
        {"id": 1, "name": "counterfeit", "role": "counterfeit"},
    ],
    "imgsz": 320,
}


class _Context:
    function_name = "promotion"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:promotion"
    aws_request_id = "req-1"


def artifact(map50: float, *, model_bytes: int = 2_000_000) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in (
            ("labels.json", json.dumps(LABELS).encode()),
            (
                "metrics.json",
                json.dumps(
                    {
                        "map50": map50,
                        "map50_95": map50 / 2,
                        "threshold": 0.42,
                        "per_class": {"genuine": {"map50": map50}},
                    }
                ).encode(),
            ),
            ("model.onnx", os.urandom(model_bytes)),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def fake_jobs() -> FakeTrainingJobs:
    return FakeTrainingJobs()


def finished_job(app_settings: Settings, job: str, map50: float) -> str:
    key = f"acme/{job}/output/model.tar.gz"
    clients.client("s3").put_object(Bucket=app_settings.artifacts_bucket, Key=key, Body=artifact(map50))
    return f"s3://{app_settings.artifacts_bucket}/{key}"


def deliver(event: dict[str, Any], jobs: FakeTrainingJobs | None = None) -> str:
    """One event to a cold promotion function (SageMaker's training jobs faked when `jobs` is given)."""
    handler = promotion.create_handler(promotion.production(Settings.from_env(), jobs=jobs) if jobs else None)
    with as_function("promotion"):  # exactly the promotion role's permissions
        return str(handler(event, _Context())["outcome"])


def registry(app_settings: Settings) -> ModelVersions:
    return ModelVersions(DynamoModelRecords(app_settings.table_name), S3ObjectStore(), app_settings)


def policy(app_settings: Settings) -> Policy:
    return Policy(DynamoModelRecords(app_settings.table_name), DynamoDatasetRecords(app_settings.table_name))


def live_version(app_settings: Settings) -> int | None:
    live = DynamoModelRecords(app_settings.table_name).live("acme")
    return live.version if live else None


def test_completed_above_the_bar_goes_live_under_a_new_key(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    finished_job(app_settings, "authentic-acme-aaa", 0.91)

    assert deliver(training_event("completed", "authentic-acme-aaa")) == "promoted"

    overview = registry(app_settings).overview("acme")
    assert overview["live"]["version"] == 1
    assert overview["live"]["live_key"] == "acme/v00001.tar.gz"
    clients.client("s3").head_object(Bucket=app_settings.live_bucket, Key="acme/v00001.tar.gz")
    assert overview["versions"][0]["metrics"]["map50"] == 0.91
    assert overview["versions"][0]["gate"]["passed"] is True


def test_a_duplicate_completed_event_makes_one_version(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    finished_job(app_settings, "authentic-acme-aaa", 0.91)
    event = training_event("completed", "authentic-acme-aaa")
    deliver(event)
    deliver(event)
    assert [v["version"] for v in registry(app_settings).overview("acme")["versions"]] == [1]


def test_a_duplicate_completed_event_never_writes_the_live_key_again(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    finished_job(app_settings, "authentic-acme-aaa", 0.91)
    event = training_event("completed", "authentic-acme-aaa")
    assert deliver(event) == "promoted"
    deliver(event)  # EventBridge delivers at least once

    s3 = clients.client("s3")
    versions = s3.list_object_versions(Bucket=app_settings.live_bucket, Prefix="acme/v00001.tar.gz")["Versions"]
    assert len(versions) == 1  # SageMaker caches a model by its key: a live key is written once, never again


def test_both_tag_shapes_and_a_missing_artifact_field(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    finished_job(app_settings, "authentic-acme-aaa", 0.8)
    assert deliver(training_event("completed_tags_list", "authentic-acme-aaa")) == "promoted"

    uri = finished_job(app_settings, "authentic-acme-bbb", 0.8)
    fake_jobs.create({"TrainingJobName": "authentic-acme-bbb", "HyperParameters": {"brand_id": "acme"}})
    fake_jobs.finish("authentic-acme-bbb", artifact_uri=uri)
    event = training_event("completed_no_artifact", "authentic-acme-bbb", CreationTime=1764160000000)
    assert deliver(event, fake_jobs) == "promoted"  # the location came from DescribeTrainingJob
    assert live_version(app_settings) == 2


def test_an_older_event_after_a_newer_promotion_leaves_the_pointer(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    finished_job(app_settings, "authentic-acme-old", 0.9)
    finished_job(app_settings, "authentic-acme-new", 0.9)
    deliver(training_event("completed", "authentic-acme-new", CreationTime=1764160000000))
    outcome = deliver(training_event("completed", "authentic-acme-old", CreationTime=1764150000000))

    assert outcome == "recorded"
    live = DynamoModelRecords(app_settings.table_name).live("acme")
    assert live is not None and live.version == 1  # the newer job's version stays live
    assert [v["version"] for v in registry(app_settings).overview("acme")["versions"]] == [1, 2]


def test_a_version_below_the_bar_is_recorded_not_live(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    finished_job(app_settings, "authentic-acme-bad", 0.2)

    assert deliver(training_event("completed", "authentic-acme-bad")) == "below-gate"

    overview = registry(app_settings).overview("acme")
    assert overview["live"] is None
    gate = overview["versions"][0]["gate"]
    assert {k: gate[k] for k in ("passed", "map50", "bar", "reason")} == {
        "passed": False,
        "map50": 0.2,
        "bar": 0.5,
        "reason": "mAP50 0.200 < bar 0.500",
    }
    assert gate["advice"]["weakest_classes"][0]["name"] == "genuine"
    assert gate["advice"]["suggestions"]
    s3 = clients.client("s3")
    assert "Contents" not in s3.list_objects_v2(Bucket=app_settings.live_bucket)


@pytest.mark.parametrize(("name", "state"), [("failed", "Failed"), ("stopped", "Stopped")])
def test_failed_or_stopped_records_the_reason_and_the_live_model_stays(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs, name: str, state: str
) -> None:
    finished_job(app_settings, "authentic-acme-good", 0.9)
    deliver(training_event("completed", "authentic-acme-good"))
    records = DynamoModelRecords(app_settings.table_name)
    records.record_job_start("acme", "authentic-acme-next", JobStart("m", "acme/manifests/m.json", 1764160000.0, {}))
    records.acquire_job_slot("acme", "authentic-acme-next")

    assert deliver(training_event(name, "authentic-acme-next"), fake_jobs) == state.lower()
    deliver(training_event(name, "authentic-acme-next"), fake_jobs)  # SageMaker may send it twice

    job = records.job("acme", "authentic-acme-next")
    assert job is not None
    assert job.state == state
    assert job.failure_reason
    assert live_version(app_settings) == 1
    assert records.acquire_job_slot("acme", "authentic-acme-later") == "authentic-acme-later"  # free again


def test_other_deployments_and_running_jobs_are_ignored(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    assert deliver(training_event("completed", "someone-else-acme-1")) == "ignored"
    assert deliver(training_event("in_progress", "authentic-acme-aaa")) == "ignored"


def test_rollback_and_forward(moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs) -> None:
    finished_job(app_settings, "authentic-acme-one", 0.8)
    finished_job(app_settings, "authentic-acme-two", 0.9)
    deliver(training_event("completed", "authentic-acme-one", CreationTime=1764150000000))
    deliver(training_event("completed", "authentic-acme-two", CreationTime=1764160000000))
    service = registry(app_settings)

    assert service.promote("acme", 1, reason="v2 misreads caps")["live"]["version"] == 1
    # A late duplicate of v2's event cannot undo the rollback.
    deliver(training_event("completed", "authentic-acme-two", CreationTime=1764160000000))
    assert live_version(app_settings) == 1
    assert service.promote("acme", 2)["live"]["version"] == 2
    promotions = service.overview("acme")["versions"][0]["promotions"]
    assert promotions[0]["reason"] == "v2 misreads caps"


def test_a_below_bar_version_needs_force(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    finished_job(app_settings, "authentic-acme-bad", 0.2)
    deliver(training_event("completed", "authentic-acme-bad"))
    event = load_event("apigw_rest_request.json")
    path = "/brands/acme/models/1/promote"
    event.update(
        {
            "resource": "/brands/{brandId}/models/{version}/promote",
            "path": path,
            "httpMethod": "POST",
            "pathParameters": {"brandId": "acme", "version": "1"},
            "body": "{}",
        }
    )
    handler = training.create_handler()
    with as_function("training"):
        refused = handler(event, _Context())
    assert refused["statusCode"] == 409
    assert "failed the quality gate" in json.loads(refused["body"])["message"]

    event["body"] = json.dumps({"force": True, "reason": "pilot"})
    with as_function("training"):
        forced = handler(event, _Context())
    assert forced["statusCode"] == 200
    assert json.loads(forced["body"])["live"]["version"] == 1
    clients.client("s3").head_object(Bucket=app_settings.live_bucket, Key="acme/v00001.tar.gz")


def test_policy_defaults_to_the_model_and_can_be_overridden(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    finished_job(app_settings, "authentic-acme-aaa", 0.9)
    deliver(training_event("completed", "authentic-acme-aaa"))
    service = policy(app_settings)
    effective = {c["name"]: c for c in service.get_policy("acme")["effective"]}
    assert effective["genuine"]["threshold"] == 0.42
    assert effective["counterfeit"]["role"] == "counterfeit"

    updated = service.put_policy("acme", {"classes": {"genuine": {"threshold": 0.6}}})
    assert {c["name"]: c["threshold"] for c in updated["effective"]} == {"genuine": 0.6, "counterfeit": 0.42}

    from authentic.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unknown class"):
        service.put_policy("acme", {"classes": {"cap": {"role": "genuine"}}})
    with pytest.raises(InvalidInput, match="role"):
        service.put_policy("acme", {"classes": {"genuine": {"role": "maybe"}}})


def test_metrics_are_read_without_downloading_the_model() -> None:
    data = artifact(0.7, model_bytes=3_000_000)
    summary = read_summary(io.BytesIO(data))
    assert summary.metrics["map50"] == 0.7
    assert summary.bytes_read < len(data) / 10


def test_metrics_come_from_output_tar_gz_when_the_job_wrote_one(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs
) -> None:
    finished_job(app_settings, "authentic-acme-aaa", 0.3)  # the model artifact says 0.3 ...
    small = io.BytesIO()
    with tarfile.open(fileobj=small, mode="w:gz") as tar:
        for name, doc in (("metrics.json", {"map50": 0.95}), ("labels.json", LABELS)):
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    clients.client("s3").put_object(
        Bucket=app_settings.artifacts_bucket, Key="acme/authentic-acme-aaa/output/output.tar.gz", Body=small.getvalue()
    )

    assert deliver(training_event("completed", "authentic-acme-aaa")) == "promoted"  # ... output.tar.gz 0.95
