"""cdk-nag acknowledgments and scoped IAM statements, each wildcard acknowledged where it is written.

cdk-nag 3 matches an acknowledgment by its exact finding id, e.g.
`AwsSolutions-IAM5[Resource::<Stateful:ExportsOutput...Arn...>/*/manifests/*]`. Resources that point into the
stateful stack only take their final form (an `Fn::ImportValue`) once CDK has resolved cross-stack references,
after the constructs are built. `allow()` therefore records the wildcard resources of each statement it adds
and acknowledges exactly those findings, with the reason given at the call site, in a validation hook that runs
after reference resolution and before the cdk-nag plugin. Nothing is acknowledged by pattern: a wildcard that
was not written through `allow()` (or acknowledged explicitly) still fails the synth.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from constructs import IConstruct, IValidation

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (`IAM4`, `IAM5[Resource::*]`, ...) on scope and everything below it."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"{PACK}-{rule}", reason=reason))


def flatten_reference(value: Any) -> str:
    """Flatten a resolved CloudFormation value the way cdk-nag names it in a finding id."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return str(delimiter).join(flatten_reference(item) for item in items)
        if "Fn::Sub" in value:
            return flatten_reference(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in value:
            return flatten_reference(value["Fn::ImportValue"])
        if "Ref" in value:
            return f"<{flatten_reference(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))


@jsii.implements(IValidation)
class _AcknowledgeWildcards:
    """Runs in CDK's validation phase: resolves the resources and acknowledges their IAM5 findings."""

    def __init__(self, scope: IConstruct, resources: Sequence[str], reason: str) -> None:
        self._scope = scope
        self._resources = list(resources)
        self._reason = reason

    def validate(self) -> list[str]:
        stack = cdk.Stack.of(self._scope)
        for resource in self._resources:
            flat = flatten_reference(stack.resolve(resource))
            if "*" in flat:
                acknowledge(self._scope, f"IAM5[Resource::{flat}]", self._reason)
        return []


def acknowledge_wildcard_resources(scope: IConstruct, resources: Sequence[str], reason: str) -> None:
    """Acknowledge the IAM5 finding of each wildcard resource (tokens allowed: named once they resolve) on scope,
    for statements that CDK itself writes (its own custom resources' grants), not through `allow()`."""
    scope.node.add_validation(_AcknowledgeWildcards(scope, resources, reason))


def allow(
    role: iam.IRole,
    *,
    actions: Sequence[str],
    resources: Sequence[str],
    conditions: dict[str, Any] | None = None,
    wildcard_reason: str | None = None,
) -> iam.PolicyStatement:
    """Add one Allow statement to the role's policy; a statement with wildcard resources must say why."""
    if any("*" in action for action in actions):
        raise ValueError(f"spell actions out instead of {actions}: wildcard actions are never acknowledged")
    statement = iam.PolicyStatement(actions=list(actions), resources=list(resources), conditions=conditions)
    role.add_to_principal_policy(statement)
    if any("*" in resource for resource in resources):
        if not wildcard_reason:
            raise ValueError(f"the statement for {actions} has wildcard resources and no reason for them")
        role.node.add_validation(_AcknowledgeWildcards(role, resources, wildcard_reason))
    return statement
