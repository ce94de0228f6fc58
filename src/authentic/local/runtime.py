"""The embedded default: the whole platform on one machine, no AWS account, no Docker.

moto's server (127.0.0.1, a free port) stands in for S3, DynamoDB and SQS, and boto3 reaches it through
AWS_ENDPOINT_URL. The rest of AWS is played here, at the edges only:
- API Gateway: `gateway.py` turns HTTP requests into proxy events for the wired handlers;
- S3 → SQS → Lambda: moto sends the uploads bucket's notifications to the queue; a poller hands batches to
  the ingest handler as SQS events and deletes what it did not report as failed (redrive to the DLQ as SQS);
- SageMaker: `sagemaker.py` runs training jobs for real and serves the multi-model endpoint through the
  inference container's server; a job's end becomes the EventBridge event for the promotion handler.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authentic import wiring
from authentic.aws import clients
from authentic.local.background import BackgroundServer
from authentic.local.events import sqs_event, training_state_change
from authentic.local.gateway import Functions, create_gateway
from authentic.local.provision import Provisioned, provision
from authentic.local.trainer import LocalJob
from authentic.settings import Settings

log = logging.getLogger(__name__)

ENDPOINT_NAME = "authentic-local"
_VISIBILITY_SECONDS = 5


def consumer(source: wiring.EventSource) -> str:
    """The function the wiring subscribes to an event source (the CDK stack reads the same table)."""
    (name,) = [event.function for event in wiring.EVENTS if event.source is source]
    return name


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalRuntime:
    root: Path
    api_port: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    quiet: bool = True
    s3_latency_ms: float = 0.0  # each S3 call waits this long, as S3's would (`moto_server.MotoServer`)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self._threads: list[threading.Thread] = []
        self._servers: list[Any] = []
        self._running = threading.Event()
        self._busy = threading.Event()
        self._saved_env: dict[str, str | None] = {}
        self.functions = Functions()
        self.jobs_ended: list[LocalJob] = []

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> LocalRuntime:
        from authentic.local.moto_server import MotoServer  # noqa: PLC0415

        self.root.mkdir(parents=True, exist_ok=True)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        moto_port = free_port()
        self._moto = MotoServer(port=moto_port, s3_latency_seconds=self.s3_latency_ms / 1000).start()
        self.settings = Settings(
            uploads_bucket="authentic-uploads",
            dataset_bucket="authentic-dataset",
            artifacts_bucket="authentic-artifacts",
            live_bucket="authentic-live-models",
            table_name="authentic",
            endpoint_name=ENDPOINT_NAME,
            training_image_uri="local/authentic-training:latest",
            training_role_arn="arn:aws:iam::000000000000:role/authentic-training",
            **self.overrides,
        )
        sagemaker_port = free_port()
        self._set_env(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
                "AWS_ENDPOINT_URL_SAGEMAKER": f"http://127.0.0.1:{sagemaker_port}",
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{sagemaker_port}",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
                "POWERTOOLS_SERVICE_NAME": "authentic-local",
                "POWERTOOLS_METRICS_NAMESPACE": "AuthenticLocal",
                "POWERTOOLS_METRICS_DISABLED": "true" if self.quiet else "false",
                "POWERTOOLS_LOG_LEVEL": "WARNING" if self.quiet else "INFO",
                **self.settings.to_env(),
            }
        )
        clients.clear()
        self.functions.cold_start()
        self.provisioned = provision(self.settings)
        self._notify_queue(self.provisioned)
        self._start_inference()
        self._start_sagemaker(sagemaker_port)
        self._start_gateway()
        self._running.set()
        self._spawn(self._poll_uploads, "uploads-poller")
        log.info("local runtime up: API %s", self.api_url)
        return self

    def stop(self) -> None:
        self._running.clear()
        for thread in self._threads:
            thread.join(timeout=10)
        for server in reversed(self._servers):
            with contextlib.suppress(Exception):
                server.stop()
        with contextlib.suppress(Exception):
            self._moto.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clients.clear()
        self.functions.cold_start()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        return str(self._gateway.url)

    @property
    def s3_requests(self) -> int:
        """S3 requests moto has served."""
        return self._moto.s3_requests

    # -- parts ----------------------------------------------------------------------------------------------
    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _notify_queue(self, provisioned: Provisioned) -> None:
        sqs = clients.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=provisioned.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        clients.client("s3").put_bucket_notification_configuration(
            Bucket=self.settings.uploads_bucket,
            NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
        )

    def _start_inference(self) -> None:
        from authentic.inference.server import ServerSettings, create_app  # noqa: PLC0415

        cores = os.cpu_count() or 2
        server_settings = ServerSettings(
            host="127.0.0.1",
            port=0,
            workers=max(1, min(2, cores)),
            intra_op_threads=max(1, cores // 2),
            memory_budget_bytes=1024 * 1024 * 1024,
            evict_lru=True,
        )
        self._inference = BackgroundServer(create_app(server_settings)).start()
        self._servers.append(self._inference)

    def _start_sagemaker(self, port: int) -> None:
        from authentic.local.sagemaker import LocalSageMaker  # noqa: PLC0415

        self.sagemaker = LocalSageMaker(
            jobs_root=self.root / "jobs",
            models_root=self.root / "models",
            live_bucket=self.settings.live_bucket,
            endpoint_name=ENDPOINT_NAME,
            inference_url=self._inference.url,
            on_job_end=self._job_ended,
        )
        self._servers.append(BackgroundServer(self.sagemaker.app, port=port).start())

    def _start_gateway(self) -> None:
        self._gateway = BackgroundServer(create_gateway(self.functions), port=self.api_port).start()
        self._servers.append(self._gateway)

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- S3 → SQS → ingest ----------------------------------------------------------------------------------
    def _poll_uploads(self) -> None:
        sqs = clients.client("sqs")
        while self._running.is_set():
            try:
                out = sqs.receive_message(
                    QueueUrl=self.provisioned.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                    VisibilityTimeout=_VISIBILITY_SECONDS,
                    AttributeNames=["All"],
                )
            except Exception:
                if self._running.is_set():
                    log.exception("polling the upload queue failed")
                    time.sleep(1)
                continue
            messages = out.get("Messages", [])
            if not messages:
                continue
            self._busy.set()
            try:
                self._deliver(sqs, messages)
            finally:
                self._busy.clear()

    def _deliver(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        event = sqs_event([self._complete(m["Body"]) for m in messages])
        for record, message in zip(event["Records"], messages, strict=True):
            record["messageId"] = message["MessageId"]
            record["receiptHandle"] = message["ReceiptHandle"]
        try:
            result = self.functions.invoke(consumer(wiring.EventSource.UPLOADS_CREATED), event)
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            log.exception("the ingest handler failed for a whole batch")
            return
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self.provisioned.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )

    def _complete(self, body: str) -> str:
        """moto's notifications lack `versionId` and `sequencer`, which S3 sends for a versioned bucket: add them."""
        message = json.loads(body)
        s3 = clients.client("s3")
        from urllib.parse import unquote_plus  # noqa: PLC0415

        for record in message.get("Records", []):
            obj = record.get("s3", {}).get("object", {})
            if obj.get("versionId") is None:
                head = s3.head_object(Bucket=record["s3"]["bucket"]["name"], Key=unquote_plus(obj["key"]))
                obj["versionId"] = head.get("VersionId")
            obj.setdefault("sequencer", f"{time.time_ns():020X}")
        return json.dumps(message)

    def wait_for_ingest(self, timeout: float = 120.0) -> None:
        """Block until the upload queue is drained and the ingest handler is idle."""
        sqs = clients.client("sqs")
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(
                QueueUrl=self.provisioned.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            waiting = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
            if waiting == 0 and not self._busy.is_set():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.5:
                    return
            else:
                quiet_since = None
            time.sleep(0.2)
        raise TimeoutError(f"ingest did not finish within {timeout:.0f} s")

    # -- SageMaker → EventBridge → promotion ----------------------------------------------------------------
    def _job_ended(self, job: LocalJob) -> None:
        description = job.describe() | {"Tags": job.request.get("Tags", [])}
        event = training_state_change(description)
        if wiring.matches(wiring.training_state_pattern(self.settings.job_prefix), event):
            try:
                self.functions.invoke(consumer(wiring.EventSource.TRAINING_STATE), event)
            except Exception:
                log.exception("the promotion handler failed for %s", job.name)
        self.jobs_ended.append(job)
