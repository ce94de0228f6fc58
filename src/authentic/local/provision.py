"""Create the resources the stateful stack declares (buckets, table, queue with its dead-letter queue)
in whatever AWS endpoint boto3 points at: moto in tests and in the local runtime."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from authentic.aws.clients import client
from authentic.settings import Settings

TABLE_KEYS = (("pk", "S"), ("sk", "S"))
TTL_ATTRIBUTE = "expires_at"
MAX_RECEIVE_COUNT = 5


@dataclass(frozen=True)
class Provisioned:
    queue_url: str
    dlq_url: str


def provision(settings: Settings, *, queue_name: str = "authentic-uploads") -> Provisioned:
    """Create buckets (versioned where the stack versions them), the table and the upload queue + DLQ."""
    s3 = client("s3")
    versioned = {settings.uploads_bucket, settings.dataset_bucket, settings.live_bucket}
    for bucket in (settings.uploads_bucket, settings.dataset_bucket, settings.artifacts_bucket, settings.live_bucket):
        if not bucket:
            continue
        _create_bucket(s3, bucket)
        if bucket in versioned:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    _create_table(settings.table_name)
    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{queue_name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": "720",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
        },
    )["QueueUrl"]
    return Provisioned(queue_url=queue_url, dlq_url=dlq_url)


def _create_bucket(s3: Any, bucket: str) -> None:
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)


def _create_table(name: str) -> None:
    ddb = client("dynamodb")
    try:
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in TABLE_KEYS],
            BillingMode="PAY_PER_REQUEST",
        )
    except ddb.exceptions.ResourceInUseException:
        return
    ddb.get_waiter("table_exists").wait(TableName=name)
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
