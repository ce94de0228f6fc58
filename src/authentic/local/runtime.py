"""The embedded default: the whole platform on one machine, no AWS account, no Docker, under AWS's rules.

moto's server (127.0.0.1, a free port) stands in for S3, DynamoDB and SQS, and boto3 reaches it through
AWS_ENDPOINT_URL. IAM is enforced as AWS enforces it: every function, the SQS event source, the training job and
the endpoint act as local principals holding exactly the policies the synthesized templates give their roles
(`authentic.local.iam`), and a call their deployed role would be refused is refused here. The rest of AWS is
played here, at the edges only, with its limits:
- API Gateway: `gateway.py` (10 MB bodies, the 29 s integration timeout, proxy events to the wired handlers);
- Lambda: `functions.py` (instances, concurrency, timeouts, 6 MB payloads, each function's credentials);
- S3 → SQS → Lambda: moto sends the uploads bucket's notifications to the queue; pollers hand batches to the
  ingest handler as SQS events, several batches at once as the event source mapping does, and delete what it
  did not report as failed (redrive to the DLQ as SQS);
- SageMaker: `sagemaker.py` runs training jobs for real and serves the multi-model endpoint through the
  inference container's server, authorizing each call; a job's end becomes the EventBridge event for the
  promotion handler.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authentic import wiring
from authentic.aws import clients
from authentic.local import fidelity
from authentic.local.background import BackgroundServer
from authentic.local.events import sqs_event, training_state_change
from authentic.local.functions import Functions, InvocationError, Throttled
from authentic.local.gateway import create_gateway
from authentic.local.iam import principals, templates
from authentic.local.iam.enforcer import Enforcer
from authentic.local.iam.evaluator import evaluator
from authentic.local.iam.policies import ACCOUNT, REGION, Assembly
from authentic.local.provision import Provisioned, provision
from authentic.local.tap import GatewayTap
from authentic.local.trainer import LocalJob
from authentic.settings import Settings

log = logging.getLogger(__name__)

ENDPOINT_NAME = "authentic-local"
# A batch that failed is received again after the queue's visibility timeout (six times the function's, as AWS
# advises): twelve minutes, too long to wait on one machine, so a failed batch is made visible again after this.
_RETRY_SECONDS = 5


# The local names of the stateful stack's resources (the runtime creates them; the templates' policies resolve
# to them), and of what no function's environment names.
LOCAL_NAMES: dict[str, Any] = {
    "uploads_bucket": "authentic-uploads",
    "dataset_bucket": "authentic-dataset",
    "artifacts_bucket": "authentic-artifacts",
    "live_bucket": "authentic-live-models",
    "table_name": "authentic",
    "training_image_uri": "local/authentic-training:latest",
    "training_role_arn": f"arn:aws:iam::{ACCOUNT}:role/authentic-training",
}
EXTRA_NAMES = {
    "UploadNotificationsQueue": "authentic-uploads",
    "UploadNotificationsDeadLetterQueue": "authentic-uploads-dlq",
    "HostingExecutionRole": "authentic-hosting",
}


def consumer_event(source: wiring.EventSource) -> wiring.Event:
    """The wiring's subscription to an event source (the CDK stack reads the same table)."""
    (event,) = [event for event in wiring.EVENTS if event.source is source]
    return event


