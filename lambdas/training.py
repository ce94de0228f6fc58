"""Brand routes for training and models: start a job, poll it, list versions, promote, the verdict policy and the
brand's registered GTINs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit

from authentic import settings
from authentic.api.observability import logger, metrics
from authentic.api.rest import Api, Handler, provide
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.gtin_records import DynamoGtinRecords
from authentic.aws.model_records import DynamoModelRecords
from authentic.aws.ports import TrainingLauncher
from authentic.aws.s3 import S3ObjectStore
from authentic.aws.sagemaker import SageMakerTrainingJobs
from authentic.errors import InvalidInput
from authentic.models.gtins import GtinRegistry, check_body_size
from authentic.models.policy import Policy
from authentic.models.versions import ModelVersions
from authentic.training.jobs import Training


@dataclass(frozen=True)
class Services:
    training: Training
    versions: ModelVersions
    policy: Policy
    gtins: GtinRegistry

    @classmethod
    def from_settings(cls, config: settings.Settings, *, jobs: TrainingLauncher | None = None) -> Services:
        """The deployment's services; `jobs` replaces SageMaker's training jobs (a test's fake)."""
        datasets = DynamoDatasetRecords(config.table_name)
        models = DynamoModelRecords(config.table_name)
        store = S3ObjectStore()
        policy = Policy(models, datasets)
        return cls(
            Training(datasets, models, store, jobs or SageMakerTrainingJobs(), config),
            ModelVersions(models, store, config),
            policy,
            GtinRegistry(DynamoGtinRecords(config.table_name), policy),
        )


def create_handler(services: Services | None = None) -> Handler:
    """The function's handler over `services`, or over the deployment's own, built on the first invocation from the
    environment (so a new handler, as after a cold start, reads its settings again)."""
    api = Api("training")
    current = provide(services, lambda: Services.from_settings(settings.Settings.from_env()))

    @api.route("POST", "/brands/{brandId}/training-jobs")
    def start_training(brandId: str) -> Response[Any]:
        logger.append_keys(brand_id=brandId)
        body = api.json_body()
        overrides = body.get("hyperparameters", {})
        if not isinstance(overrides, dict) or not all(isinstance(v, str | int | float) for v in overrides.values()):
            raise InvalidInput("'hyperparameters' must be an object of strings or numbers")
        status, job = current().training.start(brandId, {str(k): str(v) for k, v in overrides.items()})
        if status == 201:
            metrics.add_metric(name="TrainingJobsStarted", unit=MetricUnit.Count, value=1)
        return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=job)

    @api.route("GET", "/brands/{brandId}/training-jobs/{jobId}")
    def get_training_job(brandId: str, jobId: str) -> dict[str, Any]:
        return current().training.describe(brandId, jobId)

    @api.route("GET", "/brands/{brandId}/models")
    def list_models(brandId: str) -> dict[str, Any]:
        return current().versions.overview(brandId)

    @api.route("POST", "/brands/{brandId}/models/{version}/promote")
    def promote(brandId: str, version: str) -> dict[str, Any]:
        number = version.removeprefix("v")
        if not number.isdigit():
            raise InvalidInput(f"version {version!r} is not a version number")
        body = api.json_body()
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise InvalidInput("'force' must be true or false")
        return current().versions.promote(brandId, int(number), force=force, reason=str(body.get("reason", "")))

    @api.route("GET", "/brands/{brandId}/policy")
    def get_policy(brandId: str) -> dict[str, Any]:
        return current().policy.get_policy(brandId)

    @api.route("PUT", "/brands/{brandId}/policy")
    def put_policy(brandId: str) -> dict[str, Any]:
        return current().policy.put_policy(brandId, api.json_body())

    _gtin_routes(api, lambda: current().gtins)
    return api.handler()


def _gtin_routes(api: Api, registry: Callable[[], GtinRegistry]) -> None:
    """GET and PUT /brands/{brandId}/gtins: the brand's registered GTINs."""

    @api.route("GET", "/brands/{brandId}/gtins")
    def get_gtins(brandId: str) -> dict[str, Any]:
        return registry().get(brandId)

    @api.route("PUT", "/brands/{brandId}/gtins")
    def put_gtins(brandId: str) -> dict[str, Any]:
        logger.append_keys(brand_id=brandId)
        check_body_size(len(api.resolver.current_event.body or ""))  # before parsing it
        answer = registry().put(brandId, api.json_body())
        metrics.add_metric(name="GtinsRegistered", unit=MetricUnit.Count, value=answer["count"])
        return answer


handler = create_handler()
