"""AWS state in moto's in-process mock: the same buckets, table and queue the stateful stack declares, with IAM
enforced as AWS enforces it. Every role of the synthesized templates has a local principal holding exactly its
policies; the test's own set-up and inspection act as an administrator, and a handler under test acts as its
function (`as_function`), so a call its deployed role would be refused is refused here too."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from authentic.aws import clients
from authentic.local import events, fidelity
from authentic.local.iam import principals, templates
from authentic.local.iam.enforcer import Enforcer
from authentic.local.iam.evaluator import evaluator
from authentic.local.iam.policies import Assembly
from authentic.local.provision import Provisioned, provision
from authentic.local.runtime import EXTRA_NAMES
from authentic.settings import Settings

_active: list[principals.Principals] = []


@pytest.fixture(scope="session")
def local_templates() -> dict[str, dict[str, Any]]:
    """The synthesized templates (cached under .local/templates by a digest of the CDK app)."""
    return templates.load()


@pytest.fixture
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    config = Settings(
        uploads_bucket="test-uploads",
        dataset_bucket="test-dataset",
        artifacts_bucket="test-artifacts",
        live_bucket="test-live",
        table_name="test-table",
        pair_stale_seconds=3600,
        training_role_arn="arn:aws:iam::123456789012:role/authentic-training",
    )
    for name, value in config.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return config


@contextlib.contextmanager
def enforced_aws(
    config: Settings, local_templates: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Provisioned, principals.Principals]]:
    """moto's mock with the stateful stack's resources and every role's principal, IAM enforced."""
    fidelity.apply()
    with mock_aws():
        clients.clear()
        assembly = Assembly(
            local_templates,
            config.to_env(),
            endpoint_url="https://sqs.us-east-1.amazonaws.com",
            extra_names=EXTRA_NAMES,
        )
        created = principals.create(boto3.client("iam", region_name="us-east-1"), assembly)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", created.admin.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", created.admin.secret_access_key)
        clients.clear()
        provisioned = provision(config)
        Enforcer(evaluator()).install()
        Enforcer.enable()
        _active.append(created)
        try:
            yield provisioned, created
        finally:
            _active.remove(created)
            Enforcer.disable()
            clients.clear()


@pytest.fixture
def aws_principals(
    app_settings: Settings, local_templates: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Provisioned, principals.Principals]]:
    with enforced_aws(app_settings, local_templates, monkeypatch) as state:
        yield state


@pytest.fixture
def moto_aws(aws_principals: tuple[Provisioned, principals.Principals]) -> Provisioned:
    return aws_principals[0]


def as_function(name: str) -> contextlib.AbstractContextManager[None]:
    """Act as the wired function `name` (its role's principal) in the enforced mock that is active."""
    if not _active:
        raise RuntimeError("no enforced AWS mock is active: use the moto_aws fixture")
    return clients.acting_as(_active[-1].functions[name].credentials)


def as_role(which: str) -> contextlib.AbstractContextManager[None]:
    """Act as the SageMaker "training" or "hosting" role's principal."""
    if not _active:
        raise RuntimeError("no enforced AWS mock is active: use the moto_aws fixture")
    principal = _active[-1].training if which == "training" else _active[-1].hosting
    return clients.acting_as(principal.credentials)


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
