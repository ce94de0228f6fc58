"""app.py as the CDK CLI and `make synth` run it: where it writes, and how it refuses bad configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.config import ConfigError
from tests.infra.infra_support import REPO


def run_app(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "app.py", *args],
        cwd=REPO,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_under_the_cdk_cli_the_app_writes_to_the_cli_outdir_with_the_cli_context(tmp_path: Path) -> None:
    # Given the environment the CDK CLI sets: its output directory and its context (here: skip bundling and
    # deploy a second deployment with its own job prefix)
    context = {"aws:cdk:bundling-stacks": [], "authentic:jobPrefix": "staging"}
    result = run_app([], {"CDK_OUTDIR": str(tmp_path), "CDK_CONTEXT_JSON": json.dumps(context)})
    # Then the assembly is where the CLI looks, and the CLI's context won over cdk.json
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {"StagingStateful", "StagingService"} <= set(manifest["artifacts"])
    rules = json.loads((tmp_path / "StagingService.template.json").read_text())["Resources"]
    patterns = [r["Properties"]["EventPattern"] for r in rules.values() if r["Type"] == "AWS::Events::Rule"]
    assert patterns[0]["detail"]["TrainingJobName"] == [{"prefix": "staging-"}]


def test_invalid_context_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = run_app(
        ["--outdir", str(tmp_path)], {"CDK_CONTEXT_JSON": json.dumps({"authentic:qualityGateMap50": "high"})}
    )
    assert result.returncode == 2
    assert "authentic:qualityGateMap50" in result.stderr
    assert not (tmp_path / "manifest.json").exists()


def test_build_app_raises_config_error_before_building_stacks() -> None:
    from app import build_app

    with pytest.raises(ConfigError, match="jobPrefix"):
        build_app(context={"authentic:jobPrefix": "Not-Valid"})
