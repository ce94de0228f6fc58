"""The REST API: every method built from `wiring.ROUTES`.

IAM (SigV4) routes are for the brand web server; PUBLIC routes (POST /verify) take no auth and get method-level
throttling on the stage. Path parameters are declared required and validated by API Gateway. Photos arrive as
binary bodies (the binary media types below), base64-encoded to the Lambda proxy integration.

The resource policy (`wiring.resource_policy`) lets anyone call the public routes and only the brand web server
(the configured role, else the deploying account) call the brand routes. The stage has a WAF web ACL
(`firewall.PublicFirewall`). API Gateway's own refusals answer in the project's JSON shape
(`wiring.GATEWAY_RESPONSES`), the 413 naming the largest photo that fits and how to meet it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from authentic import wiring
from stacks.config import Throttle
from stacks.constructs.firewall import PublicFirewall
from stacks.constructs.lambdas import log_retention
from stacks.constructs.nag import acknowledge

STAGE_NAME = "prod"
_PATH_PARAMETER = re.compile(r"\{([A-Za-z0-9_]+)\}")

IAM_ROUTE_REASON = (
    "Brand routes are called server-to-server by the brand web server, which signs requests with IAM "
    "credentials (SigV4, AuthorizationType AWS_IAM); there are no end users for a Cognito user pool."
)
PUBLIC_ROUTE_REASON = (
    "Public by design: shoppers verify a photo without an account. The method is throttled on the stage "
    "(method-level rate and burst limits) and per client IP by the stage's WAF web ACL, takes no path input, "
    "answers only the verdict and its counting boxes, and the function can only get the brands' table items and "
    "invoke this deployment's endpoint."
)
CLOUDWATCH_ROLE_REASON = (
    "API Gateway's account-level CloudWatch role uses the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs "
    "policy, the documented policy for execution and access logging; it grants only log delivery."
)


def path_parameters(path: str) -> list[str]:
    return _PATH_PARAMETER.findall(path)


def method_options_key(route: wiring.Route) -> str:
    """The stage's key for one method's settings: resource path then HTTP method."""
    return f"{route.path}/{route.method}"


def gateway_response_body(response: wiring.GatewayResponse) -> str:
    """The JSON body template of a gateway response: the fixed message, or API Gateway's own (already quoted)."""
    if response.message is None:
        return '{"error": ' + json.dumps(response.error) + ', "message": $context.error.messageString}'
    return json.dumps({"error": response.error, "message": response.message})


class Api(Construct):
    """The RestApi, its stage (access logs, execution logs, tracing, throttling) and the wired methods."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        public_throttle: Throttle,
        log_retention_days: int,
        brand_server: str,
        waf_rate_limit: int,
    ) -> None:
        super().__init__(scope, construct_id)
        missing = sorted({r.function for r in wiring.ROUTES} - set(functions))
        if missing:
            raise ValueError(f"routes in wiring.ROUTES point at functions that were not built: {missing}")

        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention(log_retention_days))
        throttled = {
            method_options_key(route): apigw.MethodDeploymentOptions(
                throttling_rate_limit=public_throttle.rate_limit,
                throttling_burst_limit=public_throttle.burst_limit,
            )
            for route in wiring.ROUTES
            if route.auth is wiring.Auth.PUBLIC
        }
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="Counterfeit detection: brand uploads, training and models (IAM); public verify.",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=list(wiring.BINARY_MEDIA_TYPES),
            policy=iam.PolicyDocument.from_json(wiring.resource_policy(STAGE_NAME, brand_server)),
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                data_trace_enabled=False,  # request bodies are photos and upload forms: never log them
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                method_options=throttled,
            ),
        )
        self.firewall = PublicFirewall(
            self, "Firewall", stage=self.rest_api.deployment_stage, stage_name=STAGE_NAME, rate_limit=waf_rate_limit
        )
        self._gateway_responses()
        acknowledge(
            self.rest_api,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            CLOUDWATCH_ROLE_REASON,
        )

        # Required path parameters are checked by API Gateway. Body validation is on, but no method declares a
        # request model: bodies are validated by the handlers' typed models, the one definition of each body.
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        integrations: dict[str, apigw.LambdaIntegration] = {}
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        for route in wiring.ROUTES:
            integration = integrations.get(route.function)
            if integration is None:
                integration = integrations[route.function] = apigw.LambdaIntegration(functions[route.function])
            self.methods[(route.method, route.path)] = self._method(route, integration, validator)

    def _gateway_responses(self) -> None:
        for response in wiring.GATEWAY_RESPONSES:
            retry = response.retry_after_seconds
            self.rest_api.add_gateway_response(
                "".join(part.capitalize() for part in response.response_type.split("_")),
                type=apigw.ResponseType.of(response.response_type),
                status_code=None if response.status is None else str(response.status),
                response_headers=None if retry is None else {"Retry-After": f"'{retry}'"},
                templates={"application/json": gateway_response_body(response)},
            )

    def _method(
        self, route: wiring.Route, integration: apigw.LambdaIntegration, validator: apigw.RequestValidator
    ) -> apigw.Method:
        resource = self.rest_api.root.resource_for_path(route.path)
        public = route.auth is wiring.Auth.PUBLIC
        method = resource.add_method(
            route.method,
            integration,
            authorization_type=apigw.AuthorizationType.NONE if public else apigw.AuthorizationType.IAM,
            request_parameters={f"method.request.path.{p}": True for p in path_parameters(route.path)} or None,
            request_validator=validator,
        )
        if public:
            acknowledge(method, "APIG4", PUBLIC_ROUTE_REASON)
            acknowledge(method, "COG4", PUBLIC_ROUTE_REASON)
        else:
            acknowledge(method, "COG4", IAM_ROUTE_REASON)
        return method

    @property
    def url(self) -> str:
        return self.rest_api.url
