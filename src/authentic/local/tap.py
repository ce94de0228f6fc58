"""A tap on the local gateway for tests and benchmarks: see what reached an API route (the exact bytes), and
make the next requests of a route fail as API Gateway or Lambda can fail (503 with Retry-After, 429, 502), before
the function sees them.

It answers only what a test asked for: with nothing queued and nothing recorded, the gateway behaves as without
it. Faults are answered in the API's own error shape (`authentic.errors.http_answer`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authentic.errors import ServiceUnavailable, http_answer

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Seen:
    """One request as it reached an API route of the gateway, and the status it was answered with."""

    method: str
    path: str  # the route's path, e.g. /verify or /brands/{brandId}/uploads
    query: dict[str, str]
    content_type: str
    body: bytes
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Fault:
    """A canned answer for one request of a route: status, headers and the API's JSON error body."""

    status: int
    headers: dict[str, str]
    body: dict[str, object]


class GatewayTap:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[tuple[str, str], deque[Fault]] = {}
        self._recordings: list[list[Seen]] = []

    def wrap(self, method: str, path: str, endpoint: Endpoint) -> Endpoint:
        """The route's endpoint behind the tap: a queued fault answers instead of it, and recordings see both."""

        async def tapped(request: Request) -> Response:
            body = await request.body()  # Starlette caches it: the endpoint reads the same bytes
            fault = self.take_fault(method, path)
            if fault is not None:
                response: Response = JSONResponse(fault.body, status_code=fault.status, headers=fault.headers)
            else:
                response = await endpoint(request)
            content_type = request.headers.get("content-type", "")
            self.saw(Seen(method, path, dict(request.query_params), content_type, body, response.status_code))
            return response

        return tapped

    def fail_next(
        self, method: str, path: str, *, status: int = 503, retry_after: int | None = 2, times: int = 1
    ) -> None:
        """Answer the next `times` requests of the route with `status`: 503 in the API's own shape (the model is
        loading), any other status as API Gateway answers it (`{"message": ...}`); `Retry-After` when given."""
        if status == ServiceUnavailable.status:
            answer, headers, body = http_answer(
                ServiceUnavailable("the service is busy (a fault injected by a test); try again", retry_after=0)
            )
        else:
            answer, headers, body = status, {}, {"message": HTTPStatus(status).phrase}
        headers = {k: v for k, v in headers.items() if k != "Retry-After"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        with self._lock:
            queue = self._faults.setdefault((method, path), deque())
            queue.extend(Fault(answer, dict(headers), body) for _ in range(times))

    def clear_faults(self) -> list[Fault]:
        """Drop the faults still queued, and return them (a test that queued more than its requests used)."""
        with self._lock:
            left = [fault for queue in self._faults.values() for fault in queue]
            self._faults.clear()
        return left

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get((method, path))
            return queue.popleft() if queue else None

    @contextlib.contextmanager
    def record(self) -> Iterator[list[Seen]]:
        """Record every API request while the block runs, into the list it yields."""
        seen: list[Seen] = []
        with self._lock:
            self._recordings.append(seen)
        try:
            yield seen
        finally:
            with self._lock:
                self._recordings.remove(seen)

    def saw(self, request: Seen) -> None:
        with self._lock:
            for recording in self._recordings:
                recording.append(request)
