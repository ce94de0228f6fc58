"""POST /brands/{brandId}/uploads: presigned upload forms. GET: the brand's ingest results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authentic import settings
from authentic.api.observability import logger
from authentic.api.rest import Api, Handler, provide
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.s3 import S3ObjectStore
from authentic.ingest.forms import UploadForms
from authentic.ingest.report import IngestReport


@dataclass(frozen=True)
class Services:
    forms: UploadForms
    report: IngestReport

    @classmethod
    def from_settings(cls, config: settings.Settings) -> Services:
        return cls(UploadForms(S3ObjectStore(), config), IngestReport(DynamoDatasetRecords(config.table_name), config))


def create_handler(services: Services | None = None) -> Handler:
    """The function's handler over `services`, or over the deployment's own, built on the first invocation from the
    environment (so a new handler, as after a cold start, reads its settings again)."""
    api = Api("uploads")
    current = provide(services, lambda: Services.from_settings(settings.Settings.from_env()))

    @api.route("POST", "/brands/{brandId}/uploads")
    def create_upload_forms(brandId: str) -> dict[str, Any]:
        logger.append_keys(brand_id=brandId)
        return current().forms.create(brandId, api.json_body())

    @api.route("GET", "/brands/{brandId}/uploads")
    def ingest_summary(brandId: str) -> dict[str, Any]:
        """The brand's ingest results; with `?pairs=id,id,...` (at most 100), the outcome of each of those pairs."""
        logger.append_keys(brand_id=brandId)
        named = api.query("pairs")
        if named is not None:
            return current().report.outcomes(brandId, [p for p in named.split(",") if p])
        return current().report.summary(brandId)

    return api.handler()


handler = create_handler()
