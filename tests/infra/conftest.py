"""Infrastructure tests: the app is synthesized once per session (bundling skipped) and shared.

`aws:cdk:bundling-stacks: []` makes CDK skip asset bundling for every stack, so these tests need neither pip
downloads nor Docker; `test_bundling.py` is the one test that really bundles the Lambda asset.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

SKIP_BUNDLING: dict[str, list[str]] = {"aws:cdk:bundling-stacks": []}


@dataclass(frozen=True)
class Synth:
    """One synthesized cloud assembly: the templates as dicts and as `Template`s, and how synthesis ended."""

    outdir: Path
    stateful_name: str
    service_name: str
    stateful_json: dict[str, Any]
    service_json: dict[str, Any]
    error: str | None  # the synth error (cdk-nag findings fail the synth), None when it succeeded

    @property
    def templates(self) -> dict[str, dict[str, Any]]:
        return {self.stateful_name: self.stateful_json, self.service_name: self.service_json}

    def template(self, which: str) -> Any:
        from aws_cdk.assertions import Template

        return Template.from_json(self.stateful_json if which == "stateful" else self.service_json)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stateful, service = build_app(outdir=str(outdir), context=SKIP_BUNDLING)
    error: str | None = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings: the templates are written before validation runs
        error = str(exc)

    def load(stack_artifact: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((outdir / f"{stack_artifact}.template.json").read_text())
        return data

    return Synth(
        outdir=outdir,
        stateful_name=stateful.artifact_id,
        service_name=service.artifact_id,
        stateful_json=load(stateful.artifact_id),
        service_json=load(service.artifact_id),
        error=error,
    )


@pytest.fixture(scope="session")
def stateful(synth: Synth) -> Any:
    return synth.template("stateful")


@pytest.fixture(scope="session")
def service(synth: Synth) -> Any:
    return synth.template("service")
