"""cdk-nag (AwsSolutions) runs on every synth: zero unacknowledged findings, each acknowledgment with a reason."""

from __future__ import annotations

import json
from typing import Any

ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


def acknowledgments(synth: Any) -> dict[str, dict[str, str]]:
    """Construct path → {rule id: reason}, from the cloud assembly's metadata."""
    out: dict[str, dict[str, str]] = {}
    for stack in (synth.stateful_name, synth.service_name):
        metadata = json.loads((synth.outdir / f"{stack}.metadata.json").read_text())
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == ACKNOWLEDGED:
                    out.setdefault(path, {}).update(entry["data"])
    return out


def test_the_synth_passes_cdk_nag_with_no_unacknowledged_findings(synth: Any) -> None:
    assert synth.error is None, synth.error
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    violations = [
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]
    assert violations == []


def test_every_acknowledgment_is_specific_and_says_why(synth: Any) -> None:
    found = acknowledgments(synth)
    assert found, "expected acknowledgments in the assembly metadata"
    for path, rules in found.items():
        for rule, reason in rules.items():
            rule_id = rule.split("::", 1)[-1]
            assert rule_id.startswith("AwsSolutions-"), (path, rule)
            if rule_id.startswith(("AwsSolutions-IAM5", "AwsSolutions-IAM4")):
                assert "[" in rule_id, f"{path}: {rule_id} must name the finding it acknowledges"
            assert len(reason) >= 60 and reason.strip().endswith((".", ")")), (path, rule_id, reason)


def test_no_rule_is_acknowledged_for_a_whole_stack(synth: Any) -> None:
    stacks = {f"/{synth.stateful_name}", f"/{synth.service_name}"}
    assert not stacks & set(acknowledgments(synth))
