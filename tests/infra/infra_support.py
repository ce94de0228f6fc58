"""Helpers for reading synthesized CloudFormation templates in the infrastructure tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stacks.constructs.nag import flatten_reference

REPO = Path(__file__).resolve().parents[2]


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


# Functions aws-cdk-lib adds for its own custom resources (they run only while a stack deploys): not the wiring's.
CDK_HANDLERS = ("CustomCDKBucketDeployment",)


def cdk_free(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The resources less those of CDK's own deploy-time handlers (function, role, policy, log group)."""
    return {k: v for k, v in found.items() if not k.startswith(CDK_HANDLERS)}


def wired_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The stack's Lambda functions less CDK's own deploy-time handlers."""
    return cdk_free(resources(template, "AWS::Lambda::Function"))


def logical_id(template: dict[str, Any], resource_type: str, path_fragment: str) -> str:
    """The logical id (it spells the construct path) of the one resource of a type containing path_fragment."""
    found = [k for k, v in resources(template, resource_type).items() if path_fragment in k]
    assert len(found) == 1, f"expected one {resource_type} matching {path_fragment!r}, found {found}"
    return found[0]


def statements_of(template: dict[str, Any], role_fragment: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to the role whose logical id contains role_fragment."""
    out: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        roles = [r.get("Ref", "") for r in policy["Properties"].get("Roles", [])]
        if any(role_fragment in r for r in roles):
            out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    assert out, f"no policy attached to a role matching {role_fragment!r}"
    return out


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def flat(value: Any) -> str:
    """A CloudFormation value as one string (imports and refs as their names), for pattern assertions."""
    return flatten_reference(value)


def statements_allowing(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if s["Effect"] == "Allow" and action in as_list(s["Action"])]
