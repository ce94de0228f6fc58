"""EventBridge "SageMaker Training Job State Change" → gate and promote, or record the failure."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from authentic import settings
from authentic.adapters.model_records import ModelRecords
from authentic.adapters.s3 import ObjectStore
from authentic.adapters.sagemaker import TrainingJobs
from authentic.observability import logger, metrics
from authentic.promotion import Promotion

_METRICS = {
    "promoted": "ModelsPromoted",
    "below-gate": "ModelsBelowGate",
    "failed": "TrainingJobsFailed",
    "stopped": "TrainingJobsStopped",
}


@cache
def _promotion() -> Promotion:
    config = settings.current()
    return Promotion(ModelRecords(config.table_name), ObjectStore(), TrainingJobs(), config)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    detail = event.get("detail", {})
    logger.append_keys(job_name=detail.get("TrainingJobName"))
    outcome = _promotion().handle(event)
    if outcome in _METRICS:
        metrics.add_metric(name=_METRICS[outcome], unit=MetricUnit.Count, value=1)
    return {"outcome": outcome}


def reset() -> None:
    _promotion.cache_clear()
