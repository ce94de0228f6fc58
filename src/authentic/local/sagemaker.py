"""A SageMaker stand-in on localhost for what moto cannot do: training jobs that really train, and a
multi-model endpoint that really infers. boto3 reaches it through AWS_ENDPOINT_URL_SAGEMAKER and
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, so the production adapters (`authentic.adapters.sagemaker`) run unchanged.

Control plane (JSON 1.1, `X-Amz-Target: SageMaker.<Action>`): CreateTrainingJob, DescribeTrainingJob.
Runtime: `POST /endpoints/{name}/invocations` with `X-Amzn-SageMaker-Target-Model`: as SageMaker does, the
target key is fetched from the live-models bucket, unpacked, loaded into the inference container's server
(`POST /models`), then invoked; an unloaded or evicted model is loaded again on demand.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authentic.aws.clients import Credentials, acting_as, client
from authentic.contracts import MODEL_FILE
from authentic.local.iam.enforcer import Enforcer, authorize_sagemaker
from authentic.local.iam.policies import ACCOUNT, REGION
from authentic.local.trainer import LocalJob, check_channels, run_job

log = logging.getLogger(__name__)

CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"


class LocalSageMaker:
    def __init__(
        self,
        *,
        jobs_root: Path,
        models_root: Path,
        live_bucket: str,
        endpoint_name: str,
        inference_url: str,
        on_job_end: Callable[[LocalJob], None],
        enforcer: Enforcer | None = None,
        training_credentials: Credentials | None = None,
        hosting_credentials: Credentials | None = None,
    ) -> None:
        """`enforcer`: authorize every call as SageMaker would (None: no IAM). Training jobs read their channel
        and write their artifact with `training_credentials` (the execution role the job names, as SageMaker
        does), and the endpoint loads live models with `hosting_credentials` (the model's execution role)."""
        self.enforcer = enforcer
        self.training_credentials = training_credentials
        self.hosting_credentials = hosting_credentials
        self.jobs_root = jobs_root
        self.models_root = models_root
        self.live_bucket = live_bucket
        self.endpoint_name = endpoint_name
        self.inference = httpx.Client(base_url=inference_url, timeout=120)
        self.on_job_end = on_job_end
        self.jobs: dict[str, LocalJob] = {}
        self._lock = threading.Lock()
        self._model_locks: dict[str, threading.Lock] = {}
        self.app = Starlette(
            routes=[
                Route("/", self._control_plane, methods=["POST"]),
                Route("/endpoints/{endpoint}/invocations", self._invoke, methods=["POST"]),
            ]
        )

    # -- control plane --------------------------------------------------------------------------------------
    async def _authorize(self, request: Request) -> Response | None:
        if self.enforcer is None:
            return None
        denied = authorize_sagemaker(
            self.enforcer,
            method=request.method,
            path=request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
            headers=dict(request.headers),
            body=await request.body(),
        )
        return None if denied is None else _error(denied[0], str(denied[1]["__type"]), str(denied[1]["message"]))

    async def _control_plane(self, request: Request) -> Response:
        denied = await self._authorize(request)
        if denied is not None:
            return denied
        action = request.headers.get("x-amz-target", "").removeprefix("SageMaker.")
        body = await request.json()
        if action == "CreateTrainingJob":
            return self._create_training_job(body)
        if action == "DescribeTrainingJob":
            job = self.jobs.get(str(body.get("TrainingJobName")))
            if job is None:
                return _error(
                    400, "ValidationException", f"Requested resource not found: {body.get('TrainingJobName')}"
                )
            return JSONResponse(job.describe())
        return _error(400, "UnknownOperationException", f"the local SageMaker does not implement {action or '?'}")

    def _create_training_job(self, body: dict[str, Any]) -> Response:
        name = str(body.get("TrainingJobName", ""))
        try:
            check_channels(body)
        except ValueError as exc:
            return _error(400, "ValidationException", str(exc))
        with self._lock:
            if name in self.jobs:
                return _error(
                    400,
                    "ResourceInUse",
                    "Training job names must be unique within an AWS account and region, and a training job "
                    f"with this name already exists ({name})",
                )
            job = LocalJob(request=body)
            self.jobs[name] = job
        run_job(job, self.jobs_root, self.on_job_end, credentials=self.training_credentials)
        log.info("local training job %s started", name)
        return JSONResponse({"TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name.lower()}"})

    # -- runtime --------------------------------------------------------------------------------------------
    async def _invoke(self, request: Request) -> Response:
        denied = await self._authorize(request)
        if denied is not None:
            return denied
        endpoint = request.path_params["endpoint"]
        if endpoint != self.endpoint_name:
            return _error(400, "ValidationError", f"Endpoint {endpoint} not found.")
        target = request.headers.get("x-amzn-sagemaker-target-model")
        if not target:
            return _error(400, "ValidationError", "this endpoint is a multi-model endpoint: TargetModel is required")
        body = await request.body()
        headers = {"content-type": request.headers.get("content-type", "application/octet-stream")}
        attributes = request.headers.get(CUSTOM_ATTRIBUTES)
        if attributes:
            headers[CUSTOM_ATTRIBUTES] = attributes
        return await run_in_threadpool(self._invoke_sync, target, body, headers)

    def _invoke_sync(self, target: str, body: bytes, headers: dict[str, str]) -> Response:
        name = hashlib.sha256(target.encode()).hexdigest()[:32]
        try:
            self._ensure_loaded(name, target)
        except LookupError as exc:
            return _error(400, "ValidationError", str(exc))
        answer = self.inference.post(f"/models/{name}/invoke", content=body, headers=headers)
        if answer.status_code == 404:  # evicted since: load again, as SageMaker does
            self._ensure_loaded(name, target, force=True)
            answer = self.inference.post(f"/models/{name}/invoke", content=body, headers=headers)
        if answer.status_code != 200:
            return JSONResponse(
                {
                    "message": f'Received client error ({answer.status_code}) from model with message "{answer.text}".',
                    "OriginalStatusCode": answer.status_code,
                    "OriginalMessage": answer.text,
                    "LogStreamArn": "local",
                },
                status_code=424,
                headers={"x-amzn-ErrorType": "ModelError"},
            )
        return Response(answer.content, media_type=answer.headers.get("content-type", "application/json"))

    def _ensure_loaded(self, name: str, target: str, *, force: bool = False) -> None:
        with self._lock:
            lock = self._model_locks.setdefault(name, threading.Lock())
        with lock:
            folder = self.models_root / name
            if not (folder / MODEL_FILE).exists():
                self._download(target, folder)
            if not force and self.inference.get(f"/models/{name}").status_code == 200:
                return
            loaded = self.inference.post("/models", json={"model_name": name, "url": str(folder)})
            if loaded.status_code not in (200, 409):
                raise RuntimeError(f"the inference server refused to load {target}: {loaded.text}")

    def _download(self, target: str, folder: Path) -> None:
        with acting_as(self.hosting_credentials):
            s3 = client("s3")
            try:
                data = s3.get_object(Bucket=self.live_bucket, Key=target)["Body"].read()
            except s3.exceptions.NoSuchKey as exc:
                raise LookupError(f"Could not find model data at s3://{self.live_bucket}/{target}.") from exc
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(folder, filter="data")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"__type": code, "message": message}, status_code=status, headers={"x-amzn-ErrorType": code})
