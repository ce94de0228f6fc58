"""The architecture holds: the import rules of pyproject.toml (`lint-imports`) are kept, and they catch a break;
the containers are a Dockerfile and a shim each; every package says what it owns; no test bends `sys.path`."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "authentic"
SHIM_MAX_LINES = 12


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    command = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)


def test_the_import_rules_are_kept() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("src/authentic/verify/verdict.py", "from authentic.cli import flows"),
        ("src/authentic/media/jpeg.py", "import boto3"),
        ("src/authentic/ingest/service.py", "from authentic.training.container import program"),
        ("lambdas/verify.py", "from authentic.local import runtime"),
    ],
)
def test_a_forbidden_import_breaks_the_rules(tmp_path: Path, module: str, forbidden: str) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "src", tmp_path / "src", ignore=ignore)
    shutil.copytree(REPO / "lambdas", tmp_path / "lambdas", ignore=ignore)
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{forbidden}  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "BROKEN" in result.stdout


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_nothing_in_the_package_imports_the_container_folders() -> None:
    offenders = [p for p in python_files(PACKAGE) if any(n.split(".")[0] == "containers" for n in imported(p))]
    assert offenders == []


@pytest.mark.parametrize(
    ("shim", "program"),
    [
        ("containers/training/train.py", "authentic.training.container.program"),
        ("containers/inference/serve.py", "authentic.inference.server"),
    ],
)
def test_each_container_is_a_dockerfile_and_a_shim_calling_a_main_in_the_package(shim: str, program: str) -> None:
    folder = (REPO / shim).parent
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == sorted(
        ["Dockerfile", Path(shim).name, "requirements.txt"]
    )
    source = (REPO / shim).read_text()
    assert len(source.splitlines()) <= SHIM_MAX_LINES
    assert imported(REPO / shim) == {"sys", program}
    assert "main()" in source


def test_every_package_says_what_it_owns_and_may_import() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        tree = ast.parse(init.read_text())
        docstring = ast.get_docstring(tree)
        assert docstring and len(docstring) > 80, f"{init.relative_to(REPO)} has no docstring saying what it owns"
        code = [n for n in tree.body if not isinstance(n, ast.Expr) and not _is_version(n)]
        assert code == [], f"{init.relative_to(REPO)} holds code"


def _is_version(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == ["__version__"]


def test_only_a_handful_of_modules_stay_at_the_top_level() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert top == ["contracts", "errors", "keys", "settings", "wiring"]


def test_no_test_bends_the_import_path() -> None:
    offenders = []
    for path in python_files(REPO / "tests"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
