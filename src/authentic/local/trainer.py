"""Run a SageMaker training job on this machine: the training container's entry point in a subprocess over a
SageMaker-shaped /opt/ml tree, its channels downloaded from S3, its artifact uploaded back as SageMaker does.

Channels (File mode) are downloaded as SageMaker does for the two S3 data types it implements here:
`S3Prefix` (every object under the prefix) and `ManifestFile` (exactly the objects the manifest lists, each
under its path relative to the manifest's prefix). Any other data type is refused when the job is created.
"""

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
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from authentic.aws.clients import Credentials, acting_as, client
from authentic.contracts import MODEL_ARTIFACT, OUTPUT_ARTIFACT
from authentic.local.iam.policies import ACCOUNT, REGION
from authentic.training.progress import METRIC_DEFINITIONS

log = logging.getLogger(__name__)

# What the training image's `train` shim runs, as a module of the installed package.
ENTRY_POINT = ("-m", "authentic.training.container")
_METRICS = [(m["Name"], re.compile(m["Regex"])) for m in METRIC_DEFINITIONS]
S3_DATA_TYPES = ("S3Prefix", "ManifestFile")
_DOWNLOAD_THREADS = 8


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


def check_channels(request: dict[str, Any]) -> None:
    """Refuse, as a CreateTrainingJob validation error would, a channel this stand-in cannot download."""
    for channel in request.get("InputDataConfig", []):
        source = channel.get("DataSource", {}).get("S3DataSource", {})
        kind = source.get("S3DataType")
        if kind not in S3_DATA_TYPES:
            raise ValueError(
                f"channel {channel.get('ChannelName')!r}: the local SageMaker implements S3DataType "
                f"{' and '.join(S3_DATA_TYPES)}, not {kind!r}"
            )
        if not str(source.get("S3Uri", "")).startswith("s3://"):
            raise ValueError(f"channel {channel.get('ChannelName')!r}: S3Uri must be an s3:// URI")


def download_channels(request: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """Download every channel of the request under `data_dir/{channel}/`; returns inputdataconfig.json."""
    check_channels(request)
    s3 = client("s3")
    config = {}
    for channel in request.get("InputDataConfig", []):
        name = channel["ChannelName"]
        config[name] = {
            "ContentType": channel.get("ContentType", ""),
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        source = channel["DataSource"]["S3DataSource"]
        bucket, key = _split(source["S3Uri"])
        if source["S3DataType"] == "ManifestFile":
            bucket, objects = _manifest_objects(s3, bucket, key)
        else:
            objects = _prefix_objects(s3, bucket, key)
        _download_all(s3, bucket, [(key, data_dir / name / path) for key, path in objects])
    return config


def _download_all(s3: Any, bucket: str, objects: list[tuple[str, Path]]) -> None:
    """Download in parallel, as SageMaker does; the first object that cannot be read fails the job at once."""
    with ThreadPoolExecutor(_DOWNLOAD_THREADS) as pool:
        futures = [pool.submit(_download, s3, bucket, key, path) for key, path in objects]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _prefix_objects(s3: Any, bucket: str, prefix: str) -> list[tuple[str, str]]:
    """(key, path in the channel) of every object under the prefix."""
    found: list[tuple[str, str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.extend((o["Key"], o["Key"][len(prefix) :]) for o in page.get("Contents", []))
    return found


def _manifest_objects(s3: Any, bucket: str, key: str) -> tuple[str, list[tuple[str, str]]]:
    """The bucket and (key, path in the channel) of every object a ManifestFile lists: `[{"prefix": "s3://b/p/"},
    "relative/key", ...]`, each relative key appended to the prefix and kept as its path in the channel."""
    listing = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    if not isinstance(listing, list) or not listing or not isinstance(listing[0], dict) or "prefix" not in listing[0]:
        raise ValueError(f"s3://{bucket}/{key} is not a ManifestFile: a JSON array starting with {{'prefix': ...}}")
    source_bucket, prefix = _split(str(listing[0]["prefix"]))
    objects = []
    for relative in listing[1:]:
        path = PurePosixPath(str(relative))
        if not isinstance(relative, str) or not relative or path.is_absolute() or ".." in path.parts:
            raise ValueError(f"s3://{bucket}/{key} lists {relative!r}, which is not a relative object key")
        objects.append((prefix + relative, relative))
    return source_bucket, objects


def _download(s3: Any, bucket: str, key: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _prepare(job: LocalJob, ml: Path) -> None:
    config = ml / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (ml / "model").mkdir(exist_ok=True)
    (ml / "output" / "data").mkdir(parents=True, exist_ok=True)
    (ml / "checkpoints").mkdir(exist_ok=True)
    request = job.request
    (config / "hyperparameters.json").write_text(json.dumps(request.get("HyperParameters", {})))
    job.secondary_status = "Downloading"
    channels = download_channels(request, ml / "input" / "data")
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
