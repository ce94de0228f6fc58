"""POST/GET training jobs through the real handler: dataset check, a manifest of exact immutable objects listed
in one SageMaker ManifestFile (two objects written, whatever the dataset's size), one job."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from authentic import keys
from authentic.api.rest import Handler
from authentic.aws import clients
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.model_records import DynamoModelRecords
from authentic.aws.ports import Contribution, DatasetRecords, ObjectStore, Outcome, PairFiles
from authentic.aws.s3 import S3ObjectStore
from authentic.aws.sagemaker import SageMakerTrainingJobs
from authentic.local.provision import Provisioned
from authentic.settings import Settings
from authentic.training.jobs import Training
from lambdas import training
from tests.support.aws import as_function
from tests.support.builders import load_event
from tests.support.fakes import (
    CountingObjectStore,
    FakeDatasetRecords,
    FakeModelRecords,
    FakeObjectStore,
    FakeTrainingJobs,
)

NAMES = {0: "genuine", 1: "counterfeit"}


def accepted_pair(
    records: DatasetRecords, store: ObjectStore, bucket: str, brand: str, n: int, class_id: int, image: bytes
) -> None:
    """One pair accepted as ingest leaves it: its image and annotation stored once under their content's hash."""
    pair = f"{n:032x}"
    annotation = json.dumps({"pair": pair, "class_id": class_id}).encode()
    image_key = keys.dataset_object_key(brand, hashlib.sha256(image).hexdigest(), "jpg")
    annotation_key = keys.dataset_object_key(brand, hashlib.sha256(annotation).hexdigest(), "json")
    store.put_if_absent(bucket, image_key, image, content_type="image/jpeg")
    store.put_if_absent(bucket, annotation_key, annotation, content_type="application/json")
    for kind in ("image", "annotation"):
        records.record_arrival(brand, pair, kind, version_id=f"v{n}", size=10, sequencer=f"{n:08X}")
    previous = records.get_pair(brand, pair)
    assert previous is not None
    records.commit_outcome(
        brand,
        pair,
        previous,
        Outcome(
            status="accepted",
            fingerprint=f"v{n}|v{n}",
            contribution=Contribution(1, {class_id: 1}, {class_id: 1}),
            categories={class_id: NAMES[class_id]},
            files=PairFiles(image_key=image_key, annotation_key=annotation_key, sha256=image_key[-68:-4]),
        ),
    )


def seed_brand(app_settings: Settings, per_class: dict[int, int], brand: str = "acme", start: int = 0) -> None:
    """Given a brand whose ingest accepted `per_class` images of each class."""
    records = DynamoDatasetRecords(app_settings.table_name)
    store = S3ObjectStore()
    n = start
    for class_id, count in per_class.items():
        for _ in range(count):
            n += 1
            accepted_pair(records, store, app_settings.dataset_bucket, brand, n, class_id, b"jpeg%d" % n)


class _Context:
    function_name = "training"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:training"
    aws_request_id = "req-1"


@pytest.fixture
def fake_jobs(moto_aws: Provisioned) -> FakeTrainingJobs:
    return FakeTrainingJobs()


@pytest.fixture
def api(app_settings: Settings, fake_jobs: FakeTrainingJobs) -> Handler:
    """The training function's handler, with SageMaker's training jobs faked (given to it, not patched in)."""
    return training.create_handler(training.Services.from_settings(app_settings, jobs=fake_jobs))


def call(
    api: Handler, method: str, resource: str, path: str, params: dict[str, str], body: Any = None
) -> tuple[int, dict[str, Any]]:
    event = load_event("apigw_rest_request.json")
    event.update(
        {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "pathParameters": params,
            "body": json.dumps(body) if body is not None else None,
        }
    )
    event["requestContext"].update({"resourcePath": resource, "httpMethod": method})
    with as_function("training"):  # exactly the training role's permissions
        response = api(event, _Context())
    return response["statusCode"], json.loads(response["body"])


