"""The data: four buckets (uploads, dataset, artifacts, live models), their access-log bucket, and the table.

Every bucket: S3-managed encryption (SSE-S3; SageMaker and the endpoint read these buckets, and no
customer-managed key is needed to meet the data's sensitivity), TLS-only bucket policy, public access blocked,
bucket-owner-enforced object ownership, server access logs into one dedicated bucket, and RETAIN on delete.
The uploads and dataset buckets are versioned: raw uploads are never lost, and dataset manifests pin exact
object versions. The live-models bucket is versioned too, so no promoted model key can ever be lost to an
overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constructs.nag import acknowledge

TTL_ATTRIBUTE = "expires_at"
DEAD_LETTER_RETENTION = cdk.Duration.days(14)  # SQS's longest: time to look at what failed, and redrive it


def dead_letter_queue(scope: Construct, construct_id: str, *, feeds: str) -> sqs.Queue:
    """An encrypted, TLS-only queue that keeps what failed for 14 days; `feeds` says whose dead letters it holds
    (cdk-nag's SQS3 asks every queue for a DLQ of its own, which a dead-letter queue cannot have)."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
    )
    acknowledge(
        queue, "SQS3", f"This queue is itself the dead-letter destination of {feeds}; it has no DLQ of its own."
    )
    return queue


@dataclass(frozen=True)
class BucketSpec:
    name: str  # construct id and access-log prefix
    versioned: bool
    purpose: str


BUCKETS: tuple[BucketSpec, ...] = (
    BucketSpec("Uploads", versioned=True, purpose="raw photo and annotation uploads kept as they came"),
    BucketSpec(
        "Dataset", versioned=True, purpose="normalised per-brand datasets: content-addressed objects and manifests"
    ),
    BucketSpec("Artifacts", versioned=False, purpose="SageMaker training output"),
    BucketSpec("LiveModels", versioned=True, purpose="promoted models read by the multi-model endpoint"),
)


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    object_ownership: s3.ObjectOwnership = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    **settings: Any,
) -> s3.Bucket:
    """A bucket nothing outside the account reaches: SSE-S3 (the only encryption S3 log delivery supports, and
    all our readers need), TLS only, public access blocked, ACLs off unless a log delivery needs them;
    `settings` give the rest (versioning, logging, lifecycle, removal)."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=object_ownership,
        **settings,
    )


class Storage(Construct):
    """Creates the buckets and the table; exposes them for the stacks to share."""

    def __init__(self, scope: Construct, construct_id: str, *, access_log_retention_days: int) -> None:
        super().__init__(scope, construct_id)

        self.access_logs = private_bucket(
            self,
            "AccessLogs",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs", expiration=cdk.Duration.days(access_log_retention_days))
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_logs,
            "S1",
            "This bucket is the server-access-log destination of every other bucket; logging its own access "
            "would log the log deliveries themselves.",
        )

        buckets = {spec.name: self._bucket(spec) for spec in BUCKETS}
        self.uploads = buckets["Uploads"]
        self.dataset = buckets["Dataset"]
        self.artifacts = buckets["Artifacts"]
        self.live_models = buckets["LiveModels"]

        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _bucket(self, spec: BucketSpec) -> s3.Bucket:
        bucket = private_bucket(
            self,
            spec.name,
            versioned=spec.versioned,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{spec.name.lower()}/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        cdk.Tags.of(bucket).add("authentic:purpose", spec.purpose)
        return bucket
