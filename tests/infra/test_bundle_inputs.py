"""The Lambda asset carries only Lambda code: the handlers and the parts of the domain package they import.
So editing the training program, the inference server, the CLI or the local runtime leaves the asset hash (the
digest of the bundle's inputs) unchanged, and no function is redeployed for it; editing what a handler
imports does change it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stacks.constructs.bundling import lambda_modules, source_fingerprint

REPO = Path(__file__).resolve().parents[2]
NOT_LAMBDA_CODE = (
    "src/authentic/training/container/engine.py",
    "src/authentic/inference/server.py",
    "src/authentic/inference/detector.py",
    "src/authentic/cli/main.py",
    "src/authentic/local/runtime.py",
    "src/authentic/annotations/importers/coco.py",
)
LAMBDA_CODE = (
    "src/authentic/verify/verdict.py",
    "src/authentic/media/jpeg.py",
    "src/authentic/aws/ports.py",
    "lambdas/ingest.py",
)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what the bundle is built from."""
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy2(REPO / name, tmp_path / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "src", tmp_path / "src", ignore=ignore)
    shutil.copytree(REPO / "lambdas", tmp_path / "lambdas", ignore=ignore)
    return tmp_path


def edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# an edit\n")


def test_the_bundle_holds_the_handlers_and_what_they_import_and_nothing_else() -> None:
    modules = set(lambda_modules())
    assert {"lambdas.ingest", "lambdas.verify", "authentic.verify.verdict", "authentic.media.jpeg"} <= modules
    for package in ("authentic.cli", "authentic.local", "authentic.inference", "authentic.training.container"):
        assert not [m for m in modules if m == package or m.startswith(package + ".")], package
    assert "authentic.annotations.importers" not in modules


@pytest.mark.parametrize("relative", NOT_LAMBDA_CODE)
def test_editing_code_no_function_imports_keeps_the_asset_hash(checkout: Path, relative: str) -> None:
    before = source_fingerprint(checkout)
    edit(checkout / relative)
    assert source_fingerprint(checkout) == before


@pytest.mark.parametrize("relative", LAMBDA_CODE)
def test_editing_code_a_function_imports_changes_the_asset_hash(checkout: Path, relative: str) -> None:
    before = source_fingerprint(checkout)
    edit(checkout / relative)
    assert source_fingerprint(checkout) != before


def test_a_new_import_brings_its_module_into_the_bundle(checkout: Path) -> None:
    verdict = checkout / "src/authentic/verify/verdict.py"
    assert "authentic.cli.flows" not in lambda_modules(checkout)
    verdict.write_text(verdict.read_text() + "\nfrom authentic.cli import flows  # noqa\n")
    assert "authentic.cli.flows" in lambda_modules(checkout)
