"""One cached factory for AWS clients. boto3 honours AWS_ENDPOINT_URL, which is how the embedded default
points every client at the local AWS stand-in."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


@cache
def client(service: str) -> Any:
    """A boto3 client for `service`, created once per process. Tests call `client.cache_clear()`."""
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    """A boto3 DynamoDB Table resource for `name`, created once per process."""
    return boto3.session.Session().resource("dynamodb", config=_CONFIG).Table(name)  # type: ignore[call-overload]


def clear() -> None:
    """Forget every cached client (tests that change the endpoint or credentials call this)."""
    client.cache_clear()
    table.cache_clear()
