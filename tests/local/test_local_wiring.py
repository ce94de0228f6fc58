"""The handlers and the local runtime serve exactly the wiring: no route or event in one and not the other.
(tests/infra/test_wiring.py checks the same against the synthesized CDK template.)"""

from __future__ import annotations

import importlib
from typing import Any

from starlette.routing import Route

from authentic import wiring
from authentic.api.rest import RestHandler
from authentic.local import web
from authentic.local.functions import Functions
from authentic.local.gateway import create_gateway
from authentic.local.runtime import consumer


def test_every_handler_registers_exactly_its_wired_routes() -> None:
    for function in wiring.FUNCTIONS:
        module = importlib.import_module(function.module)
        wired = {(r.method, r.path) for r in wiring.ROUTES if r.function == function.name}
        handler = module.create_handler()
        registered = {(r.method, r.path) for r in handler.routes} if isinstance(handler, RestHandler) else set()
        assert registered == wired, function.name
        assert module.handler is not None  # what Lambda calls: the handler the module creates at import


def test_the_local_gateway_serves_every_wired_route_and_no_other() -> None:
    app = create_gateway(Functions())
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route) and not route.name.startswith(web.ROUTE_PREFIX)
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert served == {(r.method, r.path) for r in wiring.ROUTES}
    page = [route.path for route in app.routes if isinstance(route, Route) and route.name.startswith(web.ROUTE_PREFIX)]
    assert page[:2] == ["/", "/01/{rest:path}"]
    assert {"/index.html", "/app.js", "/style.css", "/config.js"} <= set(page)


def test_the_local_runtime_delivers_every_wired_event_to_its_function() -> None:
    for event in wiring.EVENTS:
        assert consumer(event.source) == event.function
    assert {e.source for e in wiring.EVENTS} == set(wiring.EventSource)


def test_the_promotion_pattern_matches_only_this_deployments_end_states() -> None:
    pattern = wiring.training_state_pattern("authentic")
    event: dict[str, Any] = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Training Job State Change",
        "detail": {"TrainingJobName": "authentic-acme-1", "TrainingJobStatus": "Completed"},
    }
    assert wiring.matches(pattern, event)
    assert not wiring.matches(pattern, event | {"detail": event["detail"] | {"TrainingJobStatus": "InProgress"}})
    assert not wiring.matches(pattern, event | {"detail": event["detail"] | {"TrainingJobName": "other-acme-1"}})
    assert not wiring.matches(pattern, event | {"source": "aws.s3"})


def test_both_verify_routes_are_wired_to_the_verify_function_the_brands_one_signed() -> None:
    verify_routes = {(r.method, r.path): r.auth for r in wiring.ROUTES if r.function == "verify"}
    assert verify_routes == {
        ("POST", "/verify"): wiring.Auth.PUBLIC,
        ("POST", "/brands/{brandId}/verify"): wiring.Auth.IAM,
    }
    handler = importlib.import_module(wiring.function("verify").module).create_handler()
    assert isinstance(handler, RestHandler)
    assert {(r.method, r.path) for r in handler.routes} == set(verify_routes)
