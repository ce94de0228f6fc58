"""SageMaker: the only module that talks to the SageMaker control plane and runtime. Implements
`ports.TrainingLauncher` and `ports.Endpoint`, translating SageMaker's errors into `authentic.errors`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from authentic.aws.clients import client
from authentic.aws.items import error_code
from authentic.aws.ports import TrainingJob
from authentic.errors import (
    ModelNotReady,
    ModelRejectedInput,
    ServiceUnavailable,
    TrainingJobAlreadyExists,
    TrainingJobMissing,
)

# The model container's refusals that concern the photo, not the service: answered, never retried.
PHOTO_REFUSALS = (400, 413, 415)


class SageMakerTrainingJobs:
    def __init__(self, sagemaker: Any | None = None) -> None:
        self._sm = sagemaker if sagemaker is not None else client("sagemaker")

    def create(self, request: Mapping[str, Any]) -> str:
        try:
            out = self._sm.create_training_job(**request)
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if error_code(exc) == "ResourceInUse" or "already exists" in message:
                raise TrainingJobAlreadyExists(str(request["TrainingJobName"])) from exc
            raise
        return str(out["TrainingJobArn"])

    def describe(self, name: str) -> TrainingJob:
        try:
            out = self._sm.describe_training_job(TrainingJobName=name)
        except ClientError as exc:
            if error_code(exc) in ("ResourceNotFound", "ValidationException"):
                raise TrainingJobMissing(name) from exc
            raise
        return TrainingJob(
            name=out["TrainingJobName"],
            status=out["TrainingJobStatus"],
            secondary_status=out.get("SecondaryStatus", ""),
            failure_reason=out.get("FailureReason", ""),
            artifact_uri=out.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""),
            created_at=_epoch(out.get("CreationTime")) or 0.0,
            ended_at=_epoch(out.get("TrainingEndTime")),
            hyperparameters=dict(out.get("HyperParameters", {})),
            metrics={m["MetricName"]: float(m["Value"]) for m in out.get("FinalMetricDataList", [])},
        )


class SageMakerEndpoint:
    def __init__(self, runtime: Any | None = None) -> None:
        self._rt = runtime if runtime is not None else client("sagemaker-runtime")

    def invoke(
        self, endpoint_name: str, target_model: str, body: bytes, content_type: str, *, custom_attributes: str = ""
    ) -> bytes:
        kwargs: dict[str, Any] = {
            "EndpointName": endpoint_name,
            "TargetModel": target_model,
            "Body": body,
            "ContentType": content_type,
            "Accept": "application/json",
        }
        if custom_attributes:
            kwargs["CustomAttributes"] = custom_attributes
        try:
            out = self._rt.invoke_endpoint(**kwargs)
        except (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError) as exc:
            # The endpoint did not answer within the client's bounds (clients.ENDPOINT_*): answered, not waited on.
            raise ServiceUnavailable("the model endpoint did not answer in time; try again shortly") from exc
        except ClientError as exc:
            code = error_code(exc)
            if code == "ModelNotReadyException":
                raise ModelNotReady(target_model) from exc
            status = int(exc.response.get("OriginalStatusCode", 0) or 0)
            if code == "ModelError" and status in PHOTO_REFUSALS:
                raise ModelRejectedInput(_model_error_message(exc), status=status) from exc
            raise
        payload: bytes = out["Body"].read()
        return payload


def _model_error_message(exc: ClientError) -> str:
    raw = str(exc.response.get("OriginalMessage") or exc.response.get("Error", {}).get("Message", ""))
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw or "the model could not read the photo"
    return str(parsed.get("message") or parsed.get("error") or raw) if isinstance(parsed, dict) else raw


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)
