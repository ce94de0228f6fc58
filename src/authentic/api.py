"""The REST layer: one resolver factory, routes checked against the wiring, domain errors mapped in one place."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from authentic import wiring
from authentic.errors import DomainError, InvalidInput, ServiceUnavailable
from authentic.observability import logger

F = TypeVar("F", bound=Callable[..., Any])


class Api:
    """An API Gateway REST resolver for one function, which may only serve the routes the wiring gives it."""

    def __init__(self, function: str) -> None:
        self.function = function
        self.resolver = APIGatewayRestResolver(strip_prefixes=None)
        self.resolver.exception_handler(DomainError)(_domain_error)
        self.resolver.exception_handler(json.JSONDecodeError)(_bad_json)
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


def _domain_error(exc: DomainError) -> Response[str]:
    headers: dict[str, str] = {}
    if isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status >= 500:
        logger.error("request failed", extra={"error": exc.code, "reason": exc.message})
    else:
        logger.info("request refused", extra={"error": exc.code, "status": exc.status, "reason": exc.message})
    return Response(
        status_code=exc.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(exc.to_json()),
        headers=headers,
    )


def _bad_json(exc: json.JSONDecodeError) -> Response[str]:
    return _domain_error(InvalidInput(f"the request body is not valid JSON: {exc.msg} at position {exc.pos}"))
