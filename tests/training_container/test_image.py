"""What can be checked of the training image without building it: its pins, their resolution against the
pinned torch, the Dockerfile's contract with SageMaker, and the entry point run as a process."""

from __future__ import annotations

import importlib.metadata as metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "containers" / "training"


def pins(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, version = line.split("==")
            out[canonicalize_name(name)] = version.strip()
    return out


def test_every_requirement_is_pinned_exactly() -> None:
    for raw in (IMAGE / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.+-]*", line), line


def test_pins_agree_with_the_lock_the_constraints_and_pyproject() -> None:
    image = pins(IMAGE / "requirements.txt")
    lock = pins(REPO / "requirements.lock")
    constraints = pins(REPO / "constraints.txt")
    for name, version in image.items():
        assert lock.get(name) == version, f"{name}=={version} but requirements.lock has {lock.get(name)}"
    for name, version in constraints.items():
        assert image[name] == version, f"{name} must move with constraints.txt ({version})"
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["training"]
    for spec in extra:
        requirement = Requirement(spec)
        assert image[canonicalize_name(requirement.name)] in requirement.specifier, spec


def test_the_pins_resolve_against_the_pinned_torch() -> None:
    """Walk the dependency closure of the image's requirements through the installed (locked) distributions:
    every declared dependency must be installed at a version its dependents accept."""
    environment = {k: str(v) for k, v in default_environment().items()}
    lock = pins(REPO / "requirements.lock")
    todo = list(pins(IMAGE / "requirements.txt"))
    seen: set[str] = set()
    problems: list[str] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        version = metadata.version(name)
        if name in lock and lock[name] != version:
            problems.append(f"{name}: installed {version}, locked {lock[name]}")
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker and not requirement.marker.evaluate({**environment, "extra": ""}):
                continue
            dependency = canonicalize_name(requirement.name)
            try:
                installed = metadata.version(dependency)
            except metadata.PackageNotFoundError:
                problems.append(f"{name} needs {spec}, which is not installed")
                continue
            if not requirement.specifier.contains(installed, prereleases=True):
                problems.append(f"{name} needs {spec}, installed {installed}")
            todo.append(dependency)
    assert "torch" in seen and "torchvision" in seen
    assert problems == []


def test_dockerfile_follows_the_sagemaker_contract() -> None:
    text = (IMAGE / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", text, re.M)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base.group(1))
    for env in ("PYTHONUNBUFFERED=1", "YOLO_OFFLINE=1", "YOLO_AUTOINSTALL=0", "ORT_DISABLE_TELEMETRY=1"):
        assert env in text, env
    assert "COPY containers/training/train.py /opt/program/train" in text
    assert "PATH=/opt/program:$PATH" in text
    assert 'ARG PRETRAINED_WEIGHTS_URL=""' in text
    assert "-c /tmp/pins/requirements.lock" in text
    for source in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for path in source.split():
            assert (REPO / path).exists(), f"the Dockerfile copies {path}, which does not exist"


def test_entry_point_runs_as_a_process_and_fails_cleanly_on_an_empty_job(tmp_path: Path) -> None:
    script = IMAGE / "train.py"
    assert script.read_text().startswith("#!/usr/bin/env python3")
    result = subprocess.run(
        [sys.executable, str(script), "train", "--ml-root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert (tmp_path / "output" / "failure").read_text().startswith("the training channel is empty")
