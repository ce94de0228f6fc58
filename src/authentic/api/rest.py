"""The REST layer: one resolver per API function, routes checked against the wiring, domain errors answered
through `authentic.errors.http_answer`, and the handler's Powertools decorators set in one place."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths

from authentic import wiring
from authentic.api.observability import logger, metrics
from authentic.errors import DomainError, InvalidInput, http_answer

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def provide(given: T | None, build: Callable[[], T]) -> Callable[[], T]:
    """What a handler's routes call for their services: `given` (a test's fakes), or the deployment's own,
    built by `build` when the function is first invoked (never at import: settings are read then)."""
    if given is not None:
        return lambda: given
    built: list[T] = []

    def services() -> T:
        if not built:
            built.append(build())
        return built[0]

    return services


class Api:
    """An API Gateway REST resolver for one function, which may only serve the routes the wiring gives it."""

    def __init__(self, function: str) -> None:
        self.function = function
        self.resolver = APIGatewayRestResolver(strip_prefixes=None)
        self.resolver.exception_handler(DomainError)(_domain_error)
        self.resolver.exception_handler(json.JSONDecodeError)(_bad_json)
        self.resolver.not_found(_no_route)
        self.routes: list[wiring.Route] = []

    def route(self, method: str, path: str) -> Callable[[F], F]:
        declared = [r for r in wiring.ROUTES if (r.method, r.path) == (method, path)]
        if not declared or declared[0].function != self.function:
            raise LookupError(f"{method} {path} is not wired to the {self.function!r} function in wiring.py")
        self.routes.append(declared[0])
        resolver_path = path.replace("{", "<").replace("}", ">")

        def register(handler: F) -> F:
            self.resolver.route(resolver_path, method)(handler)
            return handler

        return register

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object ({} when empty); a clear 400 otherwise."""
        raw = self.resolver.current_event.body
        if raw in (None, ""):
            return {}
        body = self.resolver.current_event.json_body
        if not isinstance(body, dict):
            raise InvalidInput("the request body must be a JSON object")
        return body

    def query(self, name: str) -> str | None:
        params = self.resolver.current_event.query_string_parameters or {}
        value = params.get(name)
        return None if value is None else str(value)

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.resolver.resolve(event, context)

    def handler(self) -> RestHandler:
        """The Lambda handler over the routes registered so far."""
        return RestHandler(self)


class RestHandler:
    """A REST function's Lambda handler: logs with the request's correlation id, metrics flushed after each
    call; `routes` are the wired routes it serves."""

    def __init__(self, api: Api) -> None:
        self.routes = tuple(api.routes)

        @metrics.log_metrics
        @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
        def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return api.resolve(event, context)

        self._handle = handle

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self._handle(event, context)
        return answer


def _domain_error(exc: DomainError) -> Response[str]:
    status, headers, body = http_answer(exc)
    if status >= 500:
        logger.error("request failed", extra={"error": exc.code, "reason": exc.message})
    else:
        logger.info("request refused", extra={"error": exc.code, "status": exc.status, "reason": exc.message})
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body), headers=headers
    )


def _no_route(exc: Exception) -> Response[str]:
    """API Gateway only passes requests of wired routes, so a path the resolver cannot match holds a path
    parameter with characters no id can have (e.g. a control character)."""
    return _domain_error(InvalidInput("a path parameter holds characters that no brand, job or version id can have"))


def _bad_json(exc: json.JSONDecodeError) -> Response[str]:
    return _domain_error(InvalidInput(f"the request body is not valid JSON: {exc.msg} at position {exc.pos}"))
