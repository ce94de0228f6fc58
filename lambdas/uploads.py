"""POST /brands/{brandId}/uploads: presigned upload forms. GET: the brand's ingest results."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from authentic import settings
from authentic.adapters.dataset_records import DatasetRecords
from authentic.adapters.s3 import ObjectStore
from authentic.api import Api
from authentic.ingest import Ingest
from authentic.observability import logger
from authentic.uploads import UploadForms

api = Api("uploads")


@cache
def _forms() -> UploadForms:
    return UploadForms(ObjectStore(), settings.current())


@cache
def _ingest() -> Ingest:
    config = settings.current()
    return Ingest(ObjectStore(), DatasetRecords(config.table_name), config)


@api.route("POST", "/brands/{brandId}/uploads")
def create_upload_forms(brandId: str) -> dict[str, Any]:
    logger.append_keys(brand_id=brandId)
    return _forms().create(brandId, api.json_body())


@api.route("GET", "/brands/{brandId}/uploads")
def ingest_summary(brandId: str) -> dict[str, Any]:
    logger.append_keys(brand_id=brandId)
    return _ingest().summary(brandId)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.resolve(event, context)


def reset() -> None:
    """Forget cached services (tests switch settings between cases)."""
    _forms.cache_clear()
    _ingest.cache_clear()
