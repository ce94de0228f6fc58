"""The whole story at tiny scale through the local runtime: real HTTP, moto's server, the real handlers, a
real (tiny) training run in a subprocess, promotion, and a verify answer from the real ONNX model."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from authentic.aws import clients
from authentic.cli import flows
from authentic.cli.client import ApiClient, ApiError
from authentic.cli.synthetic import generate_brand, render_single
from authentic.local.runtime import LocalRuntime
from authentic.media.normalise import has_metadata

pytestmark = pytest.mark.slow

BRAND = "acme"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    state = tmp_path_factory.mktemp("state")
    overrides = {"min_images_per_class": 2, "quality_gate_map50": 0.0, "detection_floor": 0.001}
    with LocalRuntime(state, overrides=overrides) as local:
        yield local


@pytest.fixture(scope="module")
def client(runtime: LocalRuntime) -> Iterator[ApiClient]:
    api = ApiClient(runtime.api_url)
    yield api
    api.close()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("acme")
    generate_brand(folder, n_images=10, seed=3, image_size=128, sideways_fraction=0.3)
    photo = sorted(folder.glob("*.jpg"))[0]
    (folder / "broken.jpg").write_bytes(photo.read_bytes()[: int(photo.stat().st_size * 0.6)])
    annotation = json.loads(photo.with_suffix(".json").read_text()) | {"file": "broken.jpg"}
    (folder / "broken.json").write_text(json.dumps(annotation))
    return folder


@pytest.fixture(scope="module")
def imported(client: ApiClient, dataset: Path) -> flows.ImportReport:
    return flows.import_folder(client, BRAND, dataset, "seed", wait_seconds=120)


def test_ingest_accepts_the_photos_and_refuses_the_broken_file(
    imported: flows.ImportReport, runtime: LocalRuntime
) -> None:
    assert len(imported.accepted) == 10
    assert imported.pending == []
    ((name, reason),) = imported.rejected
    assert name == "broken.jpg"
    assert "truncated" in reason.lower()
    s3 = clients.client("s3")
    listed = s3.list_objects_v2(Bucket=runtime.settings.dataset_bucket, Prefix=f"{BRAND}/objects/")["Contents"]
    keys = [o["Key"] for o in listed if not o["Key"].endswith(".json")]
    assert len(keys) == 10
    for key in keys:
        data = s3.get_object(Bucket=runtime.settings.dataset_bucket, Key=key)["Body"].read()
        assert has_metadata(data) == []
        assert Image.open(io.BytesIO(data)).getexif().get(0x0112) is None


def test_the_same_upload_twice_changes_nothing(
    client: ApiClient, imported: flows.ImportReport, runtime: LocalRuntime
) -> None:
    before = client.ingest_summary(BRAND)
    sqs = clients.client("sqs")
    s3 = clients.client("s3")
    # Upload one pair's image again (the same form used twice), and deliver one notification twice.
    listing = s3.list_objects_v2(Bucket=runtime.settings.uploads_bucket, Prefix=f"{BRAND}/")["Contents"]
    image_key = next(o["Key"] for o in listing if o["Key"].endswith("/image"))
    body = s3.get_object(Bucket=runtime.settings.uploads_bucket, Key=image_key)["Body"].read()
    s3.put_object(Bucket=runtime.settings.uploads_bucket, Key=image_key, Body=body)
    head = s3.head_object(Bucket=runtime.settings.uploads_bucket, Key=image_key)
    from authentic.local.events import s3_object_created

    duplicate = json.dumps(
        s3_object_created(runtime.settings.uploads_bucket, image_key, size=len(body), version_id=head["VersionId"])
    )
    sqs.send_message(QueueUrl=runtime.provisioned.queue_url, MessageBody=duplicate)
    sqs.send_message(QueueUrl=runtime.provisioned.queue_url, MessageBody=duplicate)
    runtime.wait_for_ingest()

    after = client.ingest_summary(BRAND)
    assert after["images"] == before["images"] == 10
    assert after["classes"] == before["classes"]
    assert after["counts"] == before["counts"]


def test_train_promote_and_verify(
    client: ApiClient, imported: flows.ImportReport, dataset: Path, runtime: LocalRuntime, tmp_path: Path
) -> None:
    # Four tiny epochs: long enough (a subprocess that imports torch, trains, exports, evaluates) for the
    # conflicting request below to arrive while the job runs.
    job = client.start_training(BRAND, {"epochs": "4", "imgsz": "64", "batch": "8", "min_images_per_class": "2"})
    assert job["state"] == "InProgress"

    # A second finish while training runs, on a dataset that has changed since, answers 409 with the job.
    extra = tmp_path / "extra"
    generate_brand(extra, n_images=1, seed=99, image_size=128, prefix="late")
    flows.import_folder(client, BRAND, extra, "seed", wait_seconds=60)
    assert client.training_job(BRAND, job["job_name"])["state"] == "InProgress"
    with pytest.raises(ApiError) as conflict:
        client.start_training(BRAND)
    assert conflict.value.status == 409
    assert conflict.value.body["details"]["job_name"] == job["job_name"]

    done = _wait(client, job["job_name"])
    assert done["state"] == "Completed", done
    assert done["version"] == 1
    assert done["gate"]["passed"], done
    live_key = f"{BRAND}/v00001.tar.gz"
    clients.client("s3").head_object(Bucket=runtime.settings.live_bucket, Key=live_key)
    models = client.models(BRAND)
    assert models["live"]["version"] == 1
    assert models["live"]["live_key"] == live_key

    photo = tmp_path / "shopper.jpg"
    render_single(photo, class_id=0, seed=5, image_size=128)
    answer = flows.verify_photo(client, BRAND, photo).answer
    assert answer["model_version"] == 1
    assert answer["verdict"] in ("genuine", "counterfeit", "inconclusive")
    assert answer["detections"], answer
    assert {"class_id", "name", "role", "confidence", "box"} <= set(answer["detections"][0])
    with Image.open(photo) as shot:
        assert answer["image_size"] == {"width": shot.width, "height": shot.height}
    # The shopper's route: the same verdict, only the counting boxes, no thresholds.
    public = flows.verify_photo(client, BRAND, photo, public=True).answer
    assert (public["verdict"], public["image_size"]) == (answer["verdict"], answer["image_size"])
    assert [d["box"] for d in public["detections"]] == [d["box"] for d in answer["detections"] if d["counts"]]
    assert all("threshold" not in d and "counts" not in d for d in public["detections"])


def _wait(client: ApiClient, job_name: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.training_job(BRAND, job_name)
        if job["state"] in ("Failed", "Stopped") or (job["state"] == "Completed" and "version" in job):
            return job
        time.sleep(1)
    raise TimeoutError(job_name)


def test_the_cli_drives_the_same_runtime(
    client: ApiClient, runtime: LocalRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from authentic.cli import main as cli

    _wait_for_live(client)
    api = ["--api", runtime.api_url, "--brand", BRAND]
    assert cli.main(["models", *api]) == 0
    assert "live version 1" in capsys.readouterr().out

    assert cli.main(["uploads", *api]) == 0
    out = capsys.readouterr().out
    assert "rejected" in out and "broken.jpg" in out

    photo = tmp_path / "shopper.jpg"
    render_single(photo, class_id=1, seed=11, image_size=128, sideways=True)
    annotated = tmp_path / "verdict.jpg"
    assert cli.main(["verify", str(photo), *api, "--annotate", str(annotated)]) == 0
    assert capsys.readouterr().out.split(":")[0] in ("GENUINE", "COUNTERFEIT", "INCONCLUSIVE")
    with Image.open(annotated) as drawn, Image.open(photo) as shot:
        assert drawn.size == (shot.height, shot.width)  # drawn on the upright photo (stored sideways, Exif 6)

    assert cli.main(["policy", *api, "--set", "counterfeit:role=counterfeit,threshold=0.4"]) == 0
    assert "counterfeit: counterfeit, threshold 0.40 (from the policy)" in capsys.readouterr().out
    assert cli.main(["promote", *api, "7"]) == 1
    assert "no model version 7" in capsys.readouterr().err


def _wait_for_live(client: ApiClient, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not (client.models(BRAND).get("live") or {}).get("version"):
        if time.monotonic() > deadline:
            raise TimeoutError("no live model")
        time.sleep(1)
