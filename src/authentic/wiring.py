"""Route and event wiring, declared once.

The CDK stacks build API Gateway methods, SQS/EventBridge triggers and Lambda functions from these tables,
and the local runtime serves the same routes and delivers the same events to the same handlers. A test
checks that neither side has a route or event the other lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from authentic.contracts import JOB_END_STATES, PHOTO_MEDIA_TYPES


class Auth(Enum):
    IAM = "iam"  # SigV4: the brand web server
    PUBLIC = "public"  # shoppers, throttled


@dataclass(frozen=True)
class Function:
    """One Lambda function: one trigger, one handler."""

    name: str
    handler: str  # module.attribute inside the Lambda asset
    description: str
    timeout_seconds: int = 29  # a function behind the API answers within API Gateway's 29 s
    memory_mb: int = 512
    reserved_concurrency: int | None = None  # None: the account's unreserved pool

    @property
    def module(self) -> str:
        """The handler's module, whose `create_handler()` builds a new handler (the local runtime's cold start)."""
        return self.handler.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, {param} for path parameters
    function: str
    auth: Auth = Auth.IAM


class EventSource(Enum):
    UPLOADS_CREATED = "uploads-object-created"  # S3 ObjectCreated on the uploads bucket → SQS → Lambda
    TRAINING_STATE = "sagemaker-training-state-change"  # EventBridge → Lambda


@dataclass(frozen=True)
class Event:
    source: EventSource
    function: str
    max_concurrency: int | None = None  # an SQS event source: how many batches it runs at once


FUNCTIONS: tuple[Function, ...] = (
    Function("uploads", "lambdas.uploads.handler", "Hands out presigned POST forms for annotated photos"),
    Function(
        "ingest",
        "lambdas.ingest.handler",
        "Normalises uploaded photos and annotations into the brand's dataset",
        timeout_seconds=120,
        memory_mb=2048,
    ),
    Function(
        "training",
        "lambdas.training.handler",
        "Checks and freezes a brand's dataset, starts training, manages model versions, policy and GTINs",
        timeout_seconds=300,
        memory_mb=1024,
    ),
    Function(
        "promotion",
        "lambdas.promotion.handler",
        "Gates and promotes finished training jobs onto the live multi-model prefix",
        timeout_seconds=120,
        memory_mb=512,
    ),
    Function(
        "verify",
        "lambdas.verify.handler",
        "Answers a shopper's photo with a verdict",
        timeout_seconds=29,
        memory_mb=1536,
    ),
)

ROUTES: tuple[Route, ...] = (
    Route("POST", "/brands/{brandId}/uploads", "uploads"),
    Route("GET", "/brands/{brandId}/uploads", "uploads"),
    Route("POST", "/brands/{brandId}/training-jobs", "training"),
    Route("GET", "/brands/{brandId}/training-jobs/{jobId}", "training"),
    Route("GET", "/brands/{brandId}/models", "training"),
    Route("POST", "/brands/{brandId}/models/{version}/promote", "training"),
    Route("GET", "/brands/{brandId}/policy", "training"),
    Route("PUT", "/brands/{brandId}/policy", "training"),
    Route("GET", "/brands/{brandId}/gtins", "training"),
    Route("PUT", "/brands/{brandId}/gtins", "training"),
    Route("POST", "/verify", "verify", Auth.PUBLIC),
)

# The request content types API Gateway passes to Lambda base64-encoded (the REST API's binaryMediaTypes).
BINARY_MEDIA_TYPES = (*PHOTO_MEDIA_TYPES, "application/octet-stream")

EVENTS: tuple[Event, ...] = (
    Event(EventSource.UPLOADS_CREATED, "ingest", max_concurrency=5),
    Event(EventSource.TRAINING_STATE, "promotion"),
)


def function(name: str) -> Function:
    for candidate in FUNCTIONS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no function named {name!r} in the wiring")


TRAINING_STATE_DETAIL_TYPE = "SageMaker Training Job State Change"


def training_state_pattern(job_prefix: str) -> dict[str, Any]:
    """The EventBridge pattern of the promotion rule: this deployment's jobs, and only their end states."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [TRAINING_STATE_DETAIL_TYPE],
        "detail": {
            "TrainingJobStatus": list(JOB_END_STATES),
            "TrainingJobName": [{"prefix": f"{job_prefix}-"}],
        },
    }


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge matching for the pattern features this project uses: value lists and `prefix`."""
    for key, expected in pattern.items():
        actual = event.get(key)
        if isinstance(expected, dict):
            if not isinstance(actual, dict) or not matches(expected, actual):
                return False
            continue
        if not any(_match_one(option, actual) for option in expected):
            return False
    return True


def _match_one(option: Any, actual: Any) -> bool:
    if isinstance(option, dict) and "prefix" in option:
        return isinstance(actual, str) and actual.startswith(option["prefix"])
    return bool(option == actual)
