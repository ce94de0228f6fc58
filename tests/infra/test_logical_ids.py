"""A deployed stack updates in place: every resource of the templates as they were deployed keeps its logical ID
and type (a renamed construct would make CloudFormation replace the resource, and for the stateful stack lose
its data). `logical_ids.json` is the record of the deployed templates; new resources may be added.

API Gateway deployments are the exception by design: CDK names each one by a hash of the API's definition, so
that a changed API gets a new deployment, which the stage then points at."""

from __future__ import annotations

import json
from pathlib import Path

from tests.infra.conftest import Synth

DEPLOYED = Path(__file__).with_name("logical_ids.json")
REDEPLOYED_BY_DESIGN = "AWS::ApiGateway::Deployment"


def test_every_deployed_resource_keeps_its_logical_id_and_type(synth: Synth) -> None:
    deployed: dict[str, dict[str, str]] = json.loads(DEPLOYED.read_text())
    assert set(deployed) <= set(synth.templates), "a deployed stack is gone"
    for stack, resources in deployed.items():
        current = {name: body["Type"] for name, body in synth.templates[stack]["Resources"].items()}
        lost = {
            name: kind for name, kind in resources.items() if kind != REDEPLOYED_BY_DESIGN and current.get(name) != kind
        }
        assert lost == {}, f"{stack}: these resources would be replaced: {lost}"
        assert REDEPLOYED_BY_DESIGN not in resources.values() or REDEPLOYED_BY_DESIGN in current.values()
