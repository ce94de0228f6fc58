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
from starlette.responses import Response
from starlette.routing import Route

from authentic import wiring
from authentic.local.events import api_gateway_event
from authentic.local.tap import GatewayTap
from authentic.local.web import page_routes


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


Handler = Callable[[dict[str, Any], Any], Any]


def create_handler(function: wiring.Function) -> Handler:
    """A new handler of the function, as a new Lambda execution environment would hold: the wired handler
    module's `create_handler()`, which reads its settings and builds its clients when first invoked."""
    module = importlib.import_module(function.module)
    factory: Callable[[], Handler] = module.create_handler
    return factory()


class Functions:
    """The Lambda functions of the wiring, one invocation at a time per function (like one warm instance)."""

    def __init__(self) -> None:
        self._locks = {f.name: threading.Lock() for f in wiring.FUNCTIONS}
        self._handlers: dict[str, Handler] = {}

    def cold_start(self) -> None:
        """Start every function cold, as a fresh deployment would: new handlers, with nothing cached (settings,
        clients) from what ran in this process before, e.g. under another configuration."""
        self._handlers = {function.name: create_handler(function) for function in wiring.FUNCTIONS}

    def handler(self, name: str) -> Handler:
        if name not in self._handlers:
            self._handlers[name] = create_handler(wiring.function(name))
        return self._handlers[name]

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        spec = wiring.function(name)
        context = LambdaContext(name, spec.memory_mb, spec.timeout_seconds, str(uuid.uuid4()), time.monotonic())
        with self._locks[name]:
            return self.handler(name)(event, context)


def create_gateway(functions: Functions, tap: GatewayTap | None = None) -> Starlette:
    """The wired API routes (seen by `tap`, when given), then the shopper's page at `/` (`authentic.local.web`)."""
    tap = tap or GatewayTap()
    routes = [
        Route(
            route.path,
            tap.wrap(route.method, route.path, _endpoint(functions, route)),
            methods=[route.method],
            name=f"{route.method} {route.path}",
        )
        for route in wiring.ROUTES
    ]
    return Starlette(routes=[*routes, *page_routes()])


def _endpoint(functions: Functions, route: wiring.Route) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        binary = content_type.split(";")[0].strip().lower() in wiring.BINARY_MEDIA_TYPES
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
