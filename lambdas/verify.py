"""The verify routes: the photo is the binary body; it is never stored.

`POST /verify?brand={brandId}` (public): the shopper's answer, `public_answer`. `POST /brands/{brandId}/verify`
(IAM, the brand web server): the full answer, with near misses and thresholds. Both are the same service call.
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from authentic import settings
from authentic.api.observability import logger, metrics
from authentic.api.rest import Api, Handler, provide
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.gtin_records import DynamoGtinRecords
from authentic.aws.model_records import DynamoModelRecords
from authentic.aws.sagemaker import SageMakerEndpoint
from authentic.errors import InvalidInput
from authentic.models.policy import Policy
from authentic.verify.answer import Answer, public_answer
from authentic.verify.barcodes import BarcodeCheck, Timing, share_the_core
from authentic.verify.service import Verify

_SAFETY_MS = 3000


def production(config: settings.Settings) -> Verify:
    policy = Policy(DynamoModelRecords(config.table_name), DynamoDatasetRecords(config.table_name))
    barcodes = BarcodeCheck(DynamoGtinRecords(config.table_name), timing=Timing.from_settings(config))
    share_the_core()
    return Verify(policy, SageMakerEndpoint(), config, barcodes=barcodes)


def create_handler(verify: Verify | None = None) -> Handler:
    """The function's handler over `verify`, or over the deployment's own, built on the first invocation from the
    environment (so a new handler, as after a cold start, reads its settings again)."""
    api = Api("verify")
    current = provide(verify, lambda: production(settings.Settings.from_env()))

    def answer(brand: str) -> Answer:
        logger.append_keys(brand_id=brand)
        event = api.resolver.current_event
        raw = event.body or ""
        body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("latin-1", errors="replace")
        content_type = event.get_header_value("content-type", case_sensitive=False)
        context = api.resolver.lambda_context
        remaining_ms = context.get_remaining_time_in_millis() if context else 20000
        deadline = max(1.0, (remaining_ms - _SAFETY_MS) / 1000)
        result = current()(brand, body, content_type, deadline_seconds=deadline)
        metrics.add_metric(name=f"Verdict{result.verdict.verdict.capitalize()}", unit=MetricUnit.Count, value=1)
        return result

    @api.route("POST", "/verify")
    def verify_photo() -> dict[str, Any]:
        brand = api.query("brand")
        if not brand:
            raise InvalidInput("say which brand: POST /verify?brand={brandId}")
        return public_answer(answer(brand))

    @api.route("POST", "/brands/{brandId}/verify")
    def verify_for_brand(brandId: str) -> dict[str, Any]:
        return answer(brandId).to_json()

    return api.handler()


handler = create_handler()
