"""The stateful stack: everything that holds data (buckets, table), the upload queue that must outlive code, and
the alarm topic (its email subscription is the operator's, not the code's).

Deployed first and rarely changed; the service stack takes these resources as constructor arguments. Data
resources are retained when the stack is deleted, and the table has deletion protection.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import AppConfig
from stacks.constructs.alarms import AlarmTopic
from stacks.constructs.ingest import UploadNotifications
from stacks.constructs.nag import acknowledge
from stacks.constructs.storage import Storage

NOTIFICATIONS_HANDLER_PREFIX = "BucketNotificationsHandler"


class StatefulStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage = Storage(self, "Storage", access_log_retention_days=config.access_log_retention_days)
        alarms = AlarmTopic(self, "Alarms", email=config.alarm_email)
        notifications = UploadNotifications(
            self, "UploadNotifications", uploads=storage.uploads, alarm_topic=alarms.topic
        )

        self.uploads_bucket: s3.IBucket = storage.uploads
        self.dataset_bucket: s3.IBucket = storage.dataset
        self.artifacts_bucket: s3.IBucket = storage.artifacts
        self.live_models_bucket: s3.IBucket = storage.live_models
        self.access_logs_bucket: s3.IBucket = storage.access_logs
        self.table: dynamodb.ITable = storage.table
        self.upload_queue: sqs.IQueue = notifications.queue
        self.upload_dead_letter_queue: sqs.IQueue = notifications.dead_letter_queue
        self.alarm_topic: sns.ITopic = alarms.topic
        self._acknowledge_notifications_handler()

        cdk.CfnOutput(self, "UploadsBucketName", value=storage.uploads.bucket_name)
        cdk.CfnOutput(self, "DatasetBucketName", value=storage.dataset.bucket_name)
        cdk.CfnOutput(self, "LiveModelsBucketName", value=storage.live_models.bucket_name)
        cdk.CfnOutput(self, "TableName", value=storage.table.table_name)
        cdk.CfnOutput(self, "AlarmTopicArn", value=alarms.topic.topic_arn, description="Where the alarms go")

    def _acknowledge_notifications_handler(self) -> None:
        """CDK's own singleton function that applies bucket notifications (a CloudFormation custom resource)."""
        handlers = [c for c in self.node.children if c.node.id.startswith(NOTIFICATIONS_HANDLER_PREFIX)]
        for handler in handlers:
            acknowledge(
                handler,
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "CDK's BucketNotificationsHandler (the custom resource that configures S3 -> SQS notifications) "
                "is built by aws-cdk-lib with the AWS-managed basic execution role; it runs only at deploy time.",
            )
            acknowledge(
                handler,
                "IAM5[Resource::*]",
                "CDK's BucketNotificationsHandler calls s3:PutBucketNotification, which it is granted on '*' by "
                "aws-cdk-lib; it runs only during deployments of this stack.",
            )
