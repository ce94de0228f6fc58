"""SageMaker: the only module that talks to the SageMaker control plane and runtime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from authentic.aws import client


@dataclass(frozen=True)
class TrainingJob:
    name: str
    status: str  # InProgress | Completed | Failed | Stopping | Stopped
    secondary_status: str
    failure_reason: str
    artifact_uri: str
    created_at: float
    ended_at: float | None
    hyperparameters: dict[str, str]
    metrics: dict[str, float]

    @property
    def finished(self) -> bool:
        return self.status in ("Completed", "Failed", "Stopped")


class TrainingJobAlreadyExists(Exception):
    pass


class TrainingJobMissing(LookupError):
    pass


class TrainingJobs:
    def __init__(self, sagemaker: Any | None = None) -> None:
        self._sm = sagemaker if sagemaker is not None else client("sagemaker")

    def create(self, request: dict[str, Any]) -> str:
        try:
            out = self._sm.create_training_job(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if code == "ResourceInUse" or "already exists" in message:
                raise TrainingJobAlreadyExists(request["TrainingJobName"]) from exc
            raise
        return str(out["TrainingJobArn"])

    def describe(self, name: str) -> TrainingJob:
        try:
            out = self._sm.describe_training_job(TrainingJobName=name)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ResourceNotFound", "ValidationException"):
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


class ModelNotReady(Exception):
    """The endpoint is still loading the target model (a cold start): try again shortly."""


class Endpoint:
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
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ModelNotReadyException":
                raise ModelNotReady(target_model) from exc
            raise
        payload: bytes = out["Body"].read()
        return payload


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)
