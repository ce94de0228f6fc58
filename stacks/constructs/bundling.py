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

import ast
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
DOMAIN_PACKAGE = "authentic"
HANDLER_PACKAGE = "lambdas"
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


def _module_file(src: Path, module: str) -> Path | None:
    """The source file of a module of the domain package or the handlers, if it is one of ours."""
    base = src if module.split(".", maxsplit=1)[0] == DOMAIN_PACKAGE else src.parent
    path = base.joinpath(*module.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def _imported_modules(path: Path, module: str) -> Iterator[str]:
    """Every module named by an import statement of the file, anywhere in it (lazy imports included)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            base = ".".join([*anchor, node.module] if node.module else anchor) if node.level else str(node.module)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def lambda_modules(root: Path = REPO_ROOT) -> dict[str, Path]:
    """The modules the Lambda handlers import, transitively, with their packages' `__init__`: the handlers and
    the parts of the domain package they reach, and nothing else (not the training program, the inference
    server, the CLI or the local runtime). Found by reading the import statements, so a module that imports
    nothing of ours beyond what is listed keeps the bundle, and its hash, as they are."""
    src = root / "src" / DOMAIN_PACKAGE
    handlers = root / HANDLER_PACKAGE
    if not (handlers / "__init__.py").is_file() or not (src / "__init__.py").is_file():
        raise BundlingError(f"{handlers} and {src} must be Python packages: the Lambda asset needs them")
    todo = [
        HANDLER_PACKAGE,
        *(f"{HANDLER_PACKAGE}.{p.stem}" for p in sorted(handlers.glob("*.py")) if p.stem != "__init__"),
    ]
    found: dict[str, Path] = {}
    while todo:
        module = todo.pop()
        if module in found or module.split(".")[0] not in (DOMAIN_PACKAGE, HANDLER_PACKAGE):
            continue
        path = _module_file(src.parent, module)
        if path is None:
            continue
        found[module] = path
        parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
        todo.extend([*parents, *_imported_modules(path, module)])
    return dict(sorted(found.items()))


def _source_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(name in the bundle, file) for every module of `lambda_modules`."""
    for path in lambda_modules(root).values():
        base = root / "src" if path.is_relative_to(root / "src") else root
        yield path.relative_to(base).as_posix(), path


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


def _docker_command(requirements: list[str], root: Path) -> list[str]:
    """The fallback: the same pip settings (environment) inside the SAM build image of the runtime, then the
    same source files as the local bundler copies."""
    quoted = " ".join(f"'{r}'" for r in requirements)
    copies = " ".join(
        f"&& mkdir -p /asset-output/{Path(name).parent.as_posix()} "
        f"&& cp /asset-input/{path.relative_to(root).as_posix()} /asset-output/{name}"
        for name, path in _source_files(root)
    )
    script = f"pip install --no-compile --target /asset-output {quoted} --constraint /asset-input/{LOCK_FILE} {copies}"
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
            command=_docker_command(requirements, root),
            local=_LocalPip(root),  # type: ignore[arg-type]  # jsii calls try_bundle(output_dir, options)
        ),
    )
