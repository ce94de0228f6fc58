"""The local SageMaker stand-in lays out a job's channels as SageMaker does: a ManifestFile channel holds exactly
the objects it lists, under their keys relative to its prefix; an S3 data type it does not implement is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from authentic.aws import clients
from authentic.local.provision import Provisioned
from authentic.local.trainer import download_channels
from authentic.settings import Settings


def channel(kind: str, uri: str, name: str = "training") -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": kind, "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}},
        "ContentType": "application/x-image",
    }


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def bucket(moto_aws: Provisioned, app_settings: Settings) -> str:
    s3 = clients.client("s3")
    for key in ("acme/manifests/m.json", "acme/objects/a.jpg", "acme/objects/a.json", "acme/objects/b.jpg", "x/y"):
        s3.put_object(Bucket=app_settings.dataset_bucket, Key=key, Body=key.encode())
    return app_settings.dataset_bucket


def test_a_manifest_file_channel_holds_exactly_the_listed_objects(bucket: str, tmp_path: Path) -> None:
    listing = [{"prefix": f"s3://{bucket}/acme/"}, "manifests/m.json", "objects/a.jpg", "objects/a.json"]
    clients.client("s3").put_object(Bucket=bucket, Key="acme/manifests/m.channel.json", Body=json.dumps(listing))

    config = download_channels(
        {"InputDataConfig": [channel("ManifestFile", f"s3://{bucket}/acme/manifests/m.channel.json")]}, tmp_path
    )

    assert files(tmp_path / "training") == {
        "manifests/m.json": b"acme/manifests/m.json",
        "objects/a.jpg": b"acme/objects/a.jpg",
        "objects/a.json": b"acme/objects/a.json",
    }  # not objects/b.jpg, not the ManifestFile itself
    assert config["training"]["TrainingInputMode"] == "File"


def test_an_s3_prefix_channel_holds_everything_under_the_prefix(bucket: str, tmp_path: Path) -> None:
    download_channels({"InputDataConfig": [channel("S3Prefix", f"s3://{bucket}/acme/objects/")]}, tmp_path)
    assert set(files(tmp_path / "training")) == {"a.jpg", "a.json", "b.jpg"}


def test_a_missing_listed_object_fails_the_download(bucket: str, tmp_path: Path) -> None:
    listing = [{"prefix": f"s3://{bucket}/acme/"}, "objects/gone.jpg"]
    clients.client("s3").put_object(Bucket=bucket, Key="acme/manifests/m.channel.json", Body=json.dumps(listing))
    with pytest.raises(Exception, match="NoSuchKey"):
        download_channels(
            {"InputDataConfig": [channel("ManifestFile", f"s3://{bucket}/acme/manifests/m.channel.json")]}, tmp_path
        )


@pytest.mark.parametrize(
    ("listing", "message"),
    [
        ([{"prefix": "s3://b/acme/"}, "../../etc/passwd"], "not a relative object key"),
        (["objects/a.jpg"], "is not a ManifestFile"),
    ],
)
def test_a_malformed_manifest_file_is_refused(bucket: str, tmp_path: Path, listing: list[Any], message: str) -> None:
    clients.client("s3").put_object(Bucket=bucket, Key="acme/bad.json", Body=json.dumps(listing))
    with pytest.raises(ValueError, match=message):
        download_channels({"InputDataConfig": [channel("ManifestFile", f"s3://{bucket}/acme/bad.json")]}, tmp_path)
    assert not (tmp_path / "training").exists()


def test_an_s3_data_type_it_does_not_implement_is_refused(bucket: str, tmp_path: Path) -> None:
    request = {"InputDataConfig": [channel("AugmentedManifestFile", f"s3://{bucket}/acme/x.manifest")]}
    with pytest.raises(
        ValueError, match="implements S3DataType S3Prefix and ManifestFile, not 'AugmentedManifestFile'"
    ):
        download_channels(request, tmp_path)


def test_the_stand_in_refuses_such_a_job_when_it_is_created(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from authentic.local.sagemaker import LocalSageMaker

    stand_in = LocalSageMaker(
        jobs_root=tmp_path / "jobs",
        models_root=tmp_path / "models",
        live_bucket="live",
        endpoint_name="local",
        inference_url="http://127.0.0.1:9",
        on_job_end=lambda job: None,
    )
    request = {"TrainingJobName": "j", "InputDataConfig": [channel("AugmentedManifestFile", "s3://b/x.manifest")]}
    with TestClient(stand_in.app) as http:
        answer = http.post("/", json=request, headers={"X-Amz-Target": "SageMaker.CreateTrainingJob"})

    assert answer.status_code == 400
    assert answer.json()["__type"] == "ValidationException"
    assert "not 'AugmentedManifestFile'" in answer.json()["message"]
    assert stand_in.jobs == {}