def start(api: Handler, brand: str = "acme", body: Any = None) -> tuple[int, dict[str, Any]]:
    path = f"/brands/{brand}/training-jobs"
    return call(api, "POST", "/brands/{brandId}/training-jobs", path, {"brandId": brand}, body)


def test_a_dataset_below_the_minimum_is_refused_naming_class_and_count(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs, api: Handler
) -> None:
    seed_brand(app_settings, {0: 10, 1: 3})

    status, body = start(api)

    assert status == 422
    assert "class 'counterfeit' has 3 images, at least 10 are needed" in body["message"]
    assert body["details"]["problems"] == ["class 'counterfeit' has 3 images, at least 10 are needed"]
    assert fake_jobs.requests == []


def test_an_empty_brand_is_refused(moto_aws: Provisioned, fake_jobs: FakeTrainingJobs, api: Handler) -> None:
    status, body = start(api)
    assert status == 422
    assert "no accepted images" in body["message"]


def read(bucket: str, key: str) -> bytes:
    body: bytes = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def channel_listing(bucket: str, request: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The job's training channel: SageMaker's ManifestFile, as its prefix and the paths it lists."""
    (channel,) = request["InputDataConfig"]
    source = channel["DataSource"]["S3DataSource"]
    assert source["S3DataType"] == "ManifestFile"
    prefix, *paths = json.loads(read(bucket, source["S3Uri"].removeprefix(f"s3://{bucket}/")))
    return prefix["prefix"], paths


def test_start_freezes_exact_immutable_objects_and_starts_one_job(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs, api: Handler
) -> None:
    seed_brand(app_settings, {0: 10, 1: 10})

    status, job = start(api)

    assert status == 201
    assert job["state"] == "InProgress"
    (request,) = fake_jobs.requests
    assert request["TrainingJobName"] == job["job_name"]
    assert job["job_name"].startswith("authentic-acme-")
    assert request["HyperParameters"]["brand_id"] == "acme"
    bucket = app_settings.dataset_bucket
    manifest_key = request["HyperParameters"]["manifest_key"]
    manifest = json.loads(read(bucket, manifest_key))
    assert len(manifest["items"]) == 20
    # Exact objects: each item names immutable objects whose bytes hash to their names.
    for item in manifest["items"]:
        for path in (item["image"], item["annotation"]):
            assert path.startswith("objects/")
            assert hashlib.sha256(read(bucket, f"acme/{path}")).hexdigest() == path[8:].rsplit(".", 1)[0]
        assert item["image"] == f"objects/{item['sha256']}.jpg"
    # The channel is the ManifestFile: the brand's prefix, the manifest, and every object it names.
    prefix, paths = channel_listing(bucket, request)
    assert prefix == f"s3://{bucket}/acme/"
    assert paths[0] == manifest_key.removeprefix("acme/")
    assert sorted(paths[1:]) == sorted({i[k] for i in manifest["items"] for k in ("image", "annotation")})
    assert sum(p.endswith(".jpg") for p in paths) == 20
    assert {"Key": "brand", "Value": "acme"} in request["Tags"]


def test_a_retried_request_starts_nothing_new(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs, api: Handler
) -> None:
    seed_brand(app_settings, {0: 10, 1: 10})
    _, first = start(api)
    status, second = start(api)
    assert status == 200
    assert second["job_name"] == first["job_name"]
    assert len(fake_jobs.jobs) == 1


def test_two_concurrent_requests_make_exactly_one_job(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs, api: Handler
) -> None:
    seed_brand(app_settings, {0: 10, 1: 10})
    service = Training(
        DynamoDatasetRecords(app_settings.table_name),
        DynamoModelRecords(app_settings.table_name),
        S3ObjectStore(),
        fake_jobs,
        app_settings,
    )
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def finish() -> None:
        barrier.wait()
        results.append(service.start("acme"))

    threads = [threading.Thread(target=finish) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(fake_jobs.jobs) == 1
    assert {job["job_name"] for _, job in results} == set(fake_jobs.jobs)


def test_a_new_finish_while_training_runs_answers_409_with_that_job(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs, api: Handler
) -> None:
    seed_brand(app_settings, {0: 10, 1: 10})
    _, running = start(api)
    seed_brand(app_settings, {0: 2}, start=100)  # the dataset changed: a new manifest

    status, body = start(api)

    assert status == 409
    assert body["details"]["job_name"] == running["job_name"]
    assert len(fake_jobs.jobs) == 1


def test_a_slot_held_by_an_ended_job_is_freed(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs, api: Handler
) -> None:
    seed_brand(app_settings, {0: 10, 1: 10})
    _, first = start(api)
    fake_jobs.finish(first["job_name"], "Failed", reason="spot capacity")  # its end event was lost
    seed_brand(app_settings, {0: 2}, start=100)

    status, second = start(api)

    assert status == 201
    assert second["job_name"] != first["job_name"]


def test_get_job_shows_state_progress_and_refuses_other_brands(
    moto_aws: Provisioned, app_settings: Settings, fake_jobs: FakeTrainingJobs, api: Handler
) -> None:
    seed_brand(app_settings, {0: 10, 1: 10})
    _, job = start(api)
    fake_jobs.finish(job["job_name"], "Completed")
    name = job["job_name"]

    status, body = call(
        api,
        "GET",
        "/brands/{brandId}/training-jobs/{jobId}",
        f"/brands/acme/training-jobs/{name}",
        {"brandId": "acme", "jobId": name},
    )
    assert status == 200
    assert body["secondary_status"] == "Completed"
    assert body["progress"] == {"epoch": 3, "epochs": 3, "map50": 0.9}

    status, _ = call(
        api,
        "GET",
        "/brands/{brandId}/training-jobs/{jobId}",
        f"/brands/other/training-jobs/{name}",
        {"brandId": "other", "jobId": name},
    )
    assert status == 404


def test_the_create_training_job_request_is_exact(
    moto_aws: Provisioned, app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = app_settings.model_copy(
        update={
            "training_image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/training:abc",
            "training_role_arn": "arn:aws:iam::123456789012:role/training",
            "training_use_spot": True,
        }
    )
    seed_brand(settings, {0: 10, 1: 10})
    client = boto3.client("sagemaker", region_name="us-east-1")
    service = Training(
        DynamoDatasetRecords(settings.table_name),
        DynamoModelRecords(settings.table_name),
        S3ObjectStore(),
        SageMakerTrainingJobs(client),
        settings,
    )
    manifest_id = service._freeze("acme").manifest_id
    job_name = f"authentic-acme-{manifest_id[:12]}"
    expected = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/training:abc",
            "TrainingInputMode": "File",
            "MetricDefinitions": ANY,
        },
        "RoleArn": "arn:aws:iam::123456789012:role/training",
        "HyperParameters": {"epochs": "30", "brand_id": "acme", "manifest_key": f"acme/manifests/{manifest_id}.json"},
        "InputDataConfig": [
            {
                "ChannelName": "training",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "ManifestFile",
                        "S3Uri": f"s3://test-dataset/acme/manifests/{manifest_id}.channel.json",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "application/x-image",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://test-artifacts/acme/"},
        "ResourceConfig": {"InstanceType": "ml.g6.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 14400, "MaxWaitTimeInSeconds": 28800},
        "EnableNetworkIsolation": True,
        "EnableManagedSpotTraining": True,
        "CheckpointConfig": {
            "S3Uri": f"s3://test-artifacts/acme/checkpoints/{job_name}/",
            "LocalPath": "/opt/ml/checkpoints",
        },
        "Tags": [
            {"Key": "brand", "Value": "acme"},
            {"Key": "deployment", "Value": "authentic"},
            {"Key": "manifest", "Value": manifest_id},
        ],
    }
    describe = {
        "TrainingJobName": job_name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job_name}",
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Starting",
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ModelArtifacts": {"S3ModelArtifacts": ""},
        "ResourceConfig": {"InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {},
        "CreationTime": 1764152000,
    }
    with Stubber(client) as stub:
        stub.add_response("create_training_job", {"TrainingJobArn": describe["TrainingJobArn"]}, expected)
        stub.add_response("describe_training_job", describe, {"TrainingJobName": job_name})

        status, job = service.start("acme", {"epochs": "30"})
        stub.assert_no_pending_responses()

    assert status == 201
    assert job["secondary_status"] == "Starting"


# -- freezing copies nothing ------------------------------------------------------------------------------------


def faked(app_settings: Settings, pairs: int, *, shared_images: int = 0) -> tuple[Training, CountingObjectStore]:
    """A training service over fakes, for a brand with `pairs` accepted pairs (the first `shared_images` pairs
    of each class uploaded one photo), and the store counting every call made through the service."""
    records, store = FakeDatasetRecords(), FakeObjectStore(buckets=(app_settings.dataset_bucket,))
    for n in range(1, pairs + 1):
        image = b"shared" if n <= shared_images else b"jpeg%d" % n
        accepted_pair(records, store, app_settings.dataset_bucket, "acme", n, n % 2, image)
    counting = CountingObjectStore(store)
    service = Training(records, FakeModelRecords(), counting.as_store(), FakeTrainingJobs(), app_settings)
    return service, counting


@pytest.mark.parametrize("pairs", [20, 2000])
def test_a_freeze_writes_two_objects_and_reads_none_whatever_the_dataset_size(
    app_settings: Settings, pairs: int
) -> None:
    service, store = faked(app_settings, pairs)

    status, job = service.start("acme")

    assert status == 201
    manifest_id = job["manifest_key"].rsplit("/", 1)[-1].removesuffix(".json")
    assert [name for name, _ in store.calls] == ["put", "put"]
    assert set(store.written()) == {f"acme/manifests/{manifest_id}.json", f"acme/manifests/{manifest_id}.channel.json"}


def test_a_retry_writes_the_same_bytes_and_starts_nothing_new(app_settings: Settings) -> None:
    service, store = faked(app_settings, 20)
    jobs = service.jobs
    assert isinstance(jobs, FakeTrainingJobs)
    failing = Training(service.datasets, service.models, service.store, _Unavailable(), app_settings)

    with pytest.raises(RuntimeError):
        failing.start("acme")  # the files were written, then CreateTrainingJob failed: the request is retried
    first = {key: store.inner.get(app_settings.dataset_bucket, key).body for key in store.written()}
    store.calls.clear()
    status, job = service.start("acme")
    second = {key: store.inner.get(app_settings.dataset_bucket, key).body for key in store.written()}
    store.calls.clear()
    again, same = service.start("acme")  # and once more after it started: nothing is written at all

    assert (status, again) == (201, 200)
    assert second == first and len(first) == 2
    assert store.calls == []
    assert same["job_name"] == job["job_name"] and list(jobs.jobs) == [job["job_name"]]


class _Unavailable(FakeTrainingJobs):
    def create(self, request: Mapping[str, Any]) -> str:
        raise RuntimeError("SageMaker is unavailable")


def test_the_manifest_file_lists_every_object_of_the_manifest_once_and_nothing_else(app_settings: Settings) -> None:
    service, store = faked(app_settings, 30, shared_images=4)  # four pairs share one photo
    service.start("acme")
    jobs = service.jobs
    assert isinstance(jobs, FakeTrainingJobs)
    (request,) = jobs.requests
    manifest_key = request["HyperParameters"]["manifest_key"]
    channel = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    bucket = app_settings.dataset_bucket

    manifest = json.loads(store.inner.get(bucket, manifest_key).body)
    prefix, *paths = json.loads(store.inner.get(bucket, channel.removeprefix(f"s3://{bucket}/")).body)

    named = {i[k] for i in manifest["items"] for k in ("image", "annotation")}
    assert len(manifest["items"]) == 30 and len(named) == 30 + 30 - 3
    assert prefix == {"prefix": f"s3://{bucket}/acme/"}
    assert paths == [manifest_key.removeprefix("acme/"), *sorted(named)]
    assert all(store.inner.exists(bucket, f"acme/{path}") for path in paths)
