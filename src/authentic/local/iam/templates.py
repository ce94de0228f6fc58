"""The synthesized CloudFormation templates the local policies are read from: `app.py` synthesized with bundling
skipped (no Docker, no pip), cached under `.local/templates/{fingerprint}/` by a digest of what the templates
are made from (the CDK app, `cdk.json`, `stacks/`, and the domain modules the stacks read), so only a change
there synthesizes again (about 20-40 s)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[4]
INPUTS = (
    "app.py",
    "cdk.json",
    "stacks",
    "src/authentic/wiring.py",
    "src/authentic/settings.py",
    "src/authentic/contracts.py",
    "src/authentic/keys.py",
)
CACHE = Path(".local") / "templates"
_SYNTH = """
import sys
from app import build_app
app, stateful, service = build_app(outdir=sys.argv[1], context={"aws:cdk:bundling-stacks": []})
try:
    app.synth()
except RuntimeError as exc:  # cdk-nag findings fail the synth; the templates are written before validation
    print(f"cdk-nag: {exc}", file=sys.stderr)
"""


class TemplatesUnavailable(RuntimeError):
    """The CDK app could not be synthesized here."""


def fingerprint(repo: Path = REPO) -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = repo / name
        files = sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts) if path.is_dir() else [path]
        for file in files:
            digest.update(f"{file.relative_to(repo).as_posix()}\n".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:24]


def load(repo: Path = REPO) -> dict[str, dict[str, Any]]:
    """Every stack's template, by stack name: from the cache, or synthesized now and cached."""
    folder = repo / CACHE / fingerprint(repo)
    if not any(folder.glob("*.template.json")):
        _synthesize(repo, folder)
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in sorted(folder.glob("*.template.json"))
    }


def _synthesize(repo: Path, folder: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="authentic-synth-") as outdir:
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run(
            [sys.executable, "-c", _SYNTH, outdir], cwd=repo, env=env, capture_output=True, text=True, check=False
        )
        templates = sorted(Path(outdir).glob("*.template.json"))
        if result.returncode != 0 or not templates:
            raise TemplatesUnavailable(
                "the CDK app could not be synthesized to read the functions' IAM policies "
                f"(exit {result.returncode}): {result.stderr.strip()[-2000:]}"
            )
        folder.mkdir(parents=True, exist_ok=True)
        for template in templates:
            (folder / template.name).write_bytes(template.read_bytes())
