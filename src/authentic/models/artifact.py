"""The model artifact (`model.tar.gz`): read its small JSON members without downloading the model."""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from typing import IO, Any

from authentic.contracts import LABELS_FILE, METRICS_FILE
from authentic.errors import InvalidInput


@dataclass(frozen=True)
class ArtifactSummary:
    metrics: dict[str, Any]
    labels: dict[str, Any]
    bytes_read: int


class _Counting:
    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self.count += len(chunk)
        return chunk


def read_summary(stream: IO[bytes]) -> ArtifactSummary:
    """Stream the tar.gz and stop as soon as metrics.json and labels.json have been read."""
    counting = _Counting(stream)
    wanted = {METRICS_FILE: None, LABELS_FILE: None}
    found: dict[str, dict[str, Any]] = {}
    try:
        with tarfile.open(fileobj=counting, mode="r|gz") as tar:  # type: ignore[call-overload]
            for member in tar:
                name = member.name.removeprefix("./")
                if name in wanted and member.isfile():
                    handle = tar.extractfile(member)
                    if handle is not None:
                        found[name] = json.loads(handle.read())
                if len(found) == len(wanted):
                    break
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidInput(f"the model artifact is not a readable tar.gz: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the model artifact holds invalid JSON: {exc}") from exc
    missing = [n for n in wanted if n not in found]
    if missing:
        raise InvalidInput(f"the model artifact has no {' or '.join(missing)}")
    return ArtifactSummary(metrics=found[METRICS_FILE], labels=found[LABELS_FILE], bytes_read=counting.count)
