"""The local Lambda and API Gateway keep AWS's limits: a 10 MB request body, Lambda's 6 MB request and answer
(a binary body counted after base64), the 29 s integration timeout (504 while the function runs on), each
function's own timeout and concurrency; failures answered as API Gateway answers them. Checked over real HTTP
with a probe function whose behaviour the request asks for."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from authentic import wiring
from authentic.contracts import PAYLOAD_TOO_LARGE_MESSAGE
from authentic.local import gateway
from authentic.local.background import BackgroundServer
from authentic.local.functions import REQUEST_LIMIT, Functions, TimedOut
from tests.local import probe_function

PROBE = wiring.Function("probe", "tests.local.probe_function.handler", "probe", timeout_seconds=3, memory_mb=128)
BROKEN = wiring.Function("broken", "tests.local.no_such_module.handler", "a handler module that does not load")
NARROW = wiring.Function(
    "narrow", "tests.local.probe_function.handler", "probe", timeout_seconds=3, reserved_concurrency=2
)


@dataclass
class Api:
    http: httpx.Client
    functions: Functions


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setattr(wiring, "FUNCTIONS", (*wiring.FUNCTIONS, PROBE, NARROW, BROKEN))
    monkeypatch.setattr(
        wiring,
        "ROUTES",
        (
            wiring.Route("POST", "/probe", "probe", wiring.Auth.PUBLIC),
            wiring.Route("POST", "/narrow", "narrow", wiring.Auth.PUBLIC),
            wiring.Route("POST", "/broken", "broken", wiring.Auth.PUBLIC),
            wiring.Route("POST", "/brands/{brandId}/probe", "probe"),
        ),
    )
    monkeypatch.setattr(gateway, "INTEGRATION_TIMEOUT_SECONDS", 1.0)  # 29 s, scaled down for the test
    probe_function.FINISHED.clear()
    monkeypatch.setattr(probe_function, "RUNNING", threading.Semaphore(0))
    functions = Functions()
    with (
        BackgroundServer(gateway.create_gateway(functions)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield Api(http, functions)


def ask(api: Api, what: dict[str, object], path: str = "/probe") -> httpx.Response:
    return api.http.post(path, content=json.dumps(what), headers={"content-type": "application/json"})


def test_a_body_over_10_mb_is_refused_before_anything_runs(api: Api) -> None:
    answer = api.http.post("/probe", content=bytes(10 * 1024 * 1024 + 1), headers={"content-type": "image/jpeg"})
    assert answer.status_code == 413
    assert answer.json() == {"error": "payload_too_large", "message": PAYLOAD_TOO_LARGE_MESSAGE}
    assert not probe_function.FINISHED


def test_a_binary_body_counts_after_base64_against_lambdas_6_mb(api: Api) -> None:
    fits = REQUEST_LIMIT * 3 // 4 - 64 * 1024  # base64 and the event's few KB stay under 6 MB
    answer = api.http.post("/probe", content=bytes(fits), headers={"content-type": "image/jpeg"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["base64"] is True
    assert answer.json()["body_bytes"] == fits

    too_big = REQUEST_LIMIT * 3 // 4 + 1024  # under 10 MB, but over 6 MB once base64-encoded
    refused = api.http.post("/probe", content=bytes(too_big), headers={"content-type": "image/jpeg"})
    assert refused.status_code == 413
    assert refused.json() == {"error": "payload_too_large", "message": PAYLOAD_TOO_LARGE_MESSAGE}
    assert len(probe_function.FINISHED) == 1


def test_an_answer_over_6_mb_is_a_502(api: Api) -> None:
    assert ask(api, {"answer_bytes": 5 * 1024 * 1024}).status_code == 200
    assert ask(api, {"answer_bytes": 6 * 1024 * 1024}).status_code == 502


def test_a_slow_function_is_answered_504_at_the_integration_timeout_and_runs_on(api: Api) -> None:
    started = time.monotonic()
    answer = ask(api, {"sleep": 2})
    assert answer.status_code == 504
    assert answer.json()["error"] == "timeout"
    assert answer.headers["retry-after"] == "5"
    assert time.monotonic() - started < 1.9
    assert not probe_function.FINISHED
    deadline = time.monotonic() + 5
    while not probe_function.FINISHED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(probe_function.FINISHED) == 1  # the function ran on to its end


def test_a_function_over_its_own_timeout_is_stopped_and_its_instance_discarded(api: Api) -> None:
    with pytest.raises(TimedOut, match=r"Task timed out after 3\.00 seconds"):
        api.functions.invoke("probe", {"body": json.dumps({"sleep": 4}), "requestContext": {"identity": {}}})
    answer = api.functions.invoke(
        "probe", {"body": "{}", "requestContext": {"identity": {"userArn": None}}}
    )  # a new instance serves the next call
    assert json.loads(answer["body"])["remaining_ms"] > 2000


def test_failures_are_answered_as_api_gateway_answers_them(api: Api) -> None:
    raised = ask(api, {"raise": "boom"})
    assert (raised.status_code, raised.json()["error"]) == (502, "unavailable")
    assert ask(api, {"not_proxy": True}).status_code == 502
    failed_init = ask(api, {}, "/broken")  # Lambda's failed init phase
    assert (failed_init.status_code, failed_init.json()["error"]) == (502, "unavailable")


def test_a_function_at_its_reserved_concurrency_is_throttled(api: Api) -> None:
    with ThreadPoolExecutor(2) as pool:
        busy = [pool.submit(ask, api, {"sleep": 0.8}, "/narrow") for _ in range(2)]
        for _ in range(2):
            assert probe_function.RUNNING.acquire(timeout=5)
        throttled = ask(api, {}, "/narrow")
        assert (throttled.status_code, throttled.json()["error"]) == (500, "unavailable")
        assert throttled.headers["retry-after"] == "5"
        assert [b.result().status_code for b in busy] == [200, 200]
    assert ask(api, {}, "/narrow").status_code == 200  # free again


def test_unsigned_calls_to_brand_routes_act_as_the_brand_server(api: Api) -> None:
    assert ask(api, {}, "/brands/acme/probe").json()["caller"] == gateway.BRAND_SERVER_ARN
    assert ask(api, {}).json()["caller"] is None  # the public route has no caller
