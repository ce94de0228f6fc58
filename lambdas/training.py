"""Brand routes for training and models: start a job, poll it, list versions, promote, and the verdict policy."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from authentic import settings
from authentic.adapters.dataset_records import DatasetRecords
from authentic.adapters.model_records import ModelRecords
from authentic.adapters.s3 import ObjectStore
from authentic.adapters.sagemaker import TrainingJobs
from authentic.api import Api
from authentic.errors import InvalidInput
from authentic.observability import logger, metrics
from authentic.registry import Registry
from authentic.training_jobs import Training

api = Api("training")


@cache
def _training() -> Training:
    config = settings.current()
    return Training(
        DatasetRecords(config.table_name), ModelRecords(config.table_name), ObjectStore(), TrainingJobs(), config
    )


@cache
def _registry() -> Registry:
    config = settings.current()
    return Registry(ModelRecords(config.table_name), ObjectStore(), config)


@api.route("POST", "/brands/{brandId}/training-jobs")
def start_training(brandId: str) -> Response[Any]:
    logger.append_keys(brand_id=brandId)
    body = api.json_body()
    overrides = body.get("hyperparameters", {})
    if not isinstance(overrides, dict) or not all(isinstance(v, str | int | float) for v in overrides.values()):
        raise InvalidInput("'hyperparameters' must be an object of strings or numbers")
    status, job = _training().start(brandId, {str(k): str(v) for k, v in overrides.items()})
    if status == 201:
        metrics.add_metric(name="TrainingJobsStarted", unit=MetricUnit.Count, value=1)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=job)


@api.route("GET", "/brands/{brandId}/training-jobs/{jobId}")
def get_training_job(brandId: str, jobId: str) -> dict[str, Any]:
    return _training().describe(brandId, jobId)


@api.route("GET", "/brands/{brandId}/models")
def list_models(brandId: str) -> dict[str, Any]:
    return _registry().overview(brandId)


@api.route("POST", "/brands/{brandId}/models/{version}/promote")
def promote(brandId: str, version: str) -> dict[str, Any]:
    number = version.removeprefix("v")
    if not number.isdigit():
        raise InvalidInput(f"version {version!r} is not a version number")
    body = api.json_body()
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise InvalidInput("'force' must be true or false")
    return _registry().promote(brandId, int(number), force=force, reason=str(body.get("reason", "")))


@api.route("GET", "/brands/{brandId}/policy")
def get_policy(brandId: str) -> dict[str, Any]:
    return _registry().get_policy(brandId)


@api.route("PUT", "/brands/{brandId}/policy")
def put_policy(brandId: str) -> dict[str, Any]:
    known = set(DatasetRecords(settings.current().table_name).categories(brandId).values())
    live = _registry().live_model(brandId)
    if live:
        known |= {c["name"] for c in live.classes}
    return _registry().put_policy(brandId, api.json_body(), known)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.resolve(event, context)


def reset() -> None:
    _training.cache_clear()
    _registry.cache_clear()
