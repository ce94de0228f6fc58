"""Every Lambda function, built from `wiring.FUNCTIONS` with one set of defaults.

The defaults, set here and nowhere else: the runtime and architecture the code asset is bundled for, JSON logs
with Lambda's log-level controls, X-Ray active tracing, a log group per function with the configured retention,
timeout, memory and reserved concurrency from `wiring.Function`, an execution role per function that may write only
its own log group (capability constructs add the rest), and the environment: the deployment's `Settings.to_env()`
plus the Powertools settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from authentic import wiring
from stacks.config import LOG_RETENTION_DAYS
from stacks.constructs.bundling import ARCHITECTURE, PYTHON_VERSION, RUNTIME
from stacks.constructs.nag import acknowledge

SERVICE_NAME = "authentic"
METRICS_NAMESPACE = "Authentic"
POWERTOOLS_ENVIRONMENT: Mapping[str, str] = {
    "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",  # events carry shoppers' photos and presigned forms: never log them
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",  # responses can be large; traces keep timings, not bodies
}

# CloudWatch Logs' retention periods, shortest first (stacks.config.LOG_RETENTION_DAYS, the one list of the days),
# paired with CDK's enum of the same periods in its own order (INFINITE aside); a test checks the days synthesize.
RETENTION: Mapping[int, logs.RetentionDays] = dict(
    zip(
        sorted(LOG_RETENTION_DAYS),
        (member for member in logs.RetentionDays if member is not logs.RetentionDays.INFINITE),
        strict=True,
    )
)

RUNTIME_REASON = (
    f"{RUNTIME.name} on purpose: the code targets CPython 3.11 and the bundled wheels are built for CPython "
    f"{PYTHON_VERSION}; {RUNTIME.name} is the oldest Lambda Python runtime on Amazon Linux 2023, whose glibc the "
    "manylinux_2_27/2_28 wheels of Pillow 13 and pillow-heif need (python3.11 runs on Amazon Linux 2, glibc "
    "2.26). Moving to the newest runtime is a tested upgrade of the code, not a configuration switch."
)
XRAY_REASON = (
    "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level "
    "permissions, so the statement CDK adds for tracing must name Resource '*'."
)


def role_of(function: lambda_.IFunction) -> iam.IRole:
    """The execution role of a function built here (every one has its own)."""
    if function.role is None:  # pragma: no cover - Functions always passes a role
        raise ValueError(f"{function.node.path} has no execution role")
    return function.role


def log_retention(days: int) -> logs.RetentionDays:
    try:
        return RETENTION[days]
    except KeyError:
        raise ValueError(
            f"CloudWatch Logs cannot retain logs for {days} days; use one of {sorted(RETENTION)}"
        ) from None


def _construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


class Functions(Construct):
    """One function per `wiring.FUNCTIONS` entry, sharing one code asset and one environment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        environment: Mapping[str, str],
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = {**environment, **POWERTOOLS_ENVIRONMENT}
        self._retention = log_retention(log_retention_days)
        self._functions = {spec.name: self._function(spec, code) for spec in wiring.FUNCTIONS}

    def __getitem__(self, name: str) -> lambda_.Function:
        try:
            return self._functions[name]
        except KeyError:
            raise KeyError(f"no function {name!r}: functions are declared in authentic.wiring.FUNCTIONS") from None

    def __iter__(self) -> Iterator[tuple[str, lambda_.Function]]:
        return iter(self._functions.items())

    def _function(self, spec: wiring.Function, code: lambda_.Code) -> lambda_.Function:
        cid = _construct_id(spec.name)
        log_group = logs.LogGroup(self, f"{cid}Logs", retention=self._retention)
        role = iam.Role(
            self,
            f"{cid}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {spec.name} function",
        )
        log_group.grant_write(role)  # its own log group only, instead of AWSLambdaBasicExecutionRole's logs:* on *
        function = lambda_.Function(
            self,
            cid,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=code,
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            reserved_concurrent_executions=spec.reserved_concurrency,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            environment=dict(self._environment),
        )
        acknowledge(function, "L1", RUNTIME_REASON)
        acknowledge(role, "IAM5[Resource::*]", XRAY_REASON)
        return function
