"""Upload ingest: the upload-forms function's rights, and S3 object-created → SQS (+ dead-letter queue) → ingest.

Two halves with two lifecycles. `UploadNotifications` (stateful stack) owns the queue, its dead-letter queue, the
alarm on it (which notifies the alarm topic) and the bucket notification, so a redeploy of code never drops queued
uploads. `Ingest` (service stack) grants the functions what they need and subscribes the consumer named in
`wiring.EVENTS` to the queue, with that event's maximum concurrency.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from authentic import keys, wiring
from stacks.constructs.lambdas import role_of
from stacks.constructs.nag import allow
from stacks.constructs.storage import dead_letter_queue

# AWS's guidance for SQS → Lambda: the visibility timeout at least six times the function timeout.
VISIBILITY_PER_FUNCTION_TIMEOUT = 6
MAX_RECEIVES = 5  # a poison message reaches the dead-letter queue after five failed deliveries
BATCH_SIZE = 10


def consumer_of(source: wiring.EventSource) -> wiring.Function:
    """The function wired to an event source (exactly one: one trigger per function, one consumer per source)."""
    consumers = [wiring.function(event.function) for event in wiring.EVENTS if event.source is source]
    if len(consumers) != 1:
        raise ValueError(f"{source.value} must have exactly one consumer in wiring.EVENTS, found {len(consumers)}")
    return consumers[0]


class UploadNotifications(Construct):
    """The uploads bucket's object-created notifications, queued with a dead-letter queue and an alarm on it."""

    def __init__(self, scope: Construct, construct_id: str, *, uploads: s3.IBucket, alarm_topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        consumer = consumer_of(wiring.EventSource.UPLOADS_CREATED)

        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", feeds="the upload-notification queue")
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(consumer.timeout_seconds * VISIBILITY_PER_FUNCTION_TIMEOUT),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVES),
        )
        uploads.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.SqsDestination(self.queue))

        self.alarm = cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_description="Upload notifications the ingest function could not process (see the DLQ).",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))


def _objects(bucket: s3.IBucket, *patterns: str) -> list[str]:
    return [bucket.arn_for_objects(pattern) for pattern in patterns]


# Object-key patterns, from authentic.layout's key scheme.
UPLOAD_KEYS = (
    keys.upload_image_key("*", "*"),  # {brand}/{pair}/image
    keys.upload_annotation_key("*", "*"),  # {brand}/{pair}/annotation.json
)
DATASET_OBJECT_KEYS = (keys.dataset_prefix("*") + f"{keys.OBJECTS}/*",)  # {brand}/objects/*


class Ingest(Construct):
    """What the upload-forms function and the ingest function may do, and the ingest trigger."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        uploads_function: lambda_.Function,
        uploads: s3.IBucket,
        dataset: s3.IBucket,
        table: dynamodb.ITable,
        queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self._uploads = uploads
        self._dataset = dataset
        self._table = table
        self._queue = queue

        # Presigned POST forms carry the signer's rights: the signer may put exactly the upload keys.
        role = role_of(uploads_function)
        allow(
            role,
            actions=["s3:PutObject"],
            resources=_objects(uploads, *UPLOAD_KEYS),
            wildcard_reason="Upload forms are signed per brand and pair at request time; the policy allows only "
            "the {brand}/{pair}/image and {brand}/{pair}/annotation.json keys of the uploads bucket.",
        )
        table.grant_read_data(uploads_function)  # the ingest summary of GET /brands/{brandId}/uploads

    def subscribe(self, function: lambda_.Function) -> None:
        """Wire the consumer of UPLOADS_CREATED: the queue as its event source, and its data rights."""
        function.add_event_source(
            sources.SqsEventSource(
                self._queue,
                batch_size=BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=wiring.event(wiring.EventSource.UPLOADS_CREATED).max_concurrency,
            )
        )
        role = role_of(function)
        allow(
            role,
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=_objects(self._uploads, *UPLOAD_KEYS),
            wildcard_reason="Ingest reads the upload that was just created; keys are per brand and pair, so the "
            "statement is limited to the two upload key shapes of the uploads bucket.",
        )
        allow(
            role,
            actions=["s3:PutObject"],
            resources=_objects(self._dataset, *DATASET_OBJECT_KEYS),
            wildcard_reason="Ingest creates each brand's immutable objects ({brand}/objects/{sha256}.*, "
            "conditional writes that never overwrite); it deletes nothing.",
        )
        # Without ListBucket a missing key answers 403 instead of 404, and ingest tells them apart.
        allow(role, actions=["s3:ListBucket"], resources=[self._uploads.bucket_arn])
        self._table.grant_read_write_data(function)
