"""The one cached factory for AWS clients. boto3 honours AWS_ENDPOINT_URL, which is how the embedded default
points every client at the local AWS stand-in.

In Lambda a process is one function, and its clients carry the function's role from the environment. The
embedded default runs every function in one process: it scopes each invocation to that function's own
credentials with `acting_as`, and the clients created inside are that principal's, so each function holds
exactly its role's permissions there too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_DEFAULT = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)
# The verify route answers within API Gateway's 29 s: one InvokeEndpoint may take 12 s to answer and is retried
# at most once, so a slow endpoint costs at most about 25 s, inside the function's own timeout.
ENDPOINT_READ_TIMEOUT_SECONDS = 12
ENDPOINT_ATTEMPTS = 2
_CONFIGS = {
    "sagemaker-runtime": Config(
        retries={"mode": "standard", "total_max_attempts": ENDPOINT_ATTEMPTS},
        connect_timeout=2,
        read_timeout=ENDPOINT_READ_TIMEOUT_SECONDS,
    ),
}


@dataclass(frozen=True)
class Credentials:
    """An access key of one principal (with its session token when it is a role session)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


_acting: ContextVar[Credentials | None] = ContextVar("authentic_aws_credentials", default=None)


@contextlib.contextmanager
def acting_as(credentials: Credentials | None) -> Iterator[None]:
    """Within the block, clients are created with these credentials (None: the environment's)."""
    token = _acting.set(credentials)
    try:
        yield
    finally:
        _acting.reset(token)


def client(service: str) -> Any:
    """A boto3 client for `service`, created once per process and principal. Tests call `clear()`."""
    return _client(service, _acting.get())


def table(name: str) -> Any:
    """A boto3 DynamoDB Table resource for `name`, created once per process and principal."""
    return _table(name, _acting.get())


def _session(credentials: Credentials | None) -> boto3.session.Session:
    if credentials is None:
        return boto3.session.Session()
    return boto3.session.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )


@cache
def _client(service: str, credentials: Credentials | None) -> Any:
    return _session(credentials).client(service, config=_CONFIGS.get(service, _DEFAULT))  # type: ignore[call-overload]


@cache
def _table(name: str, credentials: Credentials | None) -> Any:
    return _session(credentials).resource("dynamodb", config=_DEFAULT).Table(name)  # type: ignore[call-overload]


def clear() -> None:
    """Forget every cached client (tests that change the endpoint or credentials call this)."""
    _client.cache_clear()
    _table.cache_clear()
