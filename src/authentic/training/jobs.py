"""Finish → train: check the brand's dataset, freeze it as a manifest of exact immutable objects, start one
SageMaker training job. The job name comes from the brand and the manifest, so a retried request starts
nothing new; a request while another job of the brand runs is answered with that job (409).

Freezing copies nothing, whatever the dataset's size: ingest stores every image and annotation once, named by
the SHA-256 of its bytes, so a manifest that names those objects pins them. A freeze reads the brand's compact
dataset entries (a few DynamoDB calls) and writes two objects: the manifest and SageMaker's `ManifestFile`
listing it and the objects it names, which the job's channel reads (`authentic.training.manifest`).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from authentic import keys
from authentic.annotations.model import ROLES, Category, Role
from authentic.aws.ports import (
    DatasetEntry,
    DatasetRecords,
    JobRecord,
    JobStart,
    ModelRecords,
    ObjectStore,
    TrainingLauncher,
)
from authentic.contracts import CHECKPOINT_DIR, TRAINING_CHANNEL
from authentic.errors import Conflict, DatasetNotReady, NotFound, TrainingJobAlreadyExists, TrainingJobMissing
from authentic.settings import Settings
from authentic.training.hyperparameters import parse_hyperparameters
from authentic.training.manifest import Manifest, ManifestItem
from authentic.training.progress import METRIC_DEFINITIONS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Training:
    datasets: DatasetRecords
    models: ModelRecords
    store: ObjectStore
    jobs: TrainingLauncher
    settings: Settings

    # -- POST /brands/{brandId}/training-jobs ---------------------------------------------------------------
    def start(self, brand_id: str, overrides: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        """Start (or return) the brand's training job; returns (HTTP status, job description)."""
        keys.check_brand_id(brand_id)
        # A typo is a 400 now, not a failed (and billed) job: the program parses the same way.
        parse_hyperparameters({**(overrides or {}), "brand_id": brand_id})
        manifest = self._freeze(brand_id)
        job_name = self.job_name(brand_id, manifest.manifest_id)
        holder = self.models.acquire_job_slot(brand_id, job_name)
        if holder != job_name and self._release_if_finished(brand_id, holder):
            holder = self.models.acquire_job_slot(brand_id, job_name)  # another finish may have taken it since
        if holder != job_name:
            running = self.describe(brand_id, holder)
            raise Conflict(f"brand {brand_id!r} already has a training job running: {holder}", details=running)
        existing = self.models.job(brand_id, job_name)
        if existing and existing.started:
            if existing.ended:  # this exact dataset was trained already: nothing new to start
                self.models.release_job_slot(brand_id, job_name)
            return 200, self.describe(brand_id, job_name)
        manifest_key = self._write_manifest(manifest)
        request = self.create_request(brand_id, job_name, manifest.manifest_id, manifest_key, overrides or {})
        try:
            self.jobs.create(request)
            status = 201
        except TrainingJobAlreadyExists:
            status = 200
        except Exception:
            self.models.release_job_slot(brand_id, job_name)
            raise
        self.models.record_job_start(
            brand_id,
            job_name,
            JobStart(
                manifest_id=manifest.manifest_id,
                manifest_key=manifest_key,
                created_at=time.time(),
                counts=manifest.counts,
            ),
        )
        log.info("training job started", extra={"brand_id": brand_id, "job_name": job_name})
        return status, self.describe(brand_id, job_name)

    def job_name(self, brand_id: str, manifest_id: str) -> str:
        return f"{self.settings.job_prefix}-{brand_id}-{manifest_id[:12]}"

    def _release_if_finished(self, brand_id: str, name: str) -> bool:
        """A slot whose job has ended (its end event lost or late) is freed, so the brand is never stuck."""
        try:
            finished = self.jobs.describe(name).finished
        except TrainingJobMissing:
            finished = True
        if finished:
            self.models.release_job_slot(brand_id, name)
        return finished

    # -- the dataset check and the manifest -----------------------------------------------------------------
    def _freeze(self, brand_id: str) -> Manifest:
        dataset = self.datasets.summary(brand_id)
        names = dataset.categories
        entries = self.datasets.entries(brand_id)
        counts = _counts(names, entries)
        problems = self._check(names, counts)
        if problems:
            raise DatasetNotReady(
                f"brand {brand_id!r} cannot be trained yet: " + "; ".join(problems), details={"problems": problems}
            )
        items = tuple(
            ManifestItem(
                pair_id=e.pair_id,
                image=keys.relative_to_brand(brand_id, e.image_key),
                annotation=keys.relative_to_brand(brand_id, e.annotation_key),
                sha256=keys.object_digest(e.image_key),
            )
            for e in entries
        )
        policy = self.models.policy(brand_id)
        rules = policy.classes if policy else {}
        categories = tuple(
            Category(cid, name, _role(rules[name].role) if name in rules else None)
            for cid, name in sorted(names.items())
        )
        return Manifest.frozen(brand_id, categories, items, counts)

    def _check(self, names: Mapping[int, str], counts: dict[str, Any]) -> list[str]:
        minimum = self.settings.min_images_per_class
        problems = []
        if counts["images"] == 0:
            problems.append("the dataset has no accepted images")
        if len(names) < self.settings.min_classes:
            problems.append(f"the dataset has {len(names)} classes, at least {self.settings.min_classes} are needed")
        for name, count in counts["classes"].items():
            if count["images"] < minimum:
                problems.append(f"class '{name}' has {count['images']} images, at least {minimum} are needed")
        return problems

    def _write_manifest(self, manifest: Manifest) -> str:
        """Write the manifest and SageMaker's ManifestFile naming it and its objects: two objects whatever the
        dataset's size, the same bytes on a retry, written side by side (the request waits for one S3 round trip,
        not two; no job exists before both are written). Returns the manifest's key."""
        bucket, brand_id = self.settings.dataset_bucket, manifest.brand_id
        manifest_key = keys.manifest_key(brand_id, manifest.manifest_id)
        listing = manifest.channel_file(f"s3://{bucket}/{keys.dataset_prefix(brand_id)}")
        files: dict[str, bytes] = {
            manifest_key: manifest.encode(),
            keys.channel_manifest_key(brand_id, manifest.manifest_id): json.dumps(listing).encode(),
        }
        with ThreadPoolExecutor(len(files)) as pool:
            writes = [pool.submit(self._put_json, key, body) for key, body in files.items()]
        for write in writes:
            write.result()
        return manifest_key

    def _put_json(self, key: str, body: bytes) -> None:
        self.store.put(self.settings.dataset_bucket, key, body, content_type="application/json")

    def create_request(
        self, brand_id: str, job_name: str, manifest_id: str, manifest_key: str, overrides: dict[str, str]
    ) -> dict[str, Any]:
        s = self.settings
        hyperparameters = {**overrides, "brand_id": brand_id, "manifest_key": manifest_key}
        request: dict[str, Any] = {
            "TrainingJobName": job_name,
            "AlgorithmSpecification": {
                "TrainingImage": s.training_image_uri,
                "TrainingInputMode": "File",
                "MetricDefinitions": [dict(m) for m in METRIC_DEFINITIONS],
            },
            "RoleArn": s.training_role_arn,
            "HyperParameters": hyperparameters,
            "InputDataConfig": [
                {
                    "ChannelName": TRAINING_CHANNEL,
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "ManifestFile",
                            "S3Uri": f"s3://{s.dataset_bucket}/{keys.channel_manifest_key(brand_id, manifest_id)}",
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "ContentType": "application/x-image",
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{s.artifacts_bucket}/{brand_id}/"},
            "ResourceConfig": {
                "InstanceType": s.training_instance_type,
                "InstanceCount": 1,
                "VolumeSizeInGB": s.training_volume_gb,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": s.training_max_seconds},
            # The container reaches nothing (its image carries every weight and font it needs); SageMaker alone
            # moves the channel in and the output out. The IAM policy only lets the function create such jobs.
            "EnableNetworkIsolation": True,
            "EnableManagedSpotTraining": s.training_use_spot,
            "CheckpointConfig": {
                "S3Uri": f"s3://{s.artifacts_bucket}/{brand_id}/checkpoints/{job_name}/",
                "LocalPath": CHECKPOINT_DIR,
            },
            "Tags": [
                {"Key": "brand", "Value": brand_id},
                {"Key": "deployment", "Value": s.job_prefix},
                {"Key": "manifest", "Value": manifest_id},
            ],
        }
        if s.training_use_spot:
            request["StoppingCondition"]["MaxWaitTimeInSeconds"] = max(
                s.training_max_wait_seconds, s.training_max_seconds
            )
        return request

    # -- GET /brands/{brandId}/training-jobs/{jobId} --------------------------------------------------------
    def describe(self, brand_id: str, job_name: str) -> dict[str, Any]:
        keys.check_brand_id(brand_id)
        record = self.models.job(brand_id, job_name)
        if record is None or not job_name.startswith(f"{self.settings.job_prefix}-{brand_id}-"):
            raise NotFound(f"brand {brand_id!r} has no training job {job_name!r}")
        answer: dict[str, Any] = {
            "job_name": job_name,
            "brand_id": brand_id,
            "manifest_key": record.manifest_key or None,
            "state": record.state,
            "counts": record.counts,
        }
        try:
            live = self.jobs.describe(job_name)
        except TrainingJobMissing:
            live = None
        if live is not None:
            answer["state"] = record.state if record.ended else live.status
            answer["secondary_status"] = live.secondary_status
            if "epoch" in live.metrics:
                answer["progress"] = {
                    "epoch": int(live.metrics["epoch"]),
                    "epochs": int(live.metrics.get("epochs", 0)) or None,
                    "map50": live.metrics.get("validation:map50"),
                }
            if live.failure_reason:
                answer["failure_reason"] = live.failure_reason
        if record.ended:  # the promotion handler has recorded the outcome (version, gate) as a whole
            answer.update(_outcome(record))
        return answer


def _counts(names: Mapping[int, str], entries: list[DatasetEntry]) -> dict[str, Any]:
    """The frozen dataset's counts, from the entries it freezes: images, and each class's images and boxes."""
    images: Counter[int] = Counter()
    boxes: Counter[int] = Counter()
    for entry in entries:
        images.update(cid for cid, n in entry.class_boxes.items() if n > 0)
        boxes.update(entry.class_boxes)
    classes = {name: {"images": images[cid], "boxes": boxes[cid]} for cid, name in sorted(names.items())}
    return {"images": len(entries), "classes": classes}


def _outcome(record: JobRecord) -> dict[str, Any]:
    """What the promotion recorded about a job that ended, as the job route reports it."""
    fields: dict[str, Any] = {
        "failure_reason": record.failure_reason,
        "metrics": dict(record.metrics),
        "version": record.version,
        "gate": dict(record.gate),
    }
    return {name: value for name, value in fields.items() if value not in (None, "", {})}


def _role(value: str | None) -> Role | None:
    return value if value in ROLES else None  # type: ignore[return-value]
