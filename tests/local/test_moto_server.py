"""The embedded default's moto server can play S3's latency: only the calls moto routes to S3 wait (the server
delays exactly the requests it counts as S3's, so the count tells which waited, without timing the others)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import boto3
import pytest

from authentic.local.moto_server import MotoServer
from authentic.local.runtime import free_port

LATENCY = 0.25


@pytest.fixture
def server() -> Iterator[tuple[MotoServer, str]]:
    port = free_port()
    moto = MotoServer(port=port, s3_latency_seconds=LATENCY).start()
    yield moto, f"http://127.0.0.1:{port}"
    moto.stop()


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def test_only_s3_calls_wait_and_are_counted(server: tuple[MotoServer, str]) -> None:
    moto, url = server
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    s3, sqs = session.client("s3", endpoint_url=url), session.client("sqs", endpoint_url=url)
    dynamodb = session.client("dynamodb", endpoint_url=url)

    assert timed(lambda: s3.create_bucket(Bucket="timed")) >= LATENCY
    assert timed(lambda: s3.put_object(Bucket="timed", Key="k", Body=b"x")) >= LATENCY
    assert moto.s3_requests == 2
    dynamodb.list_tables()
    sqs.create_queue(QueueName="q")
    assert moto.s3_requests == 2  # neither waited
    s3.get_object(Bucket="timed", Key="k")
    assert moto.s3_requests == 3


def test_a_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        MotoServer(port=free_port(), s3_latency_seconds=-1)
