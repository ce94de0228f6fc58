"""Promote (EventBridge "SageMaker Training Job State Change" → Lambda): gate a finished job and make it
live under a new, never-reused key, or record why not. Safe under duplicate and out-of-order events."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from authentic import keys
from authentic.aws.ports import JobEnd, ModelRecords, ObjectStore, TrainingLauncher, VersionRecord
from authentic.contracts import JOB_END_STATES, MODEL_ARTIFACT, OUTPUT_ARTIFACT
from authentic.errors import InvalidInput, TrainingJobMissing
from authentic.models.artifact import ArtifactSummary, read_summary
from authentic.models.gate import Bars, judge
from authentic.settings import Settings

log = logging.getLogger(__name__)


class _Artifacts(BaseModel):
    S3ModelArtifacts: str | None = None


class TrainingStateDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    TrainingJobName: str
    TrainingJobStatus: str
    SecondaryStatus: str | None = None
    FailureReason: str | None = None
    ModelArtifacts: _Artifacts | None = None
    HyperParameters: dict[str, str] = Field(default_factory=dict)
    Tags: dict[str, str] = Field(default_factory=dict)
    CreationTime: float | None = None
    TrainingEndTime: float | None = None

    @field_validator("Tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> dict[str, str]:
        """Tags come as a map or as a list of Key/Value pairs."""
        if value is None:
            return {}
        if isinstance(value, list):
            return {str(t["Key"]): str(t["Value"]) for t in value if isinstance(t, dict) and "Key" in t}
        return {str(k): str(v) for k, v in dict(value).items()}

    @field_validator("CreationTime", "TrainingEndTime", mode="before")
    @classmethod
    def _time(cls, value: Any) -> float | None:
        """Epoch milliseconds (as EventBridge sends them), seconds, or ISO text → epoch seconds."""
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                value = float(value)
        number = float(value)
        return number / 1000 if number > 1e11 else number


class TrainingStateEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: TrainingStateDetail


@dataclass(frozen=True)
class Promotion:
    models: ModelRecords
    store: ObjectStore
    jobs: TrainingLauncher
    settings: Settings

    def handle(self, raw: dict[str, Any]) -> str:
        event = TrainingStateEvent.model_validate(raw)
        detail = event.detail
        job_name = detail.TrainingJobName
        if not job_name.startswith(f"{self.settings.job_prefix}-"):
            log.info("ignoring another deployment's job", extra={"job_name": job_name})
            return "ignored"
        if detail.TrainingJobStatus not in JOB_END_STATES:
            return "ignored"
        brand_id = self._brand(detail)
        if detail.TrainingJobStatus == "Completed":
            outcome = self._completed(brand_id, detail)
        else:
            reason = detail.FailureReason or self._failure_reason(job_name) or detail.TrainingJobStatus
            self.models.finish_job(
                brand_id, job_name, JobEnd(detail.TrainingJobStatus, time.time(), failure_reason=reason)
            )
            outcome = detail.TrainingJobStatus.lower()
        self.models.release_job_slot(brand_id, job_name)
        log.info("training job ended", extra={"brand_id": brand_id, "job_name": job_name, "outcome": outcome})
        return outcome

    def _brand(self, detail: TrainingStateDetail) -> str:
        brand = detail.Tags.get("brand") or detail.HyperParameters.get("brand_id")
        if not brand:
            brand = self.jobs.describe(detail.TrainingJobName).hyperparameters.get("brand_id")
        if not brand:
            raise InvalidInput(f"job {detail.TrainingJobName} carries no brand (tag 'brand' or hyperparameter)")
        return keys.check_brand_id(brand)

    def _failure_reason(self, job_name: str) -> str:
        try:
            return self.jobs.describe(job_name).failure_reason
        except TrainingJobMissing:
            return ""

    def _completed(self, brand_id: str, detail: TrainingStateDetail) -> str:
        job_name = detail.TrainingJobName
        artifact_uri = detail.ModelArtifacts.S3ModelArtifacts if detail.ModelArtifacts else None
        created = detail.CreationTime
        if not artifact_uri or created is None:
            described = self.jobs.describe(job_name)
            artifact_uri = artifact_uri or described.artifact_uri
            created = created if created is not None else described.created_at
        if not artifact_uri:
            raise InvalidInput(f"job {job_name} completed without a model artifact location")
        bucket, key = _split_s3(artifact_uri)
        summary = self._summary(bucket, key)
        version = self.models.allocate_version(brand_id, job_name)
        gate = judge(summary.metrics, gate_bars(self.settings))
        passed = bool(gate["passed"])
        live_key = keys.live_model_key(brand_id, version)
        self.models.put_version(
            VersionRecord(
                brand_id=brand_id,
                version=version,
                job_name=job_name,
                artifact_uri=artifact_uri,
                live_key=live_key,
                metrics=_metrics_summary(summary.metrics),
                labels=summary.labels,
                gate=gate,
                job_created_at=created,
                recorded_at=time.time(),
            )
        )
        moved = False
        if passed:
            # Written once: a duplicate or concurrent event finds the key there (a live key is never overwritten).
            self.store.copy_once(bucket, key, self.settings.live_bucket, live_key)
            moved = self.models.move_live(
                brand_id,
                version,
                live_key,
                f"training job {job_name} passed the gate",
                order=float(created or 0.0),
                manual=False,
            )
        self.models.finish_job(
            brand_id,
            job_name,
            JobEnd("Completed", time.time(), metrics=_metrics_summary(summary.metrics), version=version, gate=gate),
        )
        log.info(
            "version recorded",
            extra={"brand_id": brand_id, "version": version, "gate": gate, "live": moved, "read": summary.bytes_read},
        )
        return "promoted" if moved else ("recorded" if passed else "below-gate")

    def _summary(self, bucket: str, key: str) -> ArtifactSummary:
        """metrics.json and labels.json: from the job's small `output.tar.gz` (the training program puts
        copies there) when present, otherwise streamed from the model artifact up to the members needed."""
        sibling = key.rsplit("/", 1)[0] + f"/{OUTPUT_ARTIFACT}"
        if key.endswith(f"/{MODEL_ARTIFACT}") and self.store.exists(bucket, sibling):
            try:
                return read_summary(self.store.stream(bucket, sibling))
            except InvalidInput:
                log.info("output.tar.gz holds no metrics; reading the model artifact")
        return read_summary(self.store.stream(bucket, key))


def gate_bars(settings: Settings) -> Bars:
    """The deployment's quality gate."""
    return Bars(
        map50=settings.quality_gate_map50,
        max_false_counterfeit_rate=settings.quality_gate_max_false_counterfeit_rate,
        max_false_genuine_rate=settings.quality_gate_max_false_genuine_rate,
        max_inconclusive_rate=settings.quality_gate_max_inconclusive_rate,
        max_background_rate=settings.quality_gate_max_background_rate,
    )


def _metrics_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "map50", "map50_95", "precision", "recall", "threshold", "threshold_f1", "per_class", "dataset",
        "training_seconds", "epochs_run", "verdict_rates", "background", "serving", "recipe",
    )  # fmt: skip
    return {k: metrics[k] for k in keys if k in metrics}


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise InvalidInput(f"not an S3 URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key
