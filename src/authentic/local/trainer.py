"""Run a SageMaker training job on this machine: the training container's entry point in a subprocess over a
SageMaker-shaped /opt/ml tree, its channel downloaded from S3, its artifact uploaded back as SageMaker does."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authentic.aws.clients import Credentials, acting_as, client
from authentic.contracts import MODEL_ARTIFACT, OUTPUT_ARTIFACT
from authentic.local.iam.policies import ACCOUNT, REGION
from authentic.training.progress import METRIC_DEFINITIONS

log = logging.getLogger(__name__)

# What the training image's `train` shim runs, as a module of the installed package.
ENTRY_POINT = ("-m", "authentic.training.container")
_METRICS = [(m["Name"], re.compile(m["Regex"])) for m in METRIC_DEFINITIONS]


@dataclass
class LocalJob:
    """One training job as the local SageMaker stand-in tracks it (DescribeTrainingJob's fields)."""

    request: dict[str, Any]
    status: str = "InProgress"
    secondary_status: str = "Starting"
    failure_reason: str = ""
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    artifact_uri: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def name(self) -> str:
        return str(self.request["TrainingJobName"])

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "TrainingJobName": self.name,
            "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{self.name.lower()}",
            "TrainingJobStatus": self.status,
            "SecondaryStatus": self.secondary_status,
            "HyperParameters": self.request.get("HyperParameters", {}),
            "AlgorithmSpecification": self.request.get("AlgorithmSpecification", {}),
            "RoleArn": self.request.get("RoleArn", ""),
            "ResourceConfig": self.request.get("ResourceConfig", {}),
            "StoppingCondition": self.request.get("StoppingCondition", {}),
            "CreationTime": self.created_at,
            "ModelArtifacts": {"S3ModelArtifacts": self.artifact_uri},
            "FinalMetricDataList": [
                {"MetricName": k, "Value": v, "Timestamp": time.time()} for k, v in self.metrics.items()
            ],
        }
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        if self.started_at:
            out["TrainingStartTime"] = self.started_at
        if self.ended_at:
            out["TrainingEndTime"] = self.ended_at
            out["LastModifiedTime"] = self.ended_at
        return out


def run_job(
    job: LocalJob, root: Path, on_end: Callable[[LocalJob], None], *, credentials: Credentials | None = None
) -> threading.Thread:
    """Start the job in a background thread; `on_end` gets the job once it has ended, whatever the outcome.
    The channel is read and the artifact written with `credentials`: the job's execution role."""

    def run() -> None:
        with acting_as(credentials):
            _run(job, root, on_end)

    thread = threading.Thread(target=run, name=f"train-{job.name}", daemon=True)
    thread.start()
    return thread


def _run(job: LocalJob, root: Path, on_end: Callable[[LocalJob], None]) -> None:
    ml = root / job.name
    try:
        _prepare(job, ml)
        job.secondary_status, job.started_at = "Training", time.time()
        code = _execute(job, ml)
        if code == 0:
            job.secondary_status = "Uploading"
            job.artifact_uri = _upload(job, ml)
            job.status = job.secondary_status = "Completed"
        elif job.status != "Stopped":
            failure = ml / "output" / "failure"
            reason = failure.read_text().strip() if failure.exists() else f"the training program exited with {code}"
            job.failure_reason = f"AlgorithmError: {reason}"
            job.status = job.secondary_status = "Failed"
    except Exception as exc:  # the job must end in a state, whatever broke
        log.exception("local training job %s failed to run", job.name)
        job.failure_reason = f"ClientError: {exc}"
        job.status = job.secondary_status = "Failed"
    job.ended_at = time.time()
    on_end(job)


def _prepare(job: LocalJob, ml: Path) -> None:
    config = ml / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (ml / "model").mkdir(exist_ok=True)
    (ml / "output" / "data").mkdir(parents=True, exist_ok=True)
    (ml / "checkpoints").mkdir(exist_ok=True)
    request = job.request
    (config / "hyperparameters.json").write_text(json.dumps(request.get("HyperParameters", {})))
    channels = {}
    job.secondary_status = "Downloading"
    s3 = client("s3")
    for channel in request.get("InputDataConfig", []):
        name = channel["ChannelName"]
        channels[name] = {
            "ContentType": channel.get("ContentType", ""),
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        bucket, prefix = channel["DataSource"]["S3DataSource"]["S3Uri"][5:].split("/", 1)
        target = ml / "input" / "data" / name
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                path = target / obj["Key"][len(prefix) :]
                path.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, obj["Key"], str(path))
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))


def _execute(job: LocalJob, ml: Path) -> int:
    limit = float(job.request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 24 * 3600))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0"}
    env.pop("AWS_ENDPOINT_URL", None)  # the container reads only its /opt/ml tree
    job.log_path = ml / "train.log"
    with job.log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, *ENTRY_POINT, "train", "--ml-root", str(ml)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=str(ml),
        )
        timer = threading.Timer(limit, _stop, args=(job, process))
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                log_file.write(line)
                log_file.flush()
                for name, pattern in _METRICS:
                    match = pattern.search(line)
                    if match:
                        job.metrics[name] = float(match.group(1))
            return process.wait()
        finally:
            timer.cancel()


def _stop(job: LocalJob, process: subprocess.Popen[str]) -> None:
    job.status = job.secondary_status = "Stopped"
    job.failure_reason = "MaxRuntimeExceeded: the job ran past MaxRuntimeInSeconds"
    process.kill()


def _upload(job: LocalJob, ml: Path) -> str:
    """Pack /opt/ml/model as model.tar.gz (and output/data as output.tar.gz) where SageMaker puts them."""
    output = job.request["OutputDataConfig"]["S3OutputPath"].rstrip("/") + f"/{job.name}/output/"
    bucket, prefix = output[5:].split("/", 1)
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key=prefix + MODEL_ARTIFACT, Body=_tar(ml / "model"))
    data = ml / "output" / "data"
    if any(data.iterdir()):
        s3.put_object(Bucket=bucket, Key=prefix + OUTPUT_ARTIFACT, Body=_tar(data))
    return f"s3://{bucket}/{prefix}{MODEL_ARTIFACT}"


def _tar(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(folder)))
    return buffer.getvalue()
