"""One contract per port, run against the in-memory fake the handler tests inject and against the boto3 adapter
(on moto, or on the local SageMaker stand-in where moto cannot play SageMaker): whatever a test proves with a
fake holds for the real adapter too."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from authentic.aws import clients
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.gtin_records import DynamoGtinRecords
from authentic.aws.model_records import DynamoModelRecords
from authentic.aws.ports import (
    ClassRule,
    Contribution,
    DatasetEntry,
    DatasetRecords,
    Endpoint,
    GtinChanges,
    GtinCoverage,
    GtinEntry,
    GtinRecords,
    JobEnd,
    JobStart,
    ModelRecords,
    ObjectStore,
    Outcome,
    PairFiles,
    PromotionEntry,
    TrainingLauncher,
    VersionRecord,
)
from authentic.aws.s3 import S3ObjectStore
from authentic.aws.sagemaker import SageMakerEndpoint, SageMakerTrainingJobs
from authentic.errors import (
    CategoryConflict,
    ModelNotReady,
    ModelRejectedInput,
    ObjectMissing,
    TrainingJobAlreadyExists,
    TrainingJobMissing,
)
from authentic.local.background import BackgroundServer
from authentic.local.provision import Provisioned
from authentic.local.sagemaker import LocalSageMaker
from authentic.settings import Settings
from tests.support.fakes import (
    FakeDatasetRecords,
    FakeEndpoint,
    FakeGtinRecords,
    FakeModelRecords,
    FakeObjectStore,
    FakeTrainingJobs,
)
from tests.support.scenes import Shape, draw_scene, encode

BUCKET = "test-dataset"  # created by the moto fixture (app_settings.dataset_bucket)
ENDPOINT = "authentic-contract"


# -- the object store ----------------------------------------------------------------------------------------


@pytest.fixture(params=["fake", "s3"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    if request.param == "fake":
        return FakeObjectStore(buckets=(BUCKET, "test-live"))
    request.getfixturevalue("moto_aws")
    return S3ObjectStore()


def test_objects_are_versioned_and_read_back_exactly(store: ObjectStore) -> None:
    first = store.put(BUCKET, "acme/a.json", b"one", content_type="application/json")
    second = store.put(BUCKET, "acme/a.json", b"two!", content_type="application/json")

    assert first.version_id and second.version_id and first.version_id != second.version_id
    assert store.get(BUCKET, "acme/a.json").body == b"two!"
    assert store.get(BUCKET, "acme/a.json", first.version_id).body == b"one"
    assert store.get(BUCKET, "acme/a.json", byte_range="bytes=1-2").body == b"wo"
    assert store.head(BUCKET, "acme/a.json").size == 4
    assert store.head(BUCKET, "acme/a.json").content_type == "application/json"
    assert store.stream(BUCKET, "acme/a.json").read() == b"two!"


def test_put_if_absent_creates_once_and_never_overwrites(store: ObjectStore) -> None:
    assert store.put_if_absent(BUCKET, "acme/objects/x.json", b"first", content_type="application/json") is True
    assert store.put_if_absent(BUCKET, "acme/objects/x.json", b"second", content_type="text/plain") is False

    assert store.get(BUCKET, "acme/objects/x.json").body == b"first"
    assert store.head(BUCKET, "acme/objects/x.json").content_type == "application/json"


def test_a_missing_object_or_version_is_object_missing(store: ObjectStore) -> None:
    stored = store.put(BUCKET, "acme/b", b"x", content_type="image/jpeg")
    with pytest.raises(ObjectMissing):
        store.get(BUCKET, "acme/none")
    with pytest.raises(ObjectMissing):
        store.head(BUCKET, "acme/none")
    with pytest.raises(ObjectMissing):
        store.get(BUCKET, "acme/b", "not-a-version-" + str(stored.version_id))
    assert store.exists(BUCKET, "acme/b") and not store.exists(BUCKET, "acme/none")


def test_copy_takes_the_named_version_and_delete_removes_the_key(store: ObjectStore) -> None:
    old = store.put(BUCKET, "acme/src", b"old", content_type="image/jpeg")
    store.put(BUCKET, "acme/src", b"new", content_type="image/jpeg")
    store.copy(BUCKET, "acme/src", "test-live", "acme/v00001.tar.gz", source_version=old.version_id)
    assert store.get("test-live", "acme/v00001.tar.gz").body == b"old"

    store.delete(BUCKET, "acme/src")
    assert not store.exists(BUCKET, "acme/src")


def test_copy_once_never_overwrites(store: ObjectStore) -> None:
    store.put(BUCKET, "acme/a", b"first", content_type="image/jpeg")
    store.put(BUCKET, "acme/b", b"second", content_type="image/jpeg")
    assert store.copy_once(BUCKET, "acme/a", "test-live", "acme/v00001.tar.gz") is True
    assert store.copy_once(BUCKET, "acme/b", "test-live", "acme/v00001.tar.gz") is False
    assert store.get("test-live", "acme/v00001.tar.gz").body == b"first"


def test_keys_are_listed_by_prefix(store: ObjectStore) -> None:
    for key in ("acme/images/1.jpg", "acme/images/2.jpg", "acme/annotations/1.json", "other/images/1.jpg"):
        store.put(BUCKET, key, b"x", content_type="image/jpeg")
    assert [o.key for o in store.list_keys(BUCKET, "acme/images/")] == ["acme/images/1.jpg", "acme/images/2.jpg"]


def test_a_presigned_post_names_exactly_its_key(store: ObjectStore) -> None:
    form = store.presigned_post(BUCKET, "acme/p/image", content_type="image/png", max_bytes=1000, expires_in=60)
    assert form["url"] and form["fields"]["key"] == "acme/p/image"
    assert form["fields"]["Content-Type"] == "image/png"


# -- dataset records -----------------------------------------------------------------------------------------


@pytest.fixture(params=["fake", "dynamodb"])
def datasets(request: pytest.FixtureRequest) -> DatasetRecords:
    if request.param == "fake":
        return FakeDatasetRecords()
    request.getfixturevalue("moto_aws")
    settings: Settings = request.getfixturevalue("app_settings")
    return DynamoDatasetRecords(settings.table_name)


def accepted(fingerprint: str, class_id: int, name: str, boxes: int = 1, image: str = "ab" * 32) -> Outcome:
    return Outcome(
        status="accepted",
        fingerprint=fingerprint,
        contribution=Contribution(1, {class_id: 1}, {class_id: boxes}),
        categories={class_id: name},
        files=PairFiles(
            source_file="a.jpg",
            image_key=f"acme/objects/{image}.jpg",
            annotation_key=f"acme/objects/{fingerprint.encode().hex():0<64}.json",
            sha256=image,
            boxes=boxes,
        ),
    )


def test_a_pair_is_pending_until_both_halves_arrive(datasets: DatasetRecords) -> None:
    half = datasets.record_arrival("acme", "p1", "image", version_id="i1", size=10, sequencer="01")
    assert (half.status, half.complete, half.image_version, half.size("image")) == ("pending", False, "i1", 10)
    whole = datasets.record_arrival("acme", "p1", "annotation", version_id="a1", size=5, sequencer="02")
    assert whole.complete and whole.annotation_version == "a1"


def test_an_older_arrival_does_not_overwrite_a_newer_one(datasets: DatasetRecords) -> None:
    datasets.record_arrival("acme", "p1", "image", version_id="new", size=10, sequencer="0A")
    after = datasets.record_arrival("acme", "p1", "image", version_id="old", size=10, sequencer="09")
    assert after.image_version == "new"


def test_an_outcome_is_committed_exactly_once_and_counts_move_by_the_difference(datasets: DatasetRecords) -> None:
    datasets.record_arrival("acme", "p1", "image", version_id="i1", size=10, sequencer="01")
    pair = datasets.record_arrival("acme", "p1", "annotation", version_id="a1", size=5, sequencer="02")
    assert datasets.commit_outcome("acme", "p1", pair, accepted("i1|a1", 0, "shoe", boxes=2)) is True
    assert datasets.commit_outcome("acme", "p1", pair, accepted("i1|a1", 0, "shoe", boxes=2)) is False

    summary = datasets.summary("acme")
    assert (summary.images, dict(summary.categories)) == (1, {0: "shoe"})
    assert (dict(summary.class_images), dict(summary.class_boxes)) == ({0: 1}, {0: 2})
    (recorded,) = datasets.pairs("acme")
    assert (recorded.status, recorded.fingerprint, recorded.files.boxes) == ("accepted", "i1|a1", 2)

    reuploaded = datasets.record_arrival("acme", "p1", "annotation", version_id="a2", size=5, sequencer="03")
    assert datasets.commit_outcome("acme", "p1", reuploaded, accepted("i1|a2", 1, "fake")) is True
    summary = datasets.summary("acme")
    assert summary.images == 1
    assert (summary.class_images.get(0), summary.class_images.get(1)) == (0, 1)


def test_entries_follow_each_committed_outcome(datasets: DatasetRecords) -> None:
    """The compact entries a freeze reads are exactly the accepted pairs, with their objects and boxes."""
    outcomes = {"p1": accepted("i1|a1", 0, "shoe", boxes=2), "p2": accepted("i2|a2", 1, "fake", image="cd" * 32)}
    for pair, outcome in outcomes.items():
        datasets.record_arrival("acme", pair, "image", version_id="i", size=1, sequencer="01")
        current = datasets.record_arrival("acme", pair, "annotation", version_id="a", size=1, sequencer="01")
        assert datasets.commit_outcome("acme", pair, current, outcome)
    datasets.record_arrival("acme", "p3", "image", version_id="i", size=1, sequencer="01")  # still pending
    assert datasets.entries("acme") == [
        DatasetEntry("p1", outcomes["p1"].files.image_key, outcomes["p1"].files.annotation_key, {0: 2}),
        DatasetEntry("p2", outcomes["p2"].files.image_key, outcomes["p2"].files.annotation_key, {1: 1}),
    ]

    # A re-uploaded annotation replaces p1's entry (twice: each replacement moves it to the other set) ...
    for version, boxes in (("a2", 3), ("a3", 1)):
        current = datasets.record_arrival("acme", "p1", "annotation", version_id=version, size=1, sequencer=version)
        replaced = accepted(f"i|{version}", 0, "shoe", boxes=boxes, image="ef" * 32)
        assert datasets.commit_outcome("acme", "p1", current, replaced)
        (entry, _) = datasets.entries("acme")
        assert entry == DatasetEntry("p1", replaced.files.image_key, replaced.files.annotation_key, {0: boxes})

    # ... and a rejection removes it; another brand's dataset is its own.
    current = datasets.record_arrival("acme", "p2", "annotation", version_id="bad", size=1, sequencer="09")
    rejected = Outcome(status="rejected", fingerprint="i|bad", reason="no boxes")
    assert datasets.commit_outcome("acme", "p2", current, rejected)
    assert [e.pair_id for e in datasets.entries("acme")] == ["p1"]
    assert datasets.entries("other") == []


def test_a_class_keeps_its_first_name(datasets: DatasetRecords) -> None:
    for pair, name in (("p1", "shoe"), ("p2", "boot")):
        datasets.record_arrival("acme", pair, "image", version_id="i", size=1, sequencer="01")
        current = datasets.record_arrival("acme", pair, "annotation", version_id="a", size=1, sequencer="01")
        if name == "shoe":
            assert datasets.commit_outcome("acme", pair, current, accepted("i|a", 0, name))
        else:
            with pytest.raises(CategoryConflict, match="'shoe'"):
                datasets.commit_outcome("acme", pair, current, accepted("i|a", 0, name))
    assert datasets.summary("acme").images == 1
    assert datasets.get_pair("acme", "p2") is not None and datasets.get_pair("acme", "p3") is None


def test_an_empty_brand_has_an_empty_summary(datasets: DatasetRecords) -> None:
    summary = datasets.summary("nobody")
    assert (summary.images, dict(summary.categories), datasets.pairs("nobody")) == (0, {}, [])
    datasets.record_unscoped("../escape.jpg", "outside any brand's prefix")


# -- model records -------------------------------------------------------------------------------------------


@pytest.fixture(params=["fake", "dynamodb"])
def models(request: pytest.FixtureRequest) -> ModelRecords:
    if request.param == "fake":
        return FakeModelRecords()
    request.getfixturevalue("moto_aws")
    settings: Settings = request.getfixturevalue("app_settings")
    return DynamoModelRecords(settings.table_name)


def version(number: int, job: str) -> VersionRecord:
    return VersionRecord(
        brand_id="acme",
        version=number,
        job_name=job,
        artifact_uri=f"s3://artifacts/acme/{job}/output/model.tar.gz",
        live_key=f"acme/v{number:05d}.tar.gz",
        metrics={"map50": 0.9, "threshold": 0.4},
        labels={"classes": [{"id": 0, "name": "shoe", "role": "genuine"}]},
        gate={"passed": True},
    )


def test_one_job_slot_per_brand(models: ModelRecords) -> None:
    assert models.acquire_job_slot("acme", "job-1") == "job-1"
    assert models.acquire_job_slot("acme", "job-1") == "job-1"
    assert models.acquire_job_slot("acme", "job-2") == "job-1"
    models.release_job_slot("acme", "job-2")  # not the holder: nothing happens
    assert models.acquire_job_slot("acme", "job-2") == "job-1"
    models.release_job_slot("acme", "job-1")
    assert models.acquire_job_slot("acme", "job-2") == "job-2"


def test_two_racing_finishes_get_one_slot(models: ModelRecords) -> None:
    holders: list[str] = []
    barrier = threading.Barrier(4)

    def take(job: str) -> None:
        barrier.wait()
        holders.append(models.acquire_job_slot("acme", job))

    threads = [threading.Thread(target=take, args=(f"job-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(holders)) == 1


def test_a_job_ends_once(models: ModelRecords) -> None:
    models.record_job_start("acme", "job-1", JobStart("m1", "acme/manifests/m1.json", 100.0, {"images": 20}))
    started = models.job("acme", "job-1")
    assert started is not None and (started.started, started.state, started.ended) == (True, "InProgress", False)
    assert dict(started.counts or {}) == {"images": 20}

    first = models.finish_job("acme", "job-1", JobEnd("Failed", 200.0, failure_reason="spot capacity"))
    again = models.finish_job("acme", "job-1", JobEnd("Stopped", 300.0, failure_reason="late"))
    assert (first.state, first.failure_reason) == ("Failed", "spot capacity")
    assert (again.state, again.failure_reason, again.ended) == ("Failed", "spot capacity", True)
    assert models.job("acme", "job-2") is None


def test_versions_are_allocated_once_per_job_and_never_reused(models: ModelRecords) -> None:
    assert models.allocate_version("acme", "job-1") == 1
    assert models.allocate_version("acme", "job-1") == 1
    assert models.allocate_version("acme", "job-2") == 2
    assert models.allocate_version("other", "job-9") == 1


def test_versions_keep_their_records_and_promotions(models: ModelRecords) -> None:
    models.put_version(version(1, "job-1"))
    models.put_version(version(2, "job-2"))
    models.add_promotion("acme", 1, PromotionEntry(at=5.0, reason="rollback", forced=False))
    models.add_promotion("acme", 1, PromotionEntry(at=6.0, reason="again", forced=True))

    record = models.version("acme", 1)
    assert record is not None and record.passed and record.live_key == "acme/v00001.tar.gz"
    assert [p.reason for p in record.promotions] == ["rollback", "again"]
    assert [v.version for v in models.versions("acme")] == [1, 2]
    assert models.version("acme", 3) is None


def test_the_live_pointer_only_moves_forward_unless_moved_by_hand(models: ModelRecords) -> None:
    assert models.live("acme") is None
    assert models.move_live("acme", 2, "acme/v00002.tar.gz", "job-2 passed", order=200.0, manual=False)
    assert not models.move_live("acme", 1, "acme/v00001.tar.gz", "job-1 passed", order=100.0, manual=False)
    assert models.move_live("acme", 1, "acme/v00001.tar.gz", "rollback", order=150.0, manual=True)
    live = models.live("acme")
    assert live is not None and (live.version, live.reason, live.manual) == (1, "rollback", True)
    assert not models.move_live("acme", 2, "acme/v00002.tar.gz", "late duplicate", order=120.0, manual=False)


def test_a_policy_is_stored_per_class(models: ModelRecords) -> None:
    assert models.policy("acme") is None
    models.put_policy("acme", {"shoe": ClassRule(threshold=0.6), "fake": ClassRule(role="counterfeit")})
    policy = models.policy("acme")
    assert policy is not None
    assert dict(policy.classes) == {"shoe": ClassRule(threshold=0.6), "fake": ClassRule(role="counterfeit")}


def test_the_barcode_setting_is_stored_with_the_policy(models: ModelRecords) -> None:
    models.put_policy("acme", {"shoe": ClassRule(threshold=0.6)}, barcode="required")
    policy = models.policy("acme")
    assert policy is not None and policy.barcode == "required"
    models.put_policy("acme", {})
    assert models.policy("acme").barcode is None  # type: ignore[union-attr]


# -- registered GTINs ----------------------------------------------------------------------------------------


@pytest.fixture(params=["fake", "dynamodb"])
def gtins(request: pytest.FixtureRequest) -> GtinRecords:
    if request.param == "fake":
        return FakeGtinRecords()
    request.getfixturevalue("moto_aws")
    settings: Settings = request.getfixturevalue("app_settings")
    return DynamoGtinRecords(settings.table_name)


def test_a_brands_gtins_are_replaced_as_a_whole(gtins: GtinRecords) -> None:
    first = [GtinEntry("05901234123457", "shoe"), GtinEntry("04006381333931"), GtinEntry("00000096385074", "boot")]
    assert gtins.replace("acme", first) == GtinChanges(added=3)
    assert gtins.entries("acme") == sorted(first, key=lambda e: e.gtin)

    second = [GtinEntry("05901234123457", "boot"), GtinEntry("04006381333931"), GtinEntry("09506000134352")]
    assert gtins.replace("acme", second) == GtinChanges(added=1, changed=1, removed=1)
    assert gtins.entries("acme") == sorted(second, key=lambda e: e.gtin)
    assert gtins.replace("acme", []) == GtinChanges(removed=3)
    assert gtins.entries("acme") == []


def test_the_coverage_says_which_products_the_list_speaks_for(gtins: GtinRecords) -> None:
    assert gtins.coverage("acme") == GtinCoverage()  # nothing registered: nothing covered
    gtins.replace("acme", [GtinEntry("05901234123457", "shoe"), GtinEntry("00000096385074", "boot")])
    assert gtins.coverage("acme") == GtinCoverage(frozenset({"shoe", "boot"}))
    assert gtins.entries("acme") == [GtinEntry("00000096385074", "boot"), GtinEntry("05901234123457", "shoe")]
    gtins.replace("acme", [GtinEntry("04006381333931")])
    assert gtins.coverage("acme") == GtinCoverage(untied=True)
    assert (gtins.coverage("acme").covers("hat"), gtins.coverage("other").covers("hat")) == (True, False)
    gtins.replace("acme", [])
    assert gtins.coverage("acme") == GtinCoverage()


def test_a_lookup_finds_only_the_brands_own_gtins(gtins: GtinRecords) -> None:
    gtins.replace("acme", [GtinEntry("05901234123457", "shoe"), GtinEntry("04006381333931")])
    gtins.replace("other", [GtinEntry("09506000134352", "hat")])

    found = gtins.lookup("acme", ["05901234123457", "04006381333931", "09506000134352"])
    assert found == {
        "05901234123457": GtinEntry("05901234123457", "shoe"),
        "04006381333931": GtinEntry("04006381333931"),
    }
    assert gtins.lookup("other", ["05901234123457"]) == {}
    assert gtins.entries("other") == [GtinEntry("09506000134352", "hat")]


def test_a_long_list_fits(gtins: GtinRecords) -> None:
    """One item per GTIN: no item grows with the list (DynamoDB's 400 KB), and every page is read back."""
    from authentic.barcodes.gtin import check_digit

    bodies = [f"5901234{n:05d}" for n in range(1500)]
    entries = [GtinEntry(f"0{b}{check_digit(b)}", "shoe" if n % 2 else None) for n, b in enumerate(bodies)]
    assert gtins.replace("acme", entries).added == 1500
    assert len(gtins.entries("acme")) == 1500
    assert len(gtins.lookup("acme", [entries[0].gtin, entries[-1].gtin])) == 2


# -- SageMaker training jobs ---------------------------------------------------------------------------------


@pytest.fixture
def stand_in(tmp_path: Path, moto_aws: Provisioned) -> Iterator[str]:
    """The local SageMaker stand-in (moto accepts duplicate job names; SageMaker does not)."""
    sagemaker = LocalSageMaker(
        jobs_root=tmp_path / "jobs",
        models_root=tmp_path / "models",
        live_bucket="test-live",
        endpoint_name=ENDPOINT,
        inference_url="http://127.0.0.1:9",
        on_job_end=lambda job: None,
    )
    with BackgroundServer(sagemaker.app) as server:
        yield server.url


@pytest.fixture(params=["fake", "sagemaker"])
def launcher(request: pytest.FixtureRequest) -> TrainingLauncher:
    if request.param == "fake":
        return FakeTrainingJobs()
    url = request.getfixturevalue("stand_in")
    return SageMakerTrainingJobs(boto3.client("sagemaker", region_name="us-east-1", endpoint_url=url))


def job_request(name: str) -> dict[str, object]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "local/training", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::123456789012:role/training",
        "HyperParameters": {"brand_id": "acme"},
        "InputDataConfig": [
            {
                "ChannelName": "training",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://no-such-bucket/x/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://test-artifacts/acme/"},
        "ResourceConfig": {"InstanceType": "ml.g6.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def test_a_job_name_is_used_once_and_described_by_name(launcher: TrainingLauncher) -> None:
    arn = launcher.create(job_request("authentic-acme-1"))
    assert arn.endswith("training-job/authentic-acme-1")
    with pytest.raises(TrainingJobAlreadyExists):
        launcher.create(job_request("authentic-acme-1"))
    job = launcher.describe("authentic-acme-1")
    assert job.name == "authentic-acme-1" and job.hyperparameters["brand_id"] == "acme"
    assert job.status in ("InProgress", "Failed")  # this one has no data: it may already have failed
    with pytest.raises(TrainingJobMissing):
        launcher.describe("authentic-acme-none")


# -- the multi-model endpoint --------------------------------------------------------------------------------


@pytest.fixture(params=["fake", "sagemaker"])
def endpoint(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Endpoint]:
    if request.param == "fake":
        yield FakeEndpoint({"acme/v00001.tar.gz": json.dumps({"detections": []}).encode()})
        return
    from authentic.inference.server import ServerSettings, create_app

    request.getfixturevalue("moto_aws")
    model_dir: Path = request.getfixturevalue("inference_model_dir")
    archive = io.BytesIO()
    import tarfile

    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    clients.client("s3").put_object(Bucket="test-live", Key="acme/v00001.tar.gz", Body=archive.getvalue())
    settings = ServerSettings(host="127.0.0.1", port=0, workers=1, memory_budget_bytes=512 << 20)
    with BackgroundServer(create_app(settings)) as inference:
        sagemaker = LocalSageMaker(
            jobs_root=tmp_path / "jobs",
            models_root=tmp_path / "models",
            live_bucket="test-live",
            endpoint_name=ENDPOINT,
            inference_url=inference.url,
            on_job_end=lambda job: None,
        )
        with BackgroundServer(sagemaker.app) as runtime:
            yield SageMakerEndpoint(
                boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=runtime.url)
            )


def test_the_endpoint_answers_a_photo_with_the_target_models_detections(endpoint: Endpoint) -> None:
    photo = encode(draw_scene(128, 96, [Shape(0, 20, 20, 40, 30)]), "PNG")
    answer = json.loads(endpoint.invoke(ENDPOINT, "acme/v00001.tar.gz", photo, "image/png"))
    assert isinstance(answer["detections"], list)


def test_the_endpoint_refuses_what_is_not_a_photo(endpoint: Endpoint) -> None:
    with pytest.raises(ModelRejectedInput) as refused:
        endpoint.invoke(ENDPOINT, "acme/v00001.tar.gz", b"this is text", "image/png")
    assert refused.value.status == 400 and refused.value.message


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [("ModelNotReadyException", 429, ModelNotReady), ("ModelError", 424, ModelRejectedInput)],
)
def test_sagemakers_errors_become_domain_errors(code: str, status: int, error: type[Exception]) -> None:
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            code,
            "refused",
            status,
            response_meta={},
            modeled_fields={"OriginalStatusCode": 415, "OriginalMessage": '{"message": "not a photo"}'}
            if code == "ModelError"
            else None,
        )
        with pytest.raises(error):
            SageMakerEndpoint(client).invoke(ENDPOINT, "acme/v00001.tar.gz", b"x", "image/png")


def test_the_endpoint_client_answers_within_the_apis_29_seconds() -> None:
    config = clients.client("sagemaker-runtime").meta.config
    attempts = config.retries["total_max_attempts"]
    assert attempts <= 2  # retried at most once
    assert attempts * (config.connect_timeout + config.read_timeout) < 29


def test_an_endpoint_that_does_not_answer_is_unavailable_not_a_hang() -> None:
    import socket

    from botocore.config import Config

    from authentic.errors import ServiceUnavailable

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        runtime = boto3.client(
            "sagemaker-runtime",
            region_name="us-east-1",
            endpoint_url=url,
            config=Config(read_timeout=0.5, connect_timeout=0.5, retries={"mode": "standard", "max_attempts": 2}),
        )
        with pytest.raises(ServiceUnavailable, match="did not answer in time"):
            SageMakerEndpoint(runtime).invoke(ENDPOINT, "acme/v00001.tar.gz", b"x", "image/png")
