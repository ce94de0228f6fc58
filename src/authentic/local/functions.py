"""The Lambda service on one machine, with Lambda's own rules: each function runs in execution environments
(instances) created from its handler module on a cold start, as many at once as its concurrency allows; each
invocation runs with the function's credentials (exactly its role's policy), its timeout from the wiring, and
the synchronous payload limits (6 MB request and response); a handler that raises, overruns or answers too
much is an error, as Lambda reports it.

An instance that times out is discarded, as Lambda discards the sandbox; its thread cannot be killed and runs on
harmlessly in the background. A caller may stop waiting before the function's timeout (API Gateway's 29 s): the
function runs on to its own end, and its instance is free again only then.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from authentic import wiring
from authentic.aws.clients import Credentials, acting_as
from authentic.contracts import LAMBDA_PAYLOAD_LIMIT
from authentic.local.iam.policies import ACCOUNT, REGION

# Lambda's synchronous invocation payload limits (bytes of the JSON event and of the JSON answer).
REQUEST_LIMIT = LAMBDA_PAYLOAD_LIMIT
RESPONSE_LIMIT = LAMBDA_PAYLOAD_LIMIT + 100
DEFAULT_CONCURRENCY = 10  # per function, where the wiring reserves none (the account's pool, scaled down)
# Handlers are created one at a time: on Lambda each instance imports in its own process, here instances share one,
# and two threads importing the same cycle of modules at once see a partially initialised module (ImportError).
_INIT_LOCK = threading.Lock()

Handler = Callable[[dict[str, Any], Any], Any]


class InvocationError(Exception):
    """The invocation failed the way Lambda reports it; `error_type` is Lambda's name for it."""

    error_type = "ServiceException"


class RequestTooLarge(InvocationError):
    error_type = "RequestEntityTooLargeException"


class Throttled(InvocationError):
    error_type = "TooManyRequestsException"


class FunctionError(InvocationError):
    """The handler raised, or answered with a response Lambda cannot return."""

    error_type = "Unhandled"


class TimedOut(FunctionError):
    error_type = "Sandbox.Timedout"


class InitError(FunctionError):
    """The handler module could not be loaded or its handler built (Lambda's failed init phase)."""

    error_type = "Runtime.InitError"


class StillRunning(InvocationError):
    """The caller stopped waiting; the function runs on to its own timeout."""


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
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_seconds - time.monotonic()) * 1000))


def create_handler(function: wiring.Function) -> Handler:
    """A new handler of the function, as a new execution environment holds it: the wired handler module's
    `create_handler()`, which reads its settings and builds its clients when first invoked."""
    module = importlib.import_module(function.module)
    factory: Callable[[], Handler] = module.create_handler
    return factory()


@dataclass
class _Pool:
    """One function's instances: the idle ones and how many exist."""

    limit: int
    idle: list[Handler] = field(default_factory=list)
    existing: int = 0


class Functions:
    """The wiring's functions, each run by its own instances with its own credentials."""

    def __init__(self, credentials: Mapping[str, Credentials] | None = None) -> None:
        self._credentials = dict(credentials or {})
        self._lock = threading.Lock()
        self._pools = {f.name: _Pool(f.reserved_concurrency or DEFAULT_CONCURRENCY) for f in wiring.FUNCTIONS}

    def cold_start(self) -> None:
        """Start every function cold, as a fresh deployment would: the idle instances are dropped, so the next
        invocations get new handlers, with nothing cached (settings, clients) from before."""
        with self._lock:
            for pool in self._pools.values():
                pool.existing -= len(pool.idle)
                pool.idle.clear()

    def credentials(self, name: str) -> Credentials | None:
        return self._credentials.get(name)

    def handler(self, name: str) -> Handler:
        """An idle instance's handler (created when none is idle), without invoking it."""
        handler = self._acquire(name)
        self._release(name, handler)
        return handler

    def invoke(self, name: str, event: dict[str, Any], *, wait: float | None = None) -> Any:
        """Invoke synchronously and return the handler's answer; raise an `InvocationError` as Lambda would.
        `wait`: how long the caller waits (less than the function's timeout: `StillRunning` after it)."""
        spec = wiring.function(name)
        if len(json.dumps(event).encode()) > REQUEST_LIMIT:
            raise RequestTooLarge(f"the request payload is over Lambda's {REQUEST_LIMIT} bytes")
        handler = self._acquire(name)
        outcome: dict[str, Any] = {}
        context = LambdaContext(name, spec.memory_mb, spec.timeout_seconds, str(uuid.uuid4()), time.monotonic())

        def run() -> None:
            try:
                with acting_as(self._credentials.get(name)):
                    outcome["result"] = handler(event, context)
            except BaseException as exc:
                outcome["error"] = exc
            finally:
                done.set()

        done = threading.Event()
        threading.Thread(target=run, name=f"lambda-{name}-{context.aws_request_id[:8]}", daemon=True).start()
        patience = spec.timeout_seconds if wait is None else min(wait, spec.timeout_seconds)
        if not done.wait(patience):
            threading.Thread(target=self._settle, args=(name, handler, done, spec.timeout_seconds - patience)).start()
            if patience < spec.timeout_seconds:
                raise StillRunning(f"{name} is still running after {patience:.0f} s")
            raise TimedOut(f"Task timed out after {spec.timeout_seconds:.2f} seconds")
        self._release(name, handler)
        if "error" in outcome:
            error: BaseException = outcome["error"]
            raise FunctionError(f"{type(error).__name__}: {error}") from error
        result = outcome.get("result")
        try:
            size = len(json.dumps(result).encode())
        except (TypeError, ValueError) as exc:
            raise FunctionError(f"the handler's answer is not JSON: {exc}") from exc
        if size > RESPONSE_LIMIT:
            raise FunctionError(f"Response payload size ({size} bytes) exceeded maximum allowed payload size")
        return result

    def _settle(self, name: str, handler: Handler, done: threading.Event, remaining: float) -> None:
        """After the caller stopped waiting: the instance is free again when the function ends, and discarded
        when it overruns its own timeout."""
        if done.wait(max(0.0, remaining)):
            self._release(name, handler)
        else:
            with self._lock:
                self._pools[name].existing -= 1

    def _acquire(self, name: str) -> Handler:
        with self._lock:
            pool = self._pools[name]
            if pool.idle:
                return pool.idle.pop()
            if pool.existing >= pool.limit:
                raise Throttled(f"Rate Exceeded: {name} is running {pool.existing} of {pool.limit} at once")
            pool.existing += 1
        try:
            with _INIT_LOCK:
                return create_handler(wiring.function(name))
        except BaseException as exc:
            with self._lock:
                pool.existing -= 1
            if isinstance(exc, Exception):
                raise InitError(f"{name} failed to initialise: {type(exc).__name__}: {exc}") from exc
            raise

    def _release(self, name: str, handler: Handler) -> None:
        with self._lock:
            self._pools[name].idle.append(handler)
