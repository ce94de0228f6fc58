"""SQS (S3 object-created notifications on the uploads bucket) → ingest, reporting partial batch failures."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from authentic import settings
from authentic.api.observability import logger, metrics
from authentic.api.rest import Handler, provide
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.s3 import S3ObjectStore
from authentic.ingest.service import Ingest, ObjectCreated

_METRICS = {"accepted": "PairsAccepted", "rejected": "PairsRejected", "unscoped": "ObjectsOutsideBrandPrefix"}


def production(config: settings.Settings) -> Ingest:
    return Ingest(S3ObjectStore(), DynamoDatasetRecords(config.table_name), config)


def notifications(body: str) -> list[ObjectCreated]:
    """The object-created records of one S3 notification message (S3's test event has none)."""
    message = json.loads(body)
    created = []
    for record in message.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        obj = record["s3"]["object"]
        created.append(
            ObjectCreated(
                bucket=record["s3"]["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                size=int(obj.get("size", 0)),
                version_id=obj.get("versionId"),
                sequencer=str(obj.get("sequencer", "0")),
            )
        )
    return created


def create_handler(ingest: Ingest | None = None) -> Handler:
    """The function's handler over `ingest`, or over the deployment's own, built on the first invocation from the
    environment (so a new handler, as after a cold start, reads its settings again)."""
    current = provide(ingest, lambda: production(settings.Settings.from_env()))
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> None:
        for event in notifications(record.body):
            logger.append_keys(key=event.key)
            outcome = current().object_created(event)
            if outcome in _METRICS:
                metrics.add_metric(name=_METRICS[outcome], unit=MetricUnit.Count, value=1)

    @metrics.log_metrics
    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)

    return handler


handler = create_handler()
