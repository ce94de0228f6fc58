"""Multi-model hosting: one SageMaker endpoint that serves every brand's live model.

- The inference container image is a `DockerImageAsset` built from `containers/inference/Dockerfile` with the
  repository root as context (only `src/authentic` and `containers/inference` are sent; the CDK CLI builds
  and pushes it on deploy; synth needs no Docker engine).
- The SageMaker model runs it in `MultiModel` mode with `ModelDataUrl` = the live-models bucket (the prefix of
  every promoted key, `{brand}/v{version}.tar.gz`): `invoke_endpoint(TargetModel=key)` makes SageMaker fetch
  and load that key on first use and keep it while memory allows. Network isolation: the container reaches
  nothing; SageMaker puts the model files beside it.
- The endpoint configuration takes its instance type and count from `cdk.json` (through `HostingConfig`);
  target tracking on `SageMakerVariantInvocationsPerInstance` scales the variant between min and max.
- The execution role reads the live-models bucket only (objects and listing), pulls the image, writes the
  endpoint's logs and its metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.config import HostingOptions
from stacks.constructs.nag import allow

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = "containers/inference/Dockerfile"
VARIANT = "AllTraffic"
SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
SAGEMAKER_ENDPOINT_METRICS = "/aws/sagemaker/Endpoints"
# The parts of the domain package the inference image carries (the import rules keep `authentic.inference` to
# them), so editing the Lambdas, the CLI or the training program does not rebuild the image.
INFERENCE_SOURCES = (
    "src/authentic/__init__.py",
    "src/authentic/errors.py",
    "src/authentic/contracts.py",
    "src/authentic/annotations",
    "src/authentic/inference",
    "src/authentic/media",
)
# The build context is the repository root; only what the Dockerfile copies goes into it.
CONTEXT_EXCLUDE = [
    "*",
    "!src",
    "src/*",
    "src/authentic/*",
    *(f"!{path}" for path in INFERENCE_SOURCES),
    "src/authentic/annotations/importers",
    "!containers",
    "containers/*",
    "!containers/inference",
    "**/__pycache__",
    "**/*.pyc",
    "**/*.egg-info",
]


@dataclass(frozen=True)
class HostingConfig:
    """The endpoint's capacity. `cdk.json` sets instance type and counts; the rest are tuned defaults."""

    instance_type: str = HostingOptions.instance_type
    initial_instance_count: int = HostingOptions.instance_count
    min_instances: int = HostingOptions.min_instances
    max_instances: int = HostingOptions.max_instances
    # Invocations per instance per minute to hold: a 4-vCPU instance serves about 20 photos/s (12 MP, decode
    # bound); 600/min keeps it near half of that, leaving headroom for model loads and bursts.
    target_invocations_per_instance: int = 600
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 600
    # Budget for resident models in the container (MiB); None lets the server take 75% of instance memory.
    memory_budget_mb: int | None = None
    log_level: str = "INFO"
    environment: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.instance_type.startswith("ml."):
            raise ValueError(f"instance_type {self.instance_type!r} is not a SageMaker instance type (ml.*)")
        if not 1 <= self.min_instances <= self.initial_instance_count <= self.max_instances:
            raise ValueError(
                "need 1 <= min_instances <= initial_instance_count <= max_instances, got "
                f"{self.min_instances}, {self.initial_instance_count}, {self.max_instances}"
            )
        if self.target_invocations_per_instance < 1:
            raise ValueError("target_invocations_per_instance must be positive")


class MultiModelHosting(Construct):
    """The image, model, endpoint configuration, endpoint, autoscaling and execution role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        live_models_bucket: s3.IBucket,
        config: HostingConfig | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        config = config or HostingConfig()
        stack = cdk.Stack.of(self)

        self.image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(REPO),
            file=DOCKERFILE,
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=CONTEXT_EXCLUDE,
            ignore_mode=cdk.IgnoreMode.DOCKER,
        )
        self.model_data_url = f"s3://{live_models_bucket.bucket_name}/"

        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal(SAGEMAKER_SERVICE),
            description="Multi-model endpoint: reads the live-models bucket, pulls its image, writes its logs",
        )
        allow(
            self.role,
            actions=["s3:GetObject"],
            resources=[live_models_bucket.arn_for_objects("*")],
            wildcard_reason="The endpoint loads whichever brand's live model a request names (TargetModel is a "
            "key in the live-models bucket); the read is limited to that one bucket, which holds only models.",
        )
        allow(self.role, actions=["s3:ListBucket"], resources=[live_models_bucket.bucket_arn])
        if live_models_bucket.encryption_key is not None:
            live_models_bucket.encryption_key.grant_decrypt(self.role)
        allow(
            self.role,
            actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resources=[self.image.repository.repository_arn],
        )
        allow(
            self.role,
            actions=["ecr:GetAuthorizationToken"],
            resources=["*"],
            wildcard_reason="ecr:GetAuthorizationToken has no resource-level permissions: it only returns a "
            "registry login token; the image pull itself is limited to the asset repository.",
        )
        allow(
            self.role,
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            resources=[
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"{SAGEMAKER_ENDPOINT_METRICS}/*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            wildcard_reason="SageMaker writes the container's logs to /aws/sagemaker/Endpoints/{endpoint name}; the "
            "name is generated by CloudFormation after this role must already work, so the group is a pattern.",
        )
        allow(
            self.role,
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": SAGEMAKER_ENDPOINT_METRICS}},
            wildcard_reason="cloudwatch:PutMetricData has no resource-level permissions; the condition limits it "
            "to SageMaker's endpoint metric namespace.",
        )

        environment = {
            "LOG_LEVEL": config.log_level,
            **({"AUTHENTIC_MEMORY_BUDGET_MB": str(config.memory_budget_mb)} if config.memory_budget_mb else {}),
            **config.environment,
        }
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.image.image_uri,
                mode="MultiModel",
                model_data_url=self.model_data_url,
                environment=environment,
            ),
            enable_network_isolation=True,
        )
        self.model.node.add_dependency(self.role)  # the role's policy must exist before SageMaker pulls the image

        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT,
                    model_name=self.model.attr_model_name,
                    instance_type=config.instance_type,
                    initial_instance_count=config.initial_instance_count,
                    initial_variant_weight=1.0,
                )
            ],
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self, "Endpoint", endpoint_config_name=self.endpoint_config.attr_endpoint_config_name
        )
        self.endpoint_name: str = self.endpoint.attr_endpoint_name
        self.endpoint_arn: str = self.endpoint.ref  # Ref of AWS::SageMaker::Endpoint is its ARN

        self.scaling = autoscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{VARIANT}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=config.min_instances,
            max_capacity=config.max_instances,
        )
        self.scaling.node.add_dependency(self.endpoint)
        self.scaling.scale_to_track_metric(
            "InvocationsPerInstance",
            predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            target_value=config.target_invocations_per_instance,
            scale_out_cooldown=cdk.Duration.seconds(config.scale_out_cooldown_seconds),
            scale_in_cooldown=cdk.Duration.seconds(config.scale_in_cooldown_seconds),
        )

    @property
    def image_uri(self) -> str:
        return self.image.image_uri
