"""The service stack: the code and everything that can be replaced without touching data.

It takes the stateful stack's resources as arguments, composes the training image and role, the multi-model
endpoint, the Lambda functions (from `wiring.FUNCTIONS`), their triggers (from `wiring.EVENTS`) and the REST API
(from `wiring.ROUTES`). The functions' environment is `Settings(...).to_env()`, so the variable names are the
ones the handlers read and cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from authentic import wiring
from authentic.settings import Settings
from stacks.config import AppConfig
from stacks.constructs.api import Api
from stacks.constructs.bundling import lambda_code
from stacks.constructs.hosting import HostingConfig, MultiModelHosting
from stacks.constructs.ingest import Ingest
from stacks.constructs.lambdas import Functions
from stacks.constructs.orchestration import Orchestration
from stacks.constructs.training import TrainingImage
from stacks.constructs.verify import Verify
from stacks.constructs.web import ShopperPage
from stacks.stateful import StatefulStack


def deployment_settings(
    config: AppConfig, stateful: StatefulStack, *, training_image_uri: str, training_role_arn: str, endpoint_name: str
) -> Settings:
    """What every function knows about this deployment (resource names are CloudFormation tokens here)."""
    # model_validate: the Settings model validates the values and keeps its own defaults for the rest.
    return Settings.model_validate(
        {
            "uploads_bucket": stateful.uploads_bucket.bucket_name,
            "dataset_bucket": stateful.dataset_bucket.bucket_name,
            "artifacts_bucket": stateful.artifacts_bucket.bucket_name,
            "live_bucket": stateful.live_models_bucket.bucket_name,
            "table_name": stateful.table.table_name,
            "max_image_bytes": config.max_image_bytes,
            "max_annotation_bytes": config.max_annotation_bytes,
            "max_pixels": config.max_pixels,
            "pair_stale_seconds": config.pair_stale_seconds,
            "min_images_per_class": config.min_images_per_class,
            "job_prefix": config.job_prefix,
            "training_image_uri": training_image_uri,
            "training_role_arn": training_role_arn,
            "training_instance_type": config.training.instance_type,
            "training_volume_gb": config.training.volume_gb,
            "training_max_seconds": config.training.max_runtime_seconds,
            "training_use_spot": config.training.use_spot,
            "training_max_wait_seconds": config.training.max_wait_seconds,
            "quality_gate_map50": config.quality_gate_map50,
            "quality_gate_max_false_counterfeit_rate": config.quality_gate_max_false_counterfeit_rate,
            "quality_gate_max_false_genuine_rate": config.quality_gate_max_false_genuine_rate,
            "quality_gate_max_inconclusive_rate": config.quality_gate_max_inconclusive_rate,
            "quality_gate_max_background_rate": config.quality_gate_max_background_rate,
            "endpoint_name": endpoint_name,
        }
    )


class ServiceStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: AppConfig, stateful: StatefulStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        training = TrainingImage(
            self,
            "Training",
            dataset_bucket=stateful.dataset_bucket,
            artifacts_bucket=stateful.artifacts_bucket,
            pretrained_weights_url=config.training.pretrained_weights_url,
            job_prefix=config.job_prefix,
        )
        hosting = MultiModelHosting(
            self,
            "Hosting",
            live_models_bucket=stateful.live_models_bucket,
            config=HostingConfig(
                instance_type=config.hosting.instance_type,
                initial_instance_count=config.hosting.instance_count,
                min_instances=config.hosting.min_instances,
                max_instances=config.hosting.max_instances,
            ),
        )
        self.settings = deployment_settings(
            config,
            stateful,
            training_image_uri=training.image_uri,
            training_role_arn=training.role.role_arn,
            endpoint_name=hosting.endpoint_name,
        )
        self.functions = Functions(
            self,
            "Functions",
            code=lambda_code(),
            environment=self.settings.to_env(),
            log_retention_days=config.log_retention_days,
        )

        ingest = Ingest(
            self,
            "Ingest",
            uploads_function=self.functions["uploads"],
            uploads=stateful.uploads_bucket,
            dataset=stateful.dataset_bucket,
            table=stateful.table,
            queue=stateful.upload_queue,
        )
        orchestration = Orchestration(
            self,
            "Orchestration",
            training_function=self.functions["training"],
            training_role=training.role,
            dataset=stateful.dataset_bucket,
            artifacts=stateful.artifacts_bucket,
            live_models=stateful.live_models_bucket,
            table=stateful.table,
            job_prefix=config.job_prefix,
            training_instance_type=config.training.instance_type,
            alarm_topic=stateful.alarm_topic,
        )
        Verify(
            self,
            "Verify",
            verify_function=self.functions["verify"],
            endpoint_arn=hosting.endpoint_arn,
            table=stateful.table,
        )

        # The triggers, from the one table of events: each event source has one owner that knows how to wire it.
        subscribers: dict[wiring.EventSource, Callable[[lambda_.Function], object]] = {
            wiring.EventSource.UPLOADS_CREATED: ingest.subscribe,
            wiring.EventSource.TRAINING_STATE: orchestration.subscribe,
        }
        for event in wiring.EVENTS:
            if event.source not in subscribers:
                raise ValueError(f"no construct wires the event source {event.source.value!r}")
            subscribers[event.source](self.functions[event.function])

        self.api = Api(
            self,
            "Api",
            functions=dict(self.functions),
            public_throttle=config.verify_throttle,
            log_retention_days=config.log_retention_days,
            # The brand web server's role, else the deploying account (its principals, as their IAM policies allow).
            brand_server=config.brand_server_role_arn or wiring.account_root(self.account, self.partition),
            waf_rate_limit=config.waf_rate_limit,
        )
        self.orchestration = orchestration
        self.training = training
        self.hosting = hosting

        self.page = ShopperPage(
            self, "ShopperPage", api=self.api.rest_api, log_retention_days=config.access_log_retention_days
        )

        cdk.CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the REST API (stage included)")
        cdk.CfnOutput(self, "PageUrl", value=self.page.url, description="The shopper's page: add ?brand={brandId}")
        cdk.CfnOutput(self, "EndpointName", value=hosting.endpoint_name, description="Multi-model endpoint")
