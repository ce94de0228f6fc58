"""The one Lambda code asset: pinned runtime wheels + the `authentic` domain package + the `lambdas` handlers.

Bundled locally with pip for the Lambda platform (manylinux_2_28 and older x86_64 wheels for the runtime's
CPython, wheels only), so synthesis needs no Docker engine; Docker (the SAM build image) is only the fallback
when local bundling cannot run. The pip settings live in the bundling `environment`: pip reads them
(`PIP_PLATFORM`, ...) in both paths, and CDK hashes them into the asset hash, so changing a target platform
produces a new asset.

The asset hash is computed from exactly what goes into the bundle (the pinned dependencies, the lock file
used as constraints, the source files of both packages), not from the whole repository, so editing a test
or a Dockerfile does not redeploy every function.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"authentic": Path("src/authentic"), "lambdas": Path("lambdas")}
LOCK_FILE = Path("requirements.lock")

# The Lambda runtime the bundle is built for. python3.12 is the oldest Lambda Python runtime on Amazon Linux 2023
# (glibc 2.34): the pinned Pillow 13 and pillow-heif ship only manylinux_2_27/2_28 wheels, which need glibc
# >= 2.27, and python3.11 runs on Amazon Linux 2 (glibc 2.26), where they fail to import. Our code targets
# CPython 3.11 and runs unchanged on 3.12, the nearest runtime that can load the wheels.
RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = RUNTIME.name.removeprefix("python")
ARCHITECTURE = lambda_.Architecture.X86_64
# Newest manylinux first; pip takes a wheel for any listed tag (it does not widen a single --platform itself).
MAX_GLIBC_MINOR = 28
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(MAX_GLIBC_MINOR, 16, -1)),
    "manylinux2014_x86_64",
)
PIP_ENVIRONMENT: Mapping[str, str] = {
    "PIP_PLATFORM": " ".join(PLATFORMS),
    "PIP_ONLY_BINARY": ":all:",
    "PIP_PYTHON_VERSION": PYTHON_VERSION,
    "PIP_IMPLEMENTATION": "cp",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
}
SKIP_NAMES = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo"}


class BundlingError(RuntimeError):
    """The Lambda asset cannot be built from this checkout."""


def runtime_requirements(root: Path = REPO_ROOT) -> list[str]:
    """The pinned runtime dependencies: `[project] dependencies` of pyproject.toml, each `name==version`."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [str(r).strip() for r in project.get("dependencies", [])]
    unpinned = [r for r in requirements if "==" not in r]
    if unpinned:
        raise BundlingError(f"runtime dependencies must be pinned with ==: {', '.join(unpinned)}")
    return requirements


def _source_files(root: Path) -> Iterator[tuple[str, Path]]:
    for name, relative in PACKAGES.items():
        base = root / relative
        if not (base / "__init__.py").is_file():
            raise BundlingError(f"{base} is not a Python package (no __init__.py): the Lambda asset needs it")
        for path in sorted(base.rglob("*")):
            parts = path.relative_to(base).parts
            if path.is_file() and not SKIP_NAMES.intersection(parts) and path.suffix not in SKIP_SUFFIXES:
                yield f"{name}/{'/'.join(parts)}", path


def source_fingerprint(root: Path = REPO_ROOT) -> str:
    """A digest of every input of the bundle (pip settings are added by CDK from the bundling options)."""
    digest = hashlib.sha256()
    for requirement in runtime_requirements(root):
        digest.update(f"req:{requirement}\n".encode())
    lock = root / LOCK_FILE
    if lock.is_file():
        digest.update(b"lock:" + lock.read_bytes())
    for name, path in _source_files(root):
        digest.update(f"file:{name}:{path.stat().st_size}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def bundle_into(output_dir: Path, environment: Mapping[str, str], root: Path = REPO_ROOT) -> None:
    """Build the asset into output_dir with this interpreter's pip (what the local bundler runs)."""
    requirements = runtime_requirements(root)
    command = [sys.executable, "-m", "pip", "install", "--no-compile", "--target", str(output_dir), *requirements]
    lock = root / LOCK_FILE
    if lock.is_file():
        command += ["--constraint", str(lock)]  # transitive dependencies at their locked versions
    print(f"[bundling] {' '.join(command)}", file=sys.stderr)
    result = subprocess.run(command, env={**os.environ, **environment}, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BundlingError(f"pip could not install the Lambda dependencies:\n{result.stdout}\n{result.stderr}")
    for name, path in _source_files(root):
        target = output_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


@jsii.implements(cdk.ILocalBundling)
class _LocalPip:
    """CDK's local bundling hook: pip on this machine; on failure, CDK falls back to the Docker command."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def try_bundle(self, output_dir: str, options: cdk.BundlingOptions) -> bool:
        try:
            bundle_into(Path(output_dir), dict(options.environment or {}), self._root)
        except (BundlingError, OSError) as exc:
            print(f"[bundling] local bundling failed, trying Docker: {exc}", file=sys.stderr)
            return False
        return True


def _docker_command(requirements: list[str]) -> list[str]:
    """The fallback: the same pip settings (environment) inside the SAM build image of the runtime."""
    quoted = " ".join(f"'{r}'" for r in requirements)
    copies = " ".join(
        f"&& mkdir -p /asset-output/{n} && cp -r /asset-input/{p}/. /asset-output/{n}/" for n, p in PACKAGES.items()
    )
    script = (
        f"pip install --no-compile --target /asset-output {quoted} --constraint /asset-input/{LOCK_FILE} {copies} "
        "&& find /asset-output -name __pycache__ -type d -prune -exec rm -rf {} +"
    )
    return ["bash", "-c", script]


def lambda_code(root: Path = REPO_ROOT) -> lambda_.Code:
    """The code asset every function shares (CDK uploads it once per stack)."""
    requirements = runtime_requirements(root)
    return lambda_.Code.from_asset(
        str(root),
        asset_hash=source_fingerprint(root),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        bundling=cdk.BundlingOptions(
            image=RUNTIME.bundling_image,
            platform="linux/amd64",
            environment=dict(PIP_ENVIRONMENT),
            command=_docker_command(requirements),
            local=_LocalPip(root),  # type: ignore[arg-type]  # jsii calls try_bundle(output_dir, options)
        ),
    )
