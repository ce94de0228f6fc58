"""Build the events AWS would deliver, so the local runtime can call the handlers unchanged."""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from typing import Any

from authentic.local.iam.policies import ACCOUNT, REGION

_SEQUENCE = itertools.count(1)


def api_gateway_event(
    method: str,
    resource: str,
    path: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    binary: bool = False,
    caller_arn: str | None = f"arn:aws:iam::{ACCOUNT}:role/authentic-brand-server",
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event."""
    if body is None:
        encoded: str | None = None
    elif binary:
        encoded = base64.b64encode(body).decode()
    else:
        encoded = body.decode("utf-8", errors="replace")
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers or {}),
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": path,
            "stage": "local",
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userArn": caller_arn, "caller": caller_arn},
            "accountId": ACCOUNT,
            "apiId": "local",
        },
        "body": encoded,
        "isBase64Encoded": bool(binary and body is not None),
    }


def s3_object_created(
    bucket: str, key: str, *, size: int, version_id: str | None, sequencer: str | None = None
) -> dict[str, Any]:
    """An S3 event notification message with one ObjectCreated record."""
    from urllib.parse import quote_plus  # noqa: PLC0415

    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "versionId": version_id,
                        "sequencer": sequencer or f"{time.time_ns():X}{next(_SEQUENCE):04X}",
                    },
                },
            }
        ]
    }


def sqs_event(bodies: list[str], *, queue_arn: str = f"arn:aws:sqs:{REGION}:{ACCOUNT}:uploads") -> dict[str, Any]:
    """An SQS event for a Lambda event source mapping."""
    now = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": str(uuid.uuid4()),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now,
                    "SenderId": "local",
                    "ApproximateFirstReceiveTimestamp": now,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for body in bodies
        ]
    }


def json_body(message: dict[str, Any]) -> str:
    return json.dumps(message)


def training_state_change(description: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge "SageMaker Training Job State Change" event for a DescribeTrainingJob answer."""
    from authentic.wiring import TRAINING_STATE_DETAIL_TYPE  # noqa: PLC0415

    detail = dict(description)
    for field in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        if isinstance(detail.get(field), int | float):
            detail[field] = int(detail[field] * 1000)  # EventBridge carries epoch milliseconds
    tags = detail.pop("Tags", None)
    if isinstance(tags, list):
        detail["Tags"] = {t["Key"]: t["Value"] for t in tags}
    elif isinstance(tags, dict):
        detail["Tags"] = tags
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": TRAINING_STATE_DETAIL_TYPE,
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": [description.get("TrainingJobArn", "")],
        "detail": detail,
    }
