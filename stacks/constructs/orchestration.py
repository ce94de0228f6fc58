"""Training orchestration and model promotion.

The training function (brand routes: start a job, poll it, list models, promote, the verdict policy) may: write
only the dataset's manifests (a freeze reads the table, not the bucket); create, describe and tag SageMaker
training jobs named with this deployment's prefix, on the configured instance type only and with network isolation
only; pass the training role, and only to SageMaker; copy a model artifact into the live-models bucket under a new
key (manual promotion).

The promotion function is triggered by an EventBridge rule on "SageMaker Training Job State Change" for this
deployment's job-name prefix and the terminal states; it reads the artifact and copies it into the live-models
bucket. Events it cannot process (delivery or function failures) land in a dead-letter queue with an alarm, which
notifies the alarm topic.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from authentic import keys, wiring
from authentic.contracts import MODEL_ARTIFACT, OUTPUT_ARTIFACT
from stacks.constructs.lambdas import role_of
from stacks.constructs.nag import allow
from stacks.constructs.storage import dead_letter_queue

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"

MANIFEST_KEYS = keys.dataset_prefix("*") + f"{keys.MANIFESTS}/*"  # {brand}/manifests/*
# SageMaker writes {brand}/{job}/output/model.tar.gz, and output.tar.gz beside it when the job wrote output data.
ARTIFACT_KEYS = (f"*/output/{MODEL_ARTIFACT}", f"*/output/{OUTPUT_ARTIFACT}")
LIVE_KEYS = "*/v*.tar.gz"  # keys.live_model_key: {brand}/v{version:05d}.tar.gz, never reused


def job_name_prefix(prefix: str) -> str:
    """Training job names are `{prefix}-...`; the hyphen keeps `authentic` from matching `authentic2-...`."""
    return f"{prefix}-"


class Orchestration(Construct):
    """Grants for the training function; the state-change rule and grants for the promotion function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        training_function: lambda_.Function,
        training_role: iam.IRole,
        dataset: s3.IBucket,
        artifacts: s3.IBucket,
        live_models: s3.IBucket,
        table: dynamodb.ITable,
        job_prefix: str,
        training_instance_type: str,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._alarm_topic = alarm_topic
        self._artifacts = artifacts
        self._live_models = live_models
        self._table = table
        self.job_prefix = job_prefix
        stack = cdk.Stack.of(self)
        self.training_job_arn = stack.format_arn(
            service="sagemaker", resource="training-job", resource_name=f"{job_name_prefix(job_prefix)}*"
        )

        role = role_of(training_function)
        table.grant_read_write_data(training_function)
        allow(
            role,
            actions=["s3:PutObject"],
            resources=[dataset.arn_for_objects(MANIFEST_KEYS)],
            wildcard_reason="A freeze writes only a manifest and its SageMaker ManifestFile ({brand}/manifests/*); "
            "it reads no object and cannot touch the images or annotations.",
        )
        allow(
            role,
            actions=["sagemaker:CreateTrainingJob"],
            resources=[self.training_job_arn],
            conditions={
                "ForAllValues:StringEquals": {"sagemaker:InstanceTypes": [training_instance_type]},
                "Bool": {"sagemaker:NetworkIsolation": "true"},  # the container may reach nothing
            },
            wildcard_reason="Training job names are made per brand and manifest at request time; the statement "
            "is limited to this deployment's job-name prefix, the configured instance type and jobs with network "
            "isolation.",
        )
        allow(
            role,
            actions=["sagemaker:DescribeTrainingJob", "sagemaker:AddTags"],
            resources=[self.training_job_arn],
            wildcard_reason="Polling and tagging (at creation) this deployment's training jobs, by job-name prefix.",
        )
        allow(
            role,
            actions=["iam:PassRole"],
            resources=[training_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE}},
        )
        self._grant_promote(training_function)  # manual promotion / rollback copies the artifact if needed

    def _grant_promote(self, function: lambda_.Function) -> None:
        """Read model artifacts and copy them into the live-models bucket under new keys."""
        role = role_of(function)
        self._table.grant_read_write_data(function)
        allow(
            role,
            actions=["s3:GetObject", "s3:GetObjectTagging"],
            resources=[self._artifacts.arn_for_objects(key) for key in ARTIFACT_KEYS],
            wildcard_reason="Reading the model.tar.gz (and the small output.tar.gz with its metrics) of any finished "
            "training job ({brand}/{job}/output/); job names are only known when the job ends.",
        )
        # Without ListBucket S3 answers a missing key 403, not 404: the metrics are read from output.tar.gz when the
        # job wrote one, and a job that did not must be told apart from a refusal.
        allow(role, actions=["s3:ListBucket"], resources=[self._artifacts.bucket_arn])
        allow(
            role,
            actions=["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"],
            resources=[self._live_models.arn_for_objects(LIVE_KEYS)],
            wildcard_reason="Promotion copies an artifact to a new versioned key ({brand}/v{version}.tar.gz) and "
            "checks whether it is there; it cannot delete, and the bucket is versioned.",
        )
        # Without ListBucket a missing live key answers 403 instead of 404, and the promote route tells them apart.
        allow(role, actions=["s3:ListBucket"], resources=[self._live_models.bucket_arn])

    def subscribe(self, function: lambda_.Function) -> events.Rule:
        """Wire the consumer of TRAINING_STATE: the EventBridge rule, its dead-letter queue, and its rights."""
        dead_letters = dead_letter_queue(
            self,
            "PromotionDeadLetterQueue",
            feeds="the promotion rule target and of the promotion function's asynchronous invocations",
        )
        function.configure_async_invoke(
            on_failure=destinations.SqsDestination(dead_letters),
            retry_attempts=2,
            max_event_age=cdk.Duration.hours(6),
        )
        # The pattern is shared with the local runtime, which delivers the same events to the same handler.
        pattern = wiring.training_state_pattern(self.job_prefix)
        rule = events.Rule(
            self,
            "TrainingStateChange",
            description=f"SageMaker training jobs named {job_name_prefix(self.job_prefix)}* reaching a final state",
            event_pattern=events.EventPattern(
                source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"]
            ),
        )
        rule.add_target(
            targets.LambdaFunction(
                function,
                dead_letter_queue=dead_letters,
                retry_attempts=8,
                max_event_age=cdk.Duration.hours(24),
            )
        )
        alarm = cloudwatch.Alarm(
            self,
            "PromotionDeadLettersAlarm",
            alarm_description="Training state changes the promotion function could not process (see the DLQ).",
            metric=dead_letters.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self._alarm_topic))

        self._grant_promote(function)
        allow(
            role_of(function),
            actions=["sagemaker:DescribeTrainingJob"],
            resources=[self.training_job_arn],
            wildcard_reason="Promotion describes the finished job named in the event, within this deployment's "
            "job-name prefix.",
        )
        self.rule = rule
        return rule
