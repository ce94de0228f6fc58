"""EventBridge "SageMaker Training Job State Change" → gate and promote, or record the failure."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from authentic import settings
from authentic.api.observability import logger, metrics
from authentic.api.rest import Handler, provide
from authentic.aws.model_records import DynamoModelRecords
from authentic.aws.ports import TrainingLauncher
from authentic.aws.s3 import S3ObjectStore
from authentic.aws.sagemaker import SageMakerTrainingJobs
from authentic.models.promotion import Promotion

_METRICS = {
    "promoted": "ModelsPromoted",
    "below-gate": "ModelsBelowGate",
    "failed": "TrainingJobsFailed",
    "stopped": "TrainingJobsStopped",
}


def production(config: settings.Settings, *, jobs: TrainingLauncher | None = None) -> Promotion:
    """The deployment's promotion; `jobs` replaces SageMaker's training jobs (a test's fake)."""
    return Promotion(DynamoModelRecords(config.table_name), S3ObjectStore(), jobs or SageMakerTrainingJobs(), config)


def create_handler(promotion: Promotion | None = None) -> Handler:
    """The function's handler over `promotion`, or over the deployment's own, built on the first invocation from the
    environment (so a new handler, as after a cold start, reads its settings again)."""
    current = provide(promotion, lambda: production(settings.Settings.from_env()))

    @metrics.log_metrics
    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        detail = event.get("detail", {})
        logger.append_keys(job_name=detail.get("TrainingJobName"))
        outcome = current().handle(event)
        if outcome in _METRICS:
            metrics.add_metric(name=_METRICS[outcome], unit=MetricUnit.Count, value=1)
        return {"outcome": outcome}

    return handler


handler = create_handler()
