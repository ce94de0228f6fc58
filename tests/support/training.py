"""Helpers for the training program's tests: a SageMaker-shaped tree, a network guard, the tiny run's shape."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from authentic.cli.synthetic import write_training_channel

TINY_IMAGES = 16
TINY_DUPLICATES = 2
TINY_IMGSZ = 96
TINY_HYPERPARAMETERS = {
    "epochs": "1",
    "imgsz": str(TINY_IMGSZ),
    "batch": "8",
    "min_images_per_class": "3",
    "seed": "7",
    "brand_id": "acme",
    "manifest_key": "acme/manifests/tiny.json",
}


@dataclass
class SocketGuard:
    """Every outbound connection or name lookup attempted while active, refused."""

    attempts: list[str] = field(default_factory=list)

    def refuse(self, what: str) -> OSError:
        self.attempts.append(what)
        return OSError(f"network access attempted during an offline test: {what}")


@contextlib.contextmanager
def no_network() -> Iterator[SocketGuard]:
    guard = SocketGuard()

    def connect(self: socket.socket, address: Any) -> None:
        raise guard.refuse(f"connect {address!r}")

    def connect_ex(self: socket.socket, address: Any) -> int:
        raise guard.refuse(f"connect_ex {address!r}")

    def sendto(self: socket.socket, *args: Any) -> int:
        raise guard.refuse(f"sendto {args[-1]!r}")

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        raise guard.refuse(f"create_connection {address!r}")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> list[Any]:
        raise guard.refuse(f"getaddrinfo {host!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(socket.socket, "sendto", sendto)
        mp.setattr(socket, "create_connection", create_connection)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        yield guard


def make_ml_root(root: Path, hyperparameters: dict[str, str] | None = None, *, n_images: int = TINY_IMAGES) -> Path:
    """A SageMaker-shaped tree with a synthetic training channel and the tiny run's hyperparameters."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    params = dict(TINY_HYPERPARAMETERS if hyperparameters is None else hyperparameters)
    (config / "hyperparameters.json").write_text(json.dumps(params))
    (config / "inputdataconfig.json").write_text(
        json.dumps({"training": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}})
    )
    write_training_channel(
        root / "input" / "data" / "training",
        n_images=n_images,
        seed=3,
        image_size=160,
        brand_id="acme",
        duplicates=TINY_DUPLICATES,
    )
    return root


@dataclass(frozen=True)
class TrainingRun:
    ml_root: Path
    exit_code: int
    stdout: str
    network_attempts: tuple[str, ...]

    @property
    def model_dir(self) -> Path:
        return self.ml_root / "model"
