"""cfn-lint over the synthesized templates: no errors (warnings are printed for the reader)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import lint

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


@pytest.mark.parametrize("which", ["stateful", "service"])
def test_templates_have_no_cfn_lint_errors(synth: Any, which: str) -> None:
    template = synth.stateful_json if which == "stateful" else synth.service_json
    matches = lint(json.dumps(template), regions=REGIONS)
    for match in matches:
        print(match)
    errors = [m for m in matches if m.rule.id.startswith("E")]
    assert errors == [], "\n".join(str(e) for e in errors)
