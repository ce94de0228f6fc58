"""API Gateway on localhost, with API Gateway's rules: each HTTP request becomes the REST proxy event API
Gateway sends (binary media types base64-encoded) to the handler the wiring names, and the limits are AWS's:
a body over 10 MB is refused before anything runs, an event over Lambda's 6 MB is answered 413, a function still
running after 29 s is answered 504 while it runs on, and a function that fails, times out, is throttled or
answers with something that is not a proxy response is answered 502 or 500, as API Gateway answers it; each
with the body and headers of the stack's gateway response for the case (`wiring.GATEWAY_RESPONSES`). Routes
come from `authentic.wiring`, as in the CDK stack.

Brand routes are IAM-authorized in AWS: an unsigned request here acts as the brand web server's role, so `curl`
and the CLI work without signing.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authentic import wiring
from authentic.contracts import API_PAYLOAD_LIMIT
from authentic.local.events import api_gateway_event
from authentic.local.functions import Functions, InvocationError, RequestTooLarge, StillRunning, Throttled
from authentic.local.iam.policies import ACCOUNT
from authentic.local.tap import GatewayTap
from authentic.local.web import page_routes

INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway's integration timeout
BRAND_SERVER_ARN = f"arn:aws:iam::{ACCOUNT}:role/authentic-brand-server"

log = logging.getLogger(__name__)


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
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > API_PAYLOAD_LIMIT:
            return _too_long()
        body = await request.body()
        if len(body) > API_PAYLOAD_LIMIT:
            return _too_long()
        content_type = request.headers.get("content-type", "")
        event = api_gateway_event(
            route.method,
            route.path,
            request.url.path,
            path_parameters={k: str(v) for k, v in request.path_params.items()},
            query=dict(request.query_params),
            headers=dict(request.headers),
            body=body or None,
            binary=content_type.split(";")[0].strip().lower() in wiring.BINARY_MEDIA_TYPES,
            caller_arn=None if route.auth is wiring.Auth.PUBLIC else BRAND_SERVER_ARN,
        )
        try:
            result = await run_in_threadpool(functions.invoke, route.function, event, wait=INTEGRATION_TIMEOUT_SECONDS)
        except RequestTooLarge:
            return gateway_response("REQUEST_TOO_LARGE")
        except StillRunning:
            return gateway_response("INTEGRATION_TIMEOUT")
        except Throttled:  # API Gateway answers a throttled Lambda (proxy integration) with a 500
            return gateway_response("DEFAULT_5XX", status=500)
        except InvocationError as exc:
            log.warning("%s failed: %s", route.function, exc, exc_info=exc.__cause__ is not None)
            return gateway_response("DEFAULT_5XX", status=502)
        return _proxy_response(result)

    return endpoint


def _too_long() -> Response:
    """A body over API Gateway's limit, refused before any integration runs."""
    return gateway_response("REQUEST_TOO_LARGE")


def gateway_response(response_type: str, *, status: int | None = None, default: str = "") -> Response:
    """What API Gateway answers itself, with the stack's gateway response of that type (`wiring.GATEWAY_RESPONSES`):
    the project's JSON shape, its status (or `status`, the type's own), its Retry-After."""
    configured = next(r for r in wiring.GATEWAY_RESPONSES if r.response_type == response_type)
    code = configured.status or status or 500
    headers = {} if configured.retry_after_seconds is None else {"Retry-After": str(configured.retry_after_seconds)}
    message = configured.message if configured.message is not None else default
    return JSONResponse({"error": configured.error, "message": message}, status_code=code, headers=headers)


def _proxy_response(result: Any) -> Response:
    """The Lambda proxy answer as API Gateway returns it; anything else is a 502, as API Gateway answers it."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode", 200), int):
        return gateway_response("DEFAULT_5XX", status=502)
    payload = result.get("body") or ""
    if not isinstance(payload, str):
        return gateway_response("DEFAULT_5XX", status=502)
    content = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items() if k.lower() != "content-length"}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        if key.lower() != "content-length" and values:
            headers[key] = str(values[-1])
    return Response(content, status_code=int(result.get("statusCode", 200)), headers=headers)
