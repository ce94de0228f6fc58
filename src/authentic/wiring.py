"""Route and event wiring, declared once.

The CDK stacks build API Gateway methods, SQS/EventBridge triggers and Lambda functions from these tables,
and the local runtime serves the same routes and delivers the same events to the same handlers. A test
checks that neither side has a route or event the other lacks.

Who may call a route (`caller_of`, `resource_policy`: the REST API's resource policy) and what API Gateway
answers for its own errors (`GATEWAY_RESPONSES`) are declared here too, so the local gateway can apply the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from authentic.contracts import JOB_END_STATES, PAYLOAD_TOO_LARGE_ERROR, PAYLOAD_TOO_LARGE_MESSAGE, PHOTO_MEDIA_TYPES

# API Gateway's REST integration timeout: a function wired to a route must answer within it, so its own timeout
# is at most this (a longer one would run on after the caller got a 504). Long work leaves the request path.
API_TIMEOUT_SECONDS = 29


class Auth(Enum):
    IAM = "iam"  # SigV4: the brand web server
    PUBLIC = "public"  # shoppers, throttled


@dataclass(frozen=True)
class Function:
    """One Lambda function: one trigger, one handler."""

    name: str
    handler: str  # module.attribute inside the Lambda asset
    description: str
    timeout_seconds: int = API_TIMEOUT_SECONDS
    memory_mb: int = 512
    # Concurrent executions set aside for (and capped at) this function; None: it shares the account's pool.
    reserved_concurrency: int | None = None

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
    # Batches handled at once (an SQS event source's maximum concurrency, 2-1000); None: the service decides.
    max_concurrency: int | None = None


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
        timeout_seconds=API_TIMEOUT_SECONDS,
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
        timeout_seconds=API_TIMEOUT_SECONDS,
        memory_mb=1536,
        # The public route is throttled at 20 requests/s (burst 40) and one verify takes 0.3-1.5 s, so 50 covers
        # the stage's burst plus the brands' own calls; the cap keeps a flood of photos from taking the account's
        # whole Lambda concurrency (1,000 by default) away from ingest and training.
        reserved_concurrency=50,
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
    Route("POST", "/brands/{brandId}/verify", "verify"),  # the full answer: near misses, thresholds, counts
    Route("POST", "/verify", "verify", Auth.PUBLIC),  # the shopper's answer: verdict, counting boxes, barcodes
)

# The request content types API Gateway passes to Lambda base64-encoded (the REST API's binaryMediaTypes).
BINARY_MEDIA_TYPES = (*PHOTO_MEDIA_TYPES, "application/octet-stream")

EVENTS: tuple[Event, ...] = (
    # Five batches of ten uploads at once: every accepted photo commits one transaction on its brand's dataset
    # item, and more writers than this on one brand mostly buy TransactionConflicts (retried) instead of speed.
    Event(EventSource.UPLOADS_CREATED, "ingest", max_concurrency=5),
    Event(EventSource.TRAINING_STATE, "promotion"),
)


def function(name: str) -> Function:
    for candidate in FUNCTIONS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no function named {name!r} in the wiring")


def event(source: EventSource) -> Event:
    """The wiring of one event source (each has exactly one consumer)."""
    found = [candidate for candidate in EVENTS if candidate.source is source]
    if len(found) != 1:
        raise KeyError(f"{source.value} must be wired exactly once in wiring.EVENTS, found {len(found)}")
    return found[0]


# -- who may call a route: the REST API's resource policy ---------------------------------------------------------

EXECUTE_API_INVOKE = "execute-api:Invoke"
ANYONE = "*"
_PATH_PARAMETER = re.compile(r"\{[A-Za-z0-9_]+\}")


def account_root(account_id: str, partition: str = "aws") -> str:
    """The account's root principal: in a resource policy, every principal of the account that its own IAM policy
    allows."""
    return f"arn:{partition}:iam::{account_id}:root"


def caller_of(route: Route, brand_server: str) -> str:
    """Who may call the route: ANYONE for a public route; for a brand route, `brand_server`, the principal ARN of
    the brand web server (a role, or an account root when no role is configured)."""
    return ANYONE if route.auth is Auth.PUBLIC else brand_server


def route_resource(route: Route, stage: str) -> str:
    """The route as an `execute-api` resource in API Gateway's abbreviated form (`execute-api:/{stage}/{METHOD}/
    {path}`, path parameters as `*`), which API Gateway expands to the API's own ARN when it saves the policy."""
    return f"execute-api:/{stage}/{route.method}{_PATH_PARAMETER.sub('*', route.path)}"


def resource_policy(stage: str, brand_server: str) -> dict[str, Any]:
    """The REST API's resource policy: anyone may call the public routes, only `brand_server` the brand routes.

    `brand_server` is a role ARN, or an account's root (`account_root`). For a role, the brand routes are also
    denied to every other principal: within the API's own account, API Gateway lets a caller through when either
    the caller's IAM policy or the resource policy allows it, so without the Deny any principal of the account
    with `execute-api:Invoke` in its own policy could call them. For an account root nothing is denied and the
    account's IAM policies decide, as without a resource policy. The role is matched by `aws:PrincipalArn` (the
    role, whatever its session), so the policy can be saved before the role exists and survives its re-creation.
    """
    public = sorted(route_resource(r, stage) for r in ROUTES if r.auth is Auth.PUBLIC)
    brand = sorted(route_resource(r, stage) for r in ROUTES if r.auth is Auth.IAM)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ShoppersCallThePublicRoutes",
            "Effect": "Allow",
            "Principal": ANYONE,
            "Action": EXECUTE_API_INVOKE,
            "Resource": public,
        }
    ]
    if _is_account_root(brand_server):
        statements.append(
            {
                "Sid": "TheAccountCallsTheBrandRoutes",
                "Effect": "Allow",
                "Principal": {"AWS": brand_server},
                "Action": EXECUTE_API_INVOKE,
                "Resource": brand,
            }
        )
    else:
        statements += [
            {
                "Sid": "TheBrandServerCallsTheBrandRoutes",
                "Effect": "Allow",
                "Principal": ANYONE,
                "Action": EXECUTE_API_INVOKE,
                "Resource": brand,
                "Condition": {"StringEquals": {"aws:PrincipalArn": brand_server}},
            },
            {
                "Sid": "NobodyElseCallsTheBrandRoutes",
                "Effect": "Deny",
                "Principal": ANYONE,
                "Action": EXECUTE_API_INVOKE,
                "Resource": brand,
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": brand_server}},
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def _is_account_root(principal: str) -> bool:
    return principal.endswith(":root")


# -- what API Gateway itself answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayResponse:
    """An answer API Gateway gives without calling a function (a gateway response type), as project JSON:
    `{"error": error, "message": message}`. `message` None keeps API Gateway's own message for the case (it names
    what was refused); `status` None keeps the type's own status code."""

    response_type: str
    error: str
    message: str | None
    status: int | None = None
    retry_after_seconds: int | None = None


GATEWAY_RESPONSES: tuple[GatewayResponse, ...] = (
    # A body over 10 MiB, or an event over Lambda's 6 MiB: the answer says the limit and how to meet it.
    GatewayResponse("REQUEST_TOO_LARGE", PAYLOAD_TOO_LARGE_ERROR, PAYLOAD_TOO_LARGE_MESSAGE, status=413),
    GatewayResponse(
        "THROTTLED",
        "throttled",
        "Too many requests for this route right now; try again in a few seconds.",
        status=429,
        retry_after_seconds=5,
    ),
    GatewayResponse(
        "INTEGRATION_TIMEOUT",
        "timeout",
        "The service did not answer within API Gateway's 29 seconds; try again (a model may have been loading).",
        status=504,
        retry_after_seconds=5,
    ),
    # Every other refusal by API Gateway (403 unsigned or not allowed, 404-like "Missing Authentication Token" for an
    # unknown path, 400 for a missing path parameter), in the same JSON shape as the functions' errors.
    GatewayResponse("DEFAULT_4XX", "refused", None),
    # API Gateway answers 500 when the function cannot be invoked, e.g. when it is at its reserved concurrency: the
    # status cannot tell that from a fault, so the message says what a caller can do about either.
    GatewayResponse(
        "DEFAULT_5XX",
        "unavailable",
        "The service could not answer this request (it may be busy); try again in a few seconds.",
        retry_after_seconds=5,
    ),
)

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
