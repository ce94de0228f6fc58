"""Route and event wiring is declared once (authentic.wiring): the synthesized template must have exactly the
routes, functions and triggers the table declares — nothing more, nothing less."""

from __future__ import annotations

from typing import Any

import pytest

from authentic import wiring
from tests.infra.infra_support import flat, resources, wired_functions


@pytest.fixture(scope="module")
def tpl(synth: Any) -> dict[str, Any]:
    template: dict[str, Any] = synth.service_json
    return template


def function_names_by_id(tpl: dict[str, Any]) -> dict[str, str]:
    """Logical id → wiring name, matched by handler string."""
    by_handler = {f.handler: f.name for f in wiring.FUNCTIONS}
    out: dict[str, str] = {}
    for lid, res in wired_functions(tpl).items():
        handler = res["Properties"].get("Handler")
        assert handler in by_handler, f"{lid} runs {handler!r}, which is not in wiring.FUNCTIONS"
        out[lid] = by_handler[handler]
    return out


def resource_path(tpl: dict[str, Any], resource_id: Any) -> str:
    """Walk AWS::ApiGateway::Resource parents up to the RestApi root, collecting path parts."""
    parts: list[str] = []
    while isinstance(resource_id, dict) and "Ref" in resource_id:
        res = tpl["Resources"][resource_id["Ref"]]
        assert res["Type"] == "AWS::ApiGateway::Resource"
        parts.append(res["Properties"]["PathPart"])
        resource_id = res["Properties"]["ParentId"]
    assert "Fn::GetAtt" in resource_id and resource_id["Fn::GetAtt"][1] == "RootResourceId", resource_id
    return "/" + "/".join(reversed(parts))


def integration_function(tpl: dict[str, Any], method: dict[str, Any], names: dict[str, str]) -> str:
    uri = method["Properties"]["Integration"]["Uri"]
    targets = [names[lid] for lid in names if f"<{lid}.Arn>" in flat(uri)]
    assert len(targets) == 1, flat(uri)
    return targets[0]


def template_routes(tpl: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    names = function_names_by_id(tpl)
    out = set()
    for method in resources(tpl, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        path = resource_path(tpl, props["ResourceId"])
        auth = {"AWS_IAM": wiring.Auth.IAM.value, "NONE": wiring.Auth.PUBLIC.value}[props["AuthorizationType"]]
        out.add((props["HttpMethod"], path, integration_function(tpl, method, names), auth))
    return out


def template_events(tpl: dict[str, Any]) -> set[tuple[str, str]]:
    names = function_names_by_id(tpl)
    out = set()
    for mapping in resources(tpl, "AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        assert "UploadNotificationsQueue" in flat(props["EventSourceArn"]), "an SQS source other than uploads"
        out.add((wiring.EventSource.UPLOADS_CREATED.value, names[props["FunctionName"]["Ref"]]))
    for rule in resources(tpl, "AWS::Events::Rule").values():
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["source"] == ["aws.sagemaker"]
        assert pattern["detail-type"] == ["SageMaker Training Job State Change"]
        for target in rule["Properties"]["Targets"]:
            lid = target["Arn"]["Fn::GetAtt"][0]
            out.add((wiring.EventSource.TRAINING_STATE.value, names[lid]))
    return out


def test_api_methods_are_exactly_the_wired_routes(tpl: dict[str, Any]) -> None:
    declared = {(r.method, r.path, r.function, r.auth.value) for r in wiring.ROUTES}
    synthesized = template_routes(tpl)
    assert synthesized - declared == set(), "in the template but not in wiring.ROUTES"
    assert declared - synthesized == set(), "in wiring.ROUTES but not in the template"


def test_triggers_are_exactly_the_wired_events(tpl: dict[str, Any]) -> None:
    declared = {(e.source.value, e.function) for e in wiring.EVENTS}
    synthesized = template_events(tpl)
    assert synthesized - declared == set(), "in the template but not in wiring.EVENTS"
    assert declared - synthesized == set(), "in wiring.EVENTS but not in the template"


def test_functions_are_exactly_the_wired_functions(tpl: dict[str, Any]) -> None:
    assert sorted(function_names_by_id(tpl).values()) == sorted(f.name for f in wiring.FUNCTIONS)


def test_each_function_has_one_kind_of_trigger(tpl: dict[str, Any]) -> None:
    kinds: dict[str, set[str]] = {}
    for _method, _path, function, _auth in template_routes(tpl):
        kinds.setdefault(function, set()).add("api")
    for source, function in template_events(tpl):
        kinds.setdefault(function, set()).add(source)
    assert all(len(k) == 1 for k in kinds.values()), kinds
    assert set(kinds) == {f.name for f in wiring.FUNCTIONS}  # and no function is left without one


def test_every_function_behind_a_route_times_out_within_api_gateways_29_seconds(tpl: dict[str, Any]) -> None:
    """A function behind an API route that could run longer than the integration would keep working after the
    caller got a 504: long work must leave the request path instead (the freeze writes two objects)."""
    assert wiring.API_TIMEOUT_SECONDS == 29
    routed = {function for _method, _path, function, _auth in template_routes(tpl)}
    assert routed == {r.function for r in wiring.ROUTES}
    names = function_names_by_id(tpl)
    timeouts = {
        names[lid]: res["Properties"]["Timeout"] for lid, res in resources(tpl, "AWS::Lambda::Function").items()
    }
    for name in routed:
        assert wiring.function(name).timeout_seconds <= wiring.API_TIMEOUT_SECONDS, name
        assert timeouts[name] <= wiring.API_TIMEOUT_SECONDS, f"{name}: Timeout {timeouts[name]} in the template"


def test_the_parser_sees_a_route_that_is_not_wired(tpl: dict[str, Any]) -> None:
    """The comparison is not vacuous: an extra method in the template shows up as a difference."""
    extra = dict(tpl)
    extra["Resources"] = dict(tpl["Resources"])
    root = next(iter(resources(tpl, "AWS::ApiGateway::RestApi")))
    some_method = next(iter(resources(tpl, "AWS::ApiGateway::Method").values()))
    extra["Resources"]["Rogue"] = {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            **some_method["Properties"],
            "HttpMethod": "DELETE",
            "ResourceId": {"Fn::GetAtt": [root, "RootResourceId"]},
        },
    }
    declared = {(r.method, r.path, r.function, r.auth.value) for r in wiring.ROUTES}
    assert {(m, p) for m, p, _f, _a in template_routes(extra) - declared} == {("DELETE", "/")}
