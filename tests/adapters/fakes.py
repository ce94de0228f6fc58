"""Fakes for our own ports where moto cannot play the part (moto's training jobs complete at once and it
accepts duplicate job names, which real SageMaker refuses)."""

from __future__ import annotations

import threading
import time
from typing import Any

from authentic.aws.ports import TrainingJob
from authentic.errors import TrainingJobAlreadyExists, TrainingJobMissing


class FakeTrainingJobs:
    """SageMaker's training-job control plane as our `TrainingJobs` port sees it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.jobs: dict[str, TrainingJob] = {}
        self._lock = threading.Lock()

    def create(self, request: dict[str, Any]) -> str:
        name = request["TrainingJobName"]
        with self._lock:
            self.requests.append(request)
            if name in self.jobs:
                raise TrainingJobAlreadyExists(name)
            self.jobs[name] = TrainingJob(
                name=name,
                status="InProgress",
                secondary_status="Starting",
                failure_reason="",
                artifact_uri="",
                created_at=time.time(),
                ended_at=None,
                hyperparameters=dict(request["HyperParameters"]),
                metrics={},
            )
        return f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"

    def describe(self, name: str) -> TrainingJob:
        try:
            return self.jobs[name]
        except KeyError:
            raise TrainingJobMissing(name) from None

    def finish(self, name: str, status: str = "Completed", *, artifact_uri: str = "", reason: str = "") -> TrainingJob:
        job = self.jobs[name]
        ended = TrainingJob(
            name=name,
            status=status,
            secondary_status=status,
            failure_reason=reason,
            artifact_uri=artifact_uri,
            created_at=job.created_at,
            ended_at=time.time(),
            hyperparameters=job.hyperparameters,
            metrics={"epoch": 3.0, "epochs": 3.0, "validation:map50": 0.9},
        )
        self.jobs[name] = ended
        return ended