def consumer(source: wiring.EventSource) -> str:
    """The function the wiring subscribes to an event source."""
    return consumer_event(source).function


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
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}
        self.functions = Functions()
        self.tap = GatewayTap()  # what tests see of the API's requests, and the faults they inject
        self.jobs_ended: list[LocalJob] = []

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> LocalRuntime:
        from authentic.local.moto_server import MotoServer  # noqa: PLC0415

        self.root.mkdir(parents=True, exist_ok=True)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        moto_port = free_port()
        fidelity.apply()  # what AWS refuses and moto lets through, refused here too
        self._moto = MotoServer(port=moto_port, s3_latency_seconds=self.s3_latency_ms / 1000).start()
        # moto's backends live in the process, not in the server: a runtime started after another in the same
        # process (tests) would find the earlier one's users, tables and buckets. Each runtime starts empty.
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{moto_port}/moto-api/reset", method="POST"), timeout=30
        ).close()
        self.settings = Settings(**{**LOCAL_NAMES, "endpoint_name": ENDPOINT_NAME, **self.overrides})
        sagemaker_port = free_port()
        self.aws_endpoint_url = f"http://127.0.0.1:{moto_port}"
        self._set_env(
            {
                "AWS_ENDPOINT_URL": self.aws_endpoint_url,
                "AWS_ENDPOINT_URL_SAGEMAKER": f"http://127.0.0.1:{sagemaker_port}",
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{sagemaker_port}",
                "AWS_ACCESS_KEY_ID": "bootstrap",
                "AWS_SECRET_ACCESS_KEY": "bootstrap",
                "AWS_SESSION_TOKEN": "",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "POWERTOOLS_SERVICE_NAME": "authentic-local",
                "POWERTOOLS_METRICS_NAMESPACE": "AuthenticLocal",
                "POWERTOOLS_METRICS_DISABLED": "true" if self.quiet else "false",
                "POWERTOOLS_LOG_LEVEL": "WARNING" if self.quiet else "INFO",
                **self.settings.to_env(),
            }
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        clients.clear()
        self._enforce_iam()
        self.provisioned = provision(self.settings)
        self._notify_queue(self.provisioned)
        Enforcer.enable()  # from here on, every call is authorized as AWS would authorize it
        self._start_inference()
        self._start_sagemaker(sagemaker_port)
        self._start_gateway()
        self._running.set()
        consumers = consumer_event(wiring.EventSource.UPLOADS_CREATED).max_concurrency or 1
        for index in range(consumers):
            self._spawn(self._poll_uploads, f"uploads-poller-{index}")
        log.info("local runtime up: API %s", self.api_url)
        return self

    def _enforce_iam(self) -> None:
        """Create one local principal per role of the synthesized templates, holding exactly its policies, and
        an administrator for the runtime's own plumbing; the functions act as their principals."""
        assembly = Assembly(
            templates.load(), self.settings.to_env(), endpoint_url=self.aws_endpoint_url, extra_names=EXTRA_NAMES
        )
        self.principals = principals.create(clients.client("iam"), assembly)
        admin = self.principals.admin
        self._set_env({"AWS_ACCESS_KEY_ID": admin.access_key_id, "AWS_SECRET_ACCESS_KEY": admin.secret_access_key})
        clients.clear()
        self.enforcer = Enforcer(evaluator()).install()
        self.functions = Functions({name: p.credentials for name, p in self.principals.functions.items()})

    def describe(self) -> dict[str, Any]:
        """What an operator (or a test) needs to act as the runtime's parts: the AWS endpoint, the resources'
        local names and each function's credentials (a principal holding exactly its role's policy)."""
        return {
            "api_url": self.api_url,
            "aws_endpoint_url": self.aws_endpoint_url,
            "region": REGION,
            "account": ACCOUNT,
            "resources": {
                "uploads_bucket": self.settings.uploads_bucket,
                "dataset_bucket": self.settings.dataset_bucket,
                "artifacts_bucket": self.settings.artifacts_bucket,
                "live_bucket": self.settings.live_bucket,
                "table": self.settings.table_name,
            },
            "functions": {name: p.to_json() for name, p in self.principals.functions.items()},
            "sagemaker_roles": {
                "training": self.principals.training.to_json(),
                "hosting": self.principals.hosting.to_json(),
            },
        }

    def stop(self) -> None:
        self._running.clear()
        Enforcer.disable()
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
            enforcer=self.enforcer,
            training_credentials=self.principals.training.credentials,
            hosting_credentials=self.principals.hosting.credentials,
        )
        self._servers.append(BackgroundServer(self.sagemaker.app, port=port).start())

    def _start_gateway(self) -> None:
        self._gateway = BackgroundServer(create_gateway(self.functions, self.tap), port=self.api_port).start()
        self._servers.append(self._gateway)

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- S3 → SQS → ingest ----------------------------------------------------------------------------------
    def _poll_uploads(self) -> None:
        """One of the event source mapping's pollers: it receives with the ingest function's role, as AWS does."""
        ingest = consumer(wiring.EventSource.UPLOADS_CREATED)
        while self._running.is_set():
            try:
                with clients.acting_as(self.functions.credentials(ingest)):
                    out = clients.client("sqs").receive_message(
                        QueueUrl=self.provisioned.queue_url,
                        MaxNumberOfMessages=10,
                        WaitTimeSeconds=1,
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
            with self._busy_lock:
                self._busy += 1
            try:
                self._deliver(ingest, messages)
            finally:
                with self._busy_lock:
                    self._busy -= 1

    def _deliver(self, function: str, messages: list[dict[str, Any]]) -> None:
        event = sqs_event([self._complete(m["Body"]) for m in messages])
        for record, message in zip(event["Records"], messages, strict=True):
            record["messageId"] = message["MessageId"]
            record["receiptHandle"] = message["ReceiptHandle"]
        try:
            result = self.functions.invoke(function, event)
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Throttled:
            failed = {m["MessageId"] for m in messages}  # retried, as the event source mapping does
        except InvocationError:
            log.exception("the ingest function failed for a whole batch")
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        again = [m for m in messages if m["MessageId"] in failed]
        with clients.acting_as(self.functions.credentials(function)):
            sqs = clients.client("sqs")
            if done:
                sqs.delete_message_batch(
                    QueueUrl=self.provisioned.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
            if again:  # received again soon; after MAX_RECEIVE_COUNT receives, the dead-letter queue
                sqs.change_message_visibility_batch(
                    QueueUrl=self.provisioned.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": _RETRY_SECONDS}
                        for i, m in enumerate(again)
                    ],
                )

    def _complete(self, body: str) -> str:
        """moto's notifications lack `versionId` and `sequencer`, which S3 sends for a versioned bucket: add them
        (as the administrator: this is the runtime playing S3's part, not a function's call)."""
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
            if waiting == 0 and self._busy == 0:
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
