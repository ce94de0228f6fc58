"""AWS state in moto's in-process mock: the same buckets, table and queue the stateful stack declares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from authentic.aws import clients
from authentic.local import events
from authentic.local.provision import Provisioned, provision
from authentic.settings import Settings


@pytest.fixture
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    config = Settings(
        uploads_bucket="test-uploads",
        dataset_bucket="test-dataset",
        artifacts_bucket="test-artifacts",
        live_bucket="test-live",
        table_name="test-table",
        pair_stale_seconds=3600,
    )
    for name, value in config.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return config


@pytest.fixture
def moto_aws(app_settings: Settings) -> Iterator[Provisioned]:
    with mock_aws():
        clients.clear()
        yield provision(app_settings)
    clients.clear()


@pytest.fixture
def put_upload(app_settings: Settings, moto_aws: Provisioned) -> Callable[..., dict[str, Any]]:
    """Put an object in the uploads bucket and return the S3 notification message for it."""

    def put(key: str, body: bytes, content_type: str = "application/octet-stream") -> dict[str, Any]:
        out = clients.client("s3").put_object(
            Bucket=app_settings.uploads_bucket, Key=key, Body=body, ContentType=content_type
        )
        return events.s3_object_created(
            app_settings.uploads_bucket, key, size=len(body), version_id=out.get("VersionId")
        )

    return put
