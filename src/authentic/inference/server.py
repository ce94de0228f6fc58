"""The multi-model inference server: SageMaker's multi-model container API over ONNX Runtime.

    docker run IMAGE serve          # what SageMaker runs; listens on 8080
    python containers/inference/server.py serve --port 9000

Routes (SageMaker's custom multi-model container contract):
    GET    /ping                      200 while the process serves
    POST   /models                    {"model_name", "url"}: load; 409 if loaded, 507 if memory is short
    GET    /models?limit&next_page_token
                                      {"models": [{"modelName", "modelUrl"}], "nextPageToken"?}
    GET    /models/{name}             {"modelName", "modelUrl"}; 404 if not loaded
    DELETE /models/{name}             unload; 404 if not loaded
    POST   /models/{name}/invoke      image/jpeg|png|heic body -> detections JSON; 404 if not loaded

One process, one model registry. Several worker threads run detections (Pillow decoding and ONNX Runtime both
release the GIL), so a model loaded once serves every request, and memory holds each model once; separate
worker processes would each need their own copy of every model and their own view of what is loaded.
Memory is budgeted: a load that does not fit answers 507 so SageMaker unloads idle models; with `evict_lru`
(the local runtime) the server unloads its least recently used idle models itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import json
import logging
import math
import os
import signal
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any
from urllib.parse import unquote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authentic.contracts import MAX_VERIFY_PIXELS
from authentic.errors import DomainError, InvalidInput, NotFound, ServiceUnavailable, http_answer
from authentic.inference.decoding import DecodeBudget
from authentic.inference.detector import (
    DEFAULT_IOU,
    DEFAULT_MAX_DET,
    DetectionResult,
    Detector,
    RuntimeOptions,
    media_format,
)
from authentic.inference.host import MiB, host_cpus, host_memory_bytes
from authentic.inference.resident import LoadedModel, ResidentModels

LOG = logging.getLogger("authentic.inference")

DEFAULT_PORT = 8080
DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000
MAX_DET_LIMIT = 1000
TARGET_MODEL_HEADER = "x-amzn-sagemaker-target-model"
CUSTOM_ATTRIBUTES_HEADER = "x-amzn-sagemaker-custom-attributes"


def _env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"{name}={value} must be at least {minimum}")
    return value


def _env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean (use true or false)")


@dataclass(frozen=True)
class ServerSettings:
    """Everything the server reads from its environment, validated once at start."""

    host: str = "0.0.0.0"  # noqa: S104 - a container listens on every interface; SageMaker connects from outside
    port: int = DEFAULT_PORT
    # Detections that run at once (threads): one per core, since decoding a photo is single-threaded.
    workers: int = 1
    # ONNX Runtime threads per detection: two halve a lone request's inference, and since inference is about a
    # third of a request, busy workers seldom overlap there; more would add an idle thread per loaded model
    # (sessions own their thread pools; ORT's shared global pool spins and was slower when measured).
    intra_op_threads: int = 1
    ort_spinning: bool = False  # ONNX Runtime threads spin between runs (AUTHENTIC_ORT_SPINNING; see RuntimeOptions)
    memory_budget_bytes: int = 1024 * MiB  # the loaded models
    decode_budget_bytes: int = 512 * MiB  # decoding photos, apart from the models (see decoding.py)
    decode_wait_seconds: float = 5.0  # how long a photo may wait for decoding memory before a 503
    evict_lru: bool = False
    model_memory_factor: float = 1.5  # resident bytes per byte of model.onnx (weights, prepacks, graph)
    model_memory_overhead_bytes: int = 2 * MiB
    min_free_bytes: int = 128 * MiB  # refuse a load that would leave less than this free on the host
    max_body_bytes: int = 8 * MiB  # invoke_endpoint takes 6 MB; a little more for local callers
    max_pixels: int = MAX_VERIFY_PIXELS
    iou: float = DEFAULT_IOU
    default_max_det: int = DEFAULT_MAX_DET
    load_workers: int = 2

    @classmethod
    def for_host(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings for this machine, overridable by environment variables:

        SAGEMAKER_BIND_TO_PORT, SAGEMAKER_MODEL_SERVER_WORKERS (concurrent detections, default: the cores),
        AUTHENTIC_INTRA_OP_THREADS (default: 2, or 1 on a single core), AUTHENTIC_MEMORY_BUDGET_MB (the models;
        default: 60% of the container's memory), AUTHENTIC_DECODE_BUDGET_MB (decoding photos; default: 20% of
        it, at most 1 GiB), AUTHENTIC_EVICT_LRU, AUTHENTIC_ORT_SPINNING, AUTHENTIC_MAX_BODY_MB,
        AUTHENTIC_MAX_PIXELS.
        """
        env = os.environ if environ is None else environ
        cpus = host_cpus()
        workers = _env_int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", cpus)
        memory = host_memory_bytes()
        budget_mb = _env_int(env, "AUTHENTIC_MEMORY_BUDGET_MB", max(64, int(memory * 0.6) // MiB))
        decode_mb = _env_int(env, "AUTHENTIC_DECODE_BUDGET_MB", max(64, min(1024, int(memory * 0.2) // MiB)))
        return cls(
            port=_env_int(env, "SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT),
            workers=workers,
            intra_op_threads=_env_int(env, "AUTHENTIC_INTRA_OP_THREADS", min(2, cpus)),
            ort_spinning=_env_bool(env, "AUTHENTIC_ORT_SPINNING", False),
            memory_budget_bytes=budget_mb * MiB,
            decode_budget_bytes=decode_mb * MiB,
            evict_lru=_env_bool(env, "AUTHENTIC_EVICT_LRU", False),
            max_body_bytes=_env_int(env, "AUTHENTIC_MAX_BODY_MB", 8) * MiB,
            max_pixels=_env_int(env, "AUTHENTIC_MAX_PIXELS", MAX_VERIFY_PIXELS),
        )


def resident_models(settings: ServerSettings) -> ResidentModels:
    """The server's model memory, sized by its settings."""
    return ResidentModels(
        budget_bytes=settings.memory_budget_bytes,
        evict_lru=settings.evict_lru,
        options=RuntimeOptions(intra_op_threads=settings.intra_op_threads, spinning=settings.ort_spinning),
        memory_factor=settings.model_memory_factor,
        memory_overhead_bytes=settings.model_memory_overhead_bytes,
        min_free_bytes=settings.min_free_bytes,
    )


# ------------------------------------------------------------------------------------------------ the app


def _error(exc: DomainError) -> JSONResponse:
    status, headers, body = http_answer(exc)
    return JSONResponse(body, status_code=status, headers=headers)


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_token(token: str) -> str:
    try:
        name = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        name = ""
    if not name or _encode_token(name) != token:
        raise InvalidInput(f"next_page_token {token!r} is not a token this server issued")
    return name


def _int_param(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name}={value!r} is not an integer") from None
    if not low <= number <= high:
        raise InvalidInput(f"{name}={number} is out of range [{low}, {high}]")
    return number


def _float_param(value: str, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{name}={value!r} is not a number") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise InvalidInput(f"{name}={number} is out of range [{low}, {high}]")
    return number


@dataclass(frozen=True)
class InvokeParams:
    conf: float | None
    max_det: int


def invoke_params(request: Request, default_max_det: int) -> InvokeParams:
    """`conf` and `max_det` from the query string or, through SageMaker (which passes no query string),
    from `X-Amzn-SageMaker-Custom-Attributes: conf=0.4,max_det=20`; the query string wins."""
    values: dict[str, str] = {}
    for pair in request.headers.get(CUSTOM_ATTRIBUTES_HEADER, "").replace(";", ",").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip() in ("conf", "max_det"):
            values[key.strip()] = value.strip()
    for key in ("conf", "max_det"):
        if key in request.query_params:
            values[key] = request.query_params[key]
    conf = _float_param(values["conf"], "conf", 0.0, 1.0) if "conf" in values else None
    max_det = _int_param(values["max_det"], "max_det", 1, MAX_DET_LIMIT) if "max_det" in values else default_max_det
    return InvokeParams(conf, max_det)


def render(entry: LoadedModel, result: DetectionResult, target_model: str | None, queue_ms: float) -> dict[str, Any]:
    """The invoke response: enough for the verdict (roles, thresholds, confidences) and for drawing boxes."""
    info = entry.detector.info
    image = result.image
    return {
        "model": entry.name,
        "target_model": target_model,
        "image_size": {"width": image.width, "height": image.height},
        "image": {
            "format": image.format,
            "orientation": image.orientation,
            "decoded_width": image.pixels.width,
            "decoded_height": image.pixels.height,
        },
        "input_size": {"height": info.input_size[0], "width": info.input_size[1]},
        "classes": [c.to_json() for c in info.classes],
        "threshold": info.threshold,
        "threshold_source": info.threshold_source,
        "conf": result.conf,
        "max_det": result.max_det,
        "detections": [d.to_json(image.width, image.height) for d in result.detections],
        "timings_ms": {"queue": round(queue_ms, 3), **{k: round(v, 3) for k, v in result.timings_ms.items()}},
    }


class InferenceApp:
    """The route handlers over one registry and one pool of detection threads."""

    def __init__(self, settings: ServerSettings, registry: ResidentModels) -> None:
        self.settings = settings
        self.registry = registry
        self.detect_pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="detect")
        self.decode_budget = DecodeBudget(settings.decode_budget_bytes, wait_seconds=settings.decode_wait_seconds)
        self.load_pool = ThreadPoolExecutor(settings.load_workers, thread_name_prefix="load")

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"status": "healthy"})

    async def list_models(self, request: Request) -> Response:
        raw_limit = request.query_params.get("limit")
        limit = DEFAULT_PAGE_LIMIT if raw_limit is None else _int_param(raw_limit, "limit", 1, MAX_PAGE_LIMIT)
        token = request.query_params.get("next_page_token")
        after = _decode_token(token) if token else None
        models, last = self.registry.page(limit, after)
        body: dict[str, Any] = {"models": [{"modelName": m.name, "modelUrl": m.url} for m in models]}
        if last is not None:
            body["nextPageToken"] = _encode_token(last)
        return JSONResponse(body)

    async def load_model(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidInput('the body must be JSON: {"model_name": "...", "url": "..."}') from None
        if not isinstance(payload, dict):
            raise InvalidInput('the body must be a JSON object: {"model_name": "...", "url": "..."}')
        name, url = payload.get("model_name"), payload.get("url")
        if not isinstance(name, str) or not name:
            raise InvalidInput("model_name must be a non-empty string")
        if not isinstance(url, str) or not url:
            raise InvalidInput("url must be the model directory's path")
        loop = asyncio.get_running_loop()
        entry = await loop.run_in_executor(self.load_pool, self.registry.load, name, url)
        return JSONResponse({"status": "loaded", "modelName": entry.name, "modelUrl": entry.url})

    async def model_route(self, request: Request) -> Response:
        """/models/{name} (GET, DELETE) and /models/{name}/invoke (POST). The name is taken from the raw
        path, so a name holding an encoded slash (%2F) survives."""
        raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
        rest = raw.split(b"?", 1)[0].decode("latin-1").removeprefix("/models/")
        if request.method == "POST":
            if not rest.endswith("/invoke"):
                raise NotFound("POST goes to /models/{name}/invoke")
            return await self.invoke(request, unquote(rest.removesuffix("/invoke")))
        name = unquote(rest)
        if request.method == "DELETE":
            self.registry.unload(name)
            return JSONResponse({"status": "unloaded", "modelName": name})
        entry = self.registry.get(name)
        return JSONResponse({"modelName": entry.name, "modelUrl": entry.url})

    async def invoke(self, request: Request, name: str) -> Response:
        with self.registry.use(name) as entry:
            content_type = request.headers.get("content-type")
            media_format(content_type)  # 415 before reading the body
            params = invoke_params(request, self.settings.default_max_det)
            body = await request.body()
            submitted = time.perf_counter()
            result, queue_ms = await asyncio.get_running_loop().run_in_executor(
                self.detect_pool, partial(self._detect, entry.detector, body, content_type, params, submitted)
            )
        target = request.headers.get(TARGET_MODEL_HEADER)
        LOG.debug("invoked %s (target %s): %s", name, target, result.timings_ms)
        return JSONResponse(render(entry, result, target, queue_ms))

    def _detect(
        self, detector: Detector, body: bytes, content_type: str | None, params: InvokeParams, submitted: float
    ) -> tuple[DetectionResult, float]:
        queue_ms = (time.perf_counter() - submitted) * 1e3
        try:
            result = detector.detect(
                body,
                content_type,
                conf=params.conf,
                iou=self.settings.iou,
                max_det=params.max_det,
                max_pixels=self.settings.max_pixels,
                budget=self.decode_budget,
            )
        except MemoryError:
            raise ServiceUnavailable("the server is short of memory for this photo; retry", retry_after=2) from None
        return result, queue_ms

    def close(self) -> None:
        self.detect_pool.shutdown(wait=False, cancel_futures=True)
        self.load_pool.shutdown(wait=False, cancel_futures=True)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return _error(exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    LOG.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": "internal", "message": f"{type(exc).__name__}: {exc}"}, status_code=500)


def create_app(settings: ServerSettings | None = None, *, registry: ResidentModels | None = None) -> Starlette:
    """The ASGI app. Tests pass small settings; `main` passes `ServerSettings.for_host()`."""
    settings = settings or ServerSettings.for_host()
    registry = registry or resident_models(settings)
    handlers = InferenceApp(settings, registry)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        yield
        handlers.close()

    app = Starlette(
        routes=[
            Route("/ping", handlers.ping, methods=["GET"]),
            Route("/models", handlers.list_models, methods=["GET"]),
            Route("/models", handlers.load_model, methods=["POST"]),
            Route("/models/{rest:path}", handlers.model_route, methods=["GET", "DELETE", "POST"]),
        ],
        exception_handlers={DomainError: _domain_error, Exception: _unexpected},
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.decode_budget = handlers.decode_budget
    return app


# ---------------------------------------------------------------------------------------------- running it


def _configure_logging() -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    """`serve` (SageMaker's argument) runs the server on 8080 until SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="inference-server", description="SageMaker multi-model endpoint server for the brand detectors"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the multi-model API (what SageMaker runs)")
    serve.add_argument("--host", default=None, help="interface to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=None, help="port (default $SAGEMAKER_BIND_TO_PORT or 8080)")
    args = parser.parse_args(argv)
    _configure_logging()
    try:
        settings = ServerSettings.for_host()
    except ValueError as exc:
        LOG.error("invalid configuration: %s", exc)
        return 2
    settings = replace(
        settings,
        host=args.host if args.host is not None else settings.host,
        port=args.port if args.port is not None else settings.port,
    )
    LOG.info(
        "serving on %s:%d with %d detection workers x %d ONNX Runtime threads, %d MiB model budget, "
        "%d MiB decode budget, evict_lru=%s",
        settings.host,
        settings.port,
        settings.workers,
        settings.intra_op_threads,
        settings.memory_budget_bytes // MiB,
        settings.decode_budget_bytes // MiB,
        settings.evict_lru,
    )
    # uvicorn shuts down gracefully on SIGTERM, restores the previous handler and raises the signal again:
    # with this handler in place the process then returns 0 instead of dying of the signal.
    signal.signal(signal.SIGTERM, lambda signum, frame: LOG.info("stopped on SIGTERM"))
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=75,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
