"""The training image and the role SageMaker training jobs run with.

Image: a `DockerImageAsset` built from `containers/training/Dockerfile` with the repository root as context (the
image installs `src/`), for linux/amd64; the CDK CLI builds and pushes it on deploy, never at synth. Only the
files the Dockerfile copies are in the build context (and in the asset hash), so editing a test or a doc does
not rebuild the image. `pretrained_weights_url`, when set, becomes the build argument that bakes
pretrained weights into the image; without it jobs train from the model YAML.

Role (assumed by SageMaker, passed by the training function):
- read only what a job's ManifestFile channel names in the dataset bucket: the manifests (`*/manifests/*`) and
  the immutable objects (`*/objects/*`); no listing, which a ManifestFile channel does not need;
- write only this deployment's jobs' output and checkpoints in the artifacts bucket
  (`{brand}/{prefix}-*/output/*`, `{brand}/checkpoints/{prefix}-*/*`), and read back only checkpoints so a
  spot-interrupted job can resume. Not each job's own keys alone: every job runs with this one role, and IAM has
  no variable for the job that is writing, so one brand's job could write under another job's output prefix of
  this deployment (the training container is ours, and runs with network isolation);
- pull its own image repository (`ecr:GetAuthorizationToken` has no resource scoping in IAM);
- write its logs to `/aws/sagemaker/TrainingJobs` and put metrics only in that CloudWatch namespace.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from authentic import keys
from authentic import settings as defaults
from stacks.constructs.nag import allow

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "containers/training/Dockerfile"
WEIGHTS_BUILD_ARG = "PRETRAINED_WEIGHTS_URL"
# What a ManifestFile channel reads (authentic.keys): {brand}/manifests/* and {brand}/objects/*.
CHANNEL_KEYS = tuple(keys.dataset_prefix("*") + f"{folder}/*" for folder in (keys.MANIFESTS, keys.OBJECTS))
CHECKPOINTS_PATTERN = "*/checkpoints/*"  # the orchestration's CheckpointConfig: {brand}/checkpoints/{job}/
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
# The build context: everything the Dockerfile copies, nothing else (Docker ignore-file syntax).
BUILD_CONTEXT = (
    "*",
    "!pyproject.toml",
    "!requirements.lock",
    "!constraints.txt",
    "!src",
    "!containers/training",
    "**/__pycache__",
    "**/*.pyc",
    "**/*.egg-info",
)


def output_keys(job_prefix: str) -> tuple[str, ...]:
    """What this deployment's jobs write in the artifacts bucket: SageMaker's output (`{S3OutputPath}{job}/output/`,
    the output path being `s3://artifacts/{brand}/`) and the checkpoints (the request's CheckpointConfig,
    `{brand}/checkpoints/{job}/`). Job names are `{prefix}-{brand}-{manifest}`."""
    job = f"{job_prefix}-*"
    return (f"*/{job}/output/*", f"*/checkpoints/{job}/*")


class TrainingImage(Construct):
    """The training image asset and the SageMaker execution role; exposes `image_uri` and `role`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dataset_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        pretrained_weights_url: str = "",
        job_prefix: str = defaults.JOB_PREFIX,
    ) -> None:
        super().__init__(scope, construct_id)
        if pretrained_weights_url and not pretrained_weights_url.startswith("https://"):
            raise ValueError(f"pretrained_weights_url must be an https:// URL, got {pretrained_weights_url!r}")
        build_args = {WEIGHTS_BUILD_ARG: pretrained_weights_url} if pretrained_weights_url else None
        self.asset = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(REPO_ROOT),
            file=DOCKERFILE,
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=list(BUILD_CONTEXT),
            ignore_mode=cdk.IgnoreMode.DOCKER,
            build_args=build_args,
        )
        self.image_uri: str = self.asset.image_uri
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker training jobs: read frozen datasets, write model artifacts",
        )
        self.job_prefix = job_prefix
        self._grant_data(dataset_bucket, artifacts_bucket)
        self._grant_image()
        self._grant_telemetry()

    def _grant_data(self, dataset: s3.IBucket, artifacts: s3.IBucket) -> None:
        allow(
            self.role,
            actions=["s3:GetObject"],
            resources=[dataset.arn_for_objects(pattern) for pattern in CHANNEL_KEYS],
            wildcard_reason="Training reads only its channel: the ManifestFile and manifest ({brand}/manifests/*) "
            "and the immutable objects they name ({brand}/objects/*), whose keys are content hashes.",
        )
        # One role for every job of the deployment: IAM cannot tell which job writes, so this is the deployment's
        # jobs' output and checkpoints, not one job's (see the module's docstring).
        allow(
            self.role,
            actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[artifacts.arn_for_objects(pattern) for pattern in output_keys(self.job_prefix)],
            wildcard_reason="Training jobs write their output ({brand}/{job}/output/) and checkpoints "
            "({brand}/checkpoints/{job}/) under job names made per brand and manifest at request time; the "
            "statement is limited to this deployment's job-name prefix.",
        )
        allow(
            self.role,
            actions=["s3:GetObject"],
            resources=[artifacts.arn_for_objects(CHECKPOINTS_PATTERN)],
            wildcard_reason="A restarted spot job reads back only its checkpoints ({brand}/checkpoints/{job}/).",
        )
        allow(
            self.role,
            actions=["s3:ListBucket"],
            resources=[artifacts.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [CHECKPOINTS_PATTERN]}},
        )
        if dataset.encryption_key is not None:
            dataset.encryption_key.grant_decrypt(self.role)
        if artifacts.encryption_key is not None:
            artifacts.encryption_key.grant_encrypt_decrypt(self.role)

    def _grant_image(self) -> None:
        allow(
            self.role,
            actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            resources=[self.asset.repository.repository_arn],
        )
        allow(
            self.role,
            actions=["ecr:GetAuthorizationToken"],
            resources=["*"],
            wildcard_reason="ecr:GetAuthorizationToken supports no resource-level scoping; pulls are limited to "
            "the image repository by the statement above.",
        )

    def _grant_telemetry(self) -> None:
        stack = cdk.Stack.of(self)
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=LOG_GROUP,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        allow(self.role, actions=["logs:CreateLogGroup"], resources=[log_group])
        allow(
            self.role,
            actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[f"{log_group}:log-stream:*"],
            wildcard_reason="Each training job writes its own log streams, named by SageMaker, in the one "
            "TrainingJobs log group.",
        )
        allow(
            self.role,
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            wildcard_reason="cloudwatch:PutMetricData supports no resource-level scoping; it is limited to the "
            "SageMaker training namespace by condition.",
        )
