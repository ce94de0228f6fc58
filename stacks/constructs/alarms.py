"""Where the alarms go: one SNS topic that both dead-letter alarms (failed ingests, failed promotions) notify, with
an email subscription when `cdk.json` names an address.

The topic is encrypted with a customer-managed KMS key (rotated yearly): CloudWatch must be allowed to use the key
to publish, and the AWS-managed SNS key's policy cannot allow it. Its policy refuses every request without TLS and
lets CloudWatch publish only for this account's alarms. It lives in the stateful stack with the upload queue's
alarm; the service stack's promotion alarm imports it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

CLOUDWATCH = "cloudwatch.amazonaws.com"


class AlarmTopic(Construct):
    """The encrypted, TLS-only alarm topic and its optional email subscription; exposes `topic` and `key`."""

    def __init__(self, scope: Construct, construct_id: str, *, email: str = "") -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the alarm topic of the counterfeit-detection platform",
            enable_key_rotation=True,
        )
        # What CloudWatch needs to publish to an encrypted topic (AWS's documented key policy statement).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="authentic alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccountPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": stack.format_arn(service="cloudwatch", resource="alarm:*")},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
