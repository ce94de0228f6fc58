"""API Gateway on localhost: each HTTP request becomes the REST proxy event API Gateway would send, and goes
to the same Lambda handler the wiring names. Routes come from `authentic.wiring`, as in the CDK stack."""

from __future__ import annotations

import base64
import importlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authentic import wiring
from authentic.local.events import api_gateway_event

BINARY_TYPES = ("image/", "application/octet-stream")


@dataclass
class LambdaContext:
    """What a handler may ask of the Lambda context."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str
    started: float

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_seconds - time.monotonic()) * 1000))


class Functions:
    """The Lambda functions of the wiring, one invocation at a time per function (like one warm instance)."""

    def __init__(self) -> None:
        self._locks = {f.name: threading.Lock() for f in wiring.FUNCTIONS}

    def handler(self, name: str) -> Callable[[dict[str, Any], Any], Any]:
        module, attribute = wiring.function(name).handler.rsplit(".", 1)
        handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module), attribute)
        return handler

    def cold_start(self) -> None:
        """Start every function cold, as a fresh deployment would: forget what a handler module cached
        (settings, clients) in this process before, e.g. under another configuration."""
        for function in wiring.FUNCTIONS:
            module = importlib.import_module(function.handler.rsplit(".", 1)[0])
            reset = getattr(module, "reset", None)
            if callable(reset):
                reset()

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        spec = wiring.function(name)
        context = LambdaContext(name, spec.memory_mb, spec.timeout_seconds, str(uuid.uuid4()), time.monotonic())
        with self._locks[name]:
            return self.handler(name)(event, context)


def create_gateway(functions: Functions) -> Starlette:
    routes = [
        Route(route.path, _endpoint(functions, route), methods=[route.method], name=f"{route.method} {route.path}")
        for route in wiring.ROUTES
    ]
    app = Starlette(routes=routes)
    app.add_route("/", _index, methods=["GET"])
    return app


def _endpoint(functions: Functions, route: wiring.Route) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        binary = any(content_type.startswith(t) for t in BINARY_TYPES)
        event = api_gateway_event(
            route.method,
            route.path,
            request.url.path,
            path_parameters={k: str(v) for k, v in request.path_params.items()},
            query=dict(request.query_params),
            headers=dict(request.headers),
            body=body or None,
            binary=binary,
            caller_arn=None if route.auth is wiring.Auth.PUBLIC else "arn:aws:iam::000000000000:user/local",
        )
        result = await run_in_threadpool(functions.invoke, route.function, event)
        payload = result.get("body") or ""
        content = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        headers = {k: v for k, v in (result.get("headers") or {}).items() if k.lower() != "content-length"}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            if key.lower() != "content-length" and values:
                headers[key] = values[-1]
        return Response(content, status_code=int(result.get("statusCode", 200)), headers=headers)

    return endpoint


async def _index(request: Request) -> Response:
    return JSONResponse({"routes": [{"method": r.method, "path": r.path, "auth": r.auth.value} for r in wiring.ROUTES]})
