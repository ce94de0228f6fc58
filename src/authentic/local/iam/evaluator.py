"""The evaluator: @cloud-copilot/iam-simulate (npm, pinned in tools/iam-simulate, installed by `make install`), an
established IAM policy simulator that evaluates every condition operator and checks each action and context key
against AWS's service authorization data, in one long-lived Node process (tools/iam-simulate/sidecar.mjs). It
is AGPL-3.0 and runs unmodified as a separate program. See docs/decisions.md for why not moto's own evaluator.

    evaluator().decide(policies=[doc], principal=arn, action="s3:GetObject", resource="arn:aws:s3:::b/k",
                       context={"aws:SecureTransport": "true"})   # "Allowed" | "ImplicitlyDenied" | ...
"""

from __future__ import annotations

import atexit
import itertools
import json
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from authentic.local.iam.policies import ACCOUNT

SIDECAR = Path(__file__).resolve().parents[4] / "tools" / "iam-simulate" / "sidecar.mjs"
ALLOWED = "Allowed"


class EvaluatorUnavailable(RuntimeError):
    """Node or the pinned evaluator is missing here."""


class EvaluatorError(RuntimeError):
    """The evaluator refused the request itself: an unknown action, a context key the action does not have."""


class IamSimulate:
    """One Node process evaluating one request at a time (a decision takes about a millisecond)."""

    def __init__(self, sidecar: Path = SIDECAR) -> None:
        node = shutil.which("node")
        modules = sidecar.parent / "node_modules" / "@cloud-copilot" / "iam-simulate"
        if node is None or not modules.is_dir():
            raise EvaluatorUnavailable(
                "the local IAM evaluator needs Node.js and tools/iam-simulate/node_modules: run `make install` "
                "(it runs `npm ci` there)"
            )
        self._process = subprocess.Popen(
            [node, str(sidecar)],
            cwd=sidecar.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()
        self._ids = itertools.count()

    def decide(
        self,
        *,
        policies: Sequence[Mapping[str, Any]],
        principal: str,
        action: str,
        resource: str,
        context: Mapping[str, Any] | None = None,
        account_id: str = ACCOUNT,
        resource_policy: Mapping[str, Any] | None = None,
    ) -> str:
        request: dict[str, Any] = {
            "id": next(self._ids),
            "principal": principal,
            "action": action,
            "resource": resource,
            "accountId": account_id,
            "context": dict(context or {}),
            "identityPolicies": list(policies),
        }
        if resource_policy is not None:
            request["resourcePolicy"] = dict(resource_policy)
        with self._lock:
            stdin, stdout = self._pipes()
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            line = stdout.readline()
        if not line:
            raise EvaluatorUnavailable(f"the IAM evaluator exited (code {self._process.poll()})")
        answer = json.loads(line)
        if answer["result"] == "Error":
            raise EvaluatorError(f"{action} on {resource}: {json.dumps(answer.get('errors'))[:600]}")
        return str(answer["result"])

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        if self._process.stdin is None or self._process.stdout is None:  # pragma: no cover - Popen with PIPE
            raise EvaluatorUnavailable("the IAM evaluator has no pipes")
        return self._process.stdin, self._process.stdout

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


_shared: list[IamSimulate] = []
_shared_lock = threading.Lock()


def evaluator() -> IamSimulate:
    """The process's evaluator, started on first use and stopped at exit."""
    with _shared_lock:
        if not _shared or not _shared[0].alive:
            _shared[:] = [IamSimulate()]
            atexit.register(_shared[0].close)
        return _shared[0]
