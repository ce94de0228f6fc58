"""POST /verify?brand={brandId}: the public shopper route. The photo is the binary body; it is never stored."""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from authentic import settings
from authentic.adapters.model_records import ModelRecords
from authentic.adapters.s3 import ObjectStore
from authentic.adapters.sagemaker import Endpoint
from authentic.api import Api
from authentic.errors import InvalidInput
from authentic.observability import logger, metrics
from authentic.registry import Registry
from authentic.verify import Verify

api = Api("verify")
_SAFETY_MS = 3000


@cache
def _verify() -> Verify:
    config = settings.current()
    return Verify(Registry(ModelRecords(config.table_name), ObjectStore(), config), Endpoint(), config)


@api.route("POST", "/verify")
def verify() -> dict[str, Any]:
    brand = api.query("brand")
    if not brand:
        raise InvalidInput("say which brand: POST /verify?brand={brandId}")
    logger.append_keys(brand_id=brand)
    event = api.resolver.current_event
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("latin-1", errors="replace")
    content_type = event.get_header_value("content-type", case_sensitive=False)
    context = api.resolver.lambda_context
    remaining_ms = context.get_remaining_time_in_millis() if context else 20000
    answer = _verify()(brand, body, content_type, deadline_seconds=max(1.0, (remaining_ms - _SAFETY_MS) / 1000))
    metrics.add_metric(name=f"Verdict{answer['verdict'].capitalize()}", unit=MetricUnit.Count, value=1)
    return answer


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.resolve(event, context)


def reset() -> None:
    _verify.cache_clear()
