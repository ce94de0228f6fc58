"""The REST API's edge: who may call which route (the resource policy), the public stage's WAF web ACL, and what
API Gateway itself answers (gateway responses), in the synthesized template and in `authentic.wiring`."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from authentic import wiring
from authentic.contracts import (
    API_PAYLOAD_LIMIT,
    LAMBDA_PAYLOAD_LIMIT,
    MAX_PHOTO_REQUEST_BYTES,
    PAYLOAD_TOO_LARGE_ERROR,
    PAYLOAD_TOO_LARGE_MESSAGE,
)
from stacks.config import AppConfig, Throttle
from stacks.constructs.api import STAGE_NAME, Api, gateway_response_body
from stacks.constructs.firewall import BODY_RULES_COUNTED, COMMON_RULE_SET, RATE_LIMITED_STATUS
from tests.infra.infra_support import as_list, flat, resources
from tests.infra.test_wiring import function_names_by_id, resource_path

CONFIG = AppConfig()
ROLE = "arn:aws:iam::123456789012:role/brand-server"
BRAND_VERIFY = ("POST", "/brands/{brandId}/verify")


@pytest.fixture(scope="module")
def tpl(synth: Any) -> dict[str, Any]:
    template: dict[str, Any] = synth.service_json
    return template


def rest_api(tpl: dict[str, Any]) -> dict[str, Any]:
    (api,) = resources(tpl, "AWS::ApiGateway::RestApi").values()
    return api


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def normalised(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Statements by Sid, each resource as a sorted list (CDK writes a single resource as a string)."""
    return {sid: {**s, "Resource": sorted(as_list(s["Resource"]))} for sid, s in statements(policy).items()}


def brand_resources() -> list[str]:
    return sorted(wiring.route_resource(r, STAGE_NAME) for r in wiring.ROUTES if r.auth is wiring.Auth.IAM)


# -- the resource policy ------------------------------------------------------------------------------------------


def test_routes_become_execute_api_resources_with_path_parameters_as_wildcards() -> None:
    route = wiring.Route("GET", "/brands/{brandId}/training-jobs/{jobId}", "training")
    assert wiring.route_resource(route, "prod") == "execute-api:/prod/GET/brands/*/training-jobs/*"
    verify = next(r for r in wiring.ROUTES if r.auth is wiring.Auth.PUBLIC)
    assert wiring.route_resource(verify, "prod") == "execute-api:/prod/POST/verify"


def test_with_a_brand_server_role_only_that_role_may_call_the_brand_routes() -> None:
    policy = statements(wiring.resource_policy("prod", ROLE))
    public, allow, deny = (
        policy["ShoppersCallThePublicRoutes"],
        policy["TheBrandServerCallsTheBrandRoutes"],
        policy["NobodyElseCallsTheBrandRoutes"],
    )
    assert (public["Effect"], public["Principal"], public["Resource"]) == (
        "Allow",
        "*",
        ["execute-api:/prod/POST/verify"],
    )
    assert "Condition" not in public
    assert allow["Effect"] == "Allow" and allow["Condition"] == {"StringEquals": {"aws:PrincipalArn": ROLE}}
    # Within the account, IAM policies alone would let other principals through: the Deny closes that.
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"StringNotEquals": {"aws:PrincipalArn": ROLE}}
    assert allow["Resource"] == deny["Resource"] == brand_resources()
    assert {wiring.caller_of(r, ROLE) for r in wiring.ROUTES if r.auth is wiring.Auth.IAM} == {ROLE}
    assert {wiring.caller_of(r, ROLE) for r in wiring.ROUTES if r.auth is wiring.Auth.PUBLIC} == {wiring.ANYONE}


def test_every_route_is_in_the_policy_exactly_once() -> None:
    policy = wiring.resource_policy("prod", ROLE)
    allowed = [r for s in policy["Statement"] if s["Effect"] == "Allow" for r in as_list(s["Resource"])]
    assert sorted(allowed) == sorted(wiring.route_resource(r, "prod") for r in wiring.ROUTES)


def test_without_a_role_the_deploying_account_may_call_the_brand_routes(tpl: dict[str, Any]) -> None:
    assert CONFIG.brand_server_role_arn == ""  # the shipped default
    policy = rest_api(tpl)["Properties"]["Policy"]
    by_sid = statements(policy)
    assert set(by_sid) == {"ShoppersCallThePublicRoutes", "TheAccountCallsTheBrandRoutes"}
    account = by_sid["TheAccountCallsTheBrandRoutes"]
    assert account["Effect"] == "Allow"
    assert flat(account["Principal"]["AWS"]) == "arn:<AWS::Partition>:iam::<AWS::AccountId>:root"
    assert as_list(account["Resource"]) == brand_resources()
    assert as_list(by_sid["ShoppersCallThePublicRoutes"]["Resource"]) == ["execute-api:/prod/POST/verify"]
    assert not [s for s in policy["Statement"] if s["Effect"] == "Deny"]


@pytest.fixture(scope="module")
def with_role() -> dict[str, Any]:
    """The Api construct alone, in a bare stack, for a deployment that names its brand server's role."""
    stack = cdk.Stack(cdk.App(), "ApiWithRole")
    functions = {
        f.name: lambda_.Function(
            stack,
            f.name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
        )
        for f in wiring.FUNCTIONS
    }
    Api(
        stack,
        "Api",
        functions=functions,
        public_throttle=Throttle(),
        log_retention_days=30,
        brand_server=ROLE,
        waf_rate_limit=100,
    )
    template: dict[str, Any] = dict(Template.from_stack(stack).to_json())
    return template


def test_a_configured_role_reaches_the_template_with_the_deny(with_role: dict[str, Any]) -> None:
    synthesized = normalised(rest_api(with_role)["Properties"]["Policy"])
    assert synthesized == normalised(wiring.resource_policy(STAGE_NAME, ROLE))
    assert "NobodyElseCallsTheBrandRoutes" in synthesized
    (acl,) = resources(with_role, "AWS::WAFv2::WebACL").values()
    (rate,) = [r for r in acl["Properties"]["Rules"] if r["Name"] == "RateLimitPerIp"]
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == 100


# -- the routes -------------------------------------------------------------------------------------------------


def test_the_brand_verify_route_is_signed_and_goes_to_the_verify_function_as_binary(tpl: dict[str, Any]) -> None:
    names = function_names_by_id(tpl)
    found = []
    for method in resources(tpl, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if (props["HttpMethod"], resource_path(tpl, props["ResourceId"])) == BRAND_VERIFY:
            found.append(props)
    (props,) = found
    assert props["AuthorizationType"] == "AWS_IAM"
    integration = props["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert [names[lid] for lid in names if f"<{lid}.Arn>" in flat(integration["Uri"])] == ["verify"]
    assert "ContentHandling" not in integration  # the proxy passes the photo through, base64-encoded
    assert set(wiring.BINARY_MEDIA_TYPES) <= set(rest_api(tpl)["Properties"]["BinaryMediaTypes"])


# -- the WAF web ACL ----------------------------------------------------------------------------------------------


def web_acl(tpl: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((lid, acl),) = resources(tpl, "AWS::WAFv2::WebACL").items()
    return lid, acl["Properties"]


def test_the_public_stage_has_a_regional_web_acl(tpl: dict[str, Any]) -> None:
    lid, acl = web_acl(tpl)
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    (association,) = resources(tpl, "AWS::WAFv2::WebACLAssociation").values()
    props = association["Properties"]
    assert props["WebACLArn"] == {"Fn::GetAtt": [lid, "Arn"]}
    ((stage_id, _),) = resources(tpl, "AWS::ApiGateway::Stage").items()
    (api_id,) = resources(tpl, "AWS::ApiGateway::RestApi")
    assert flat(props["ResourceArn"]).endswith(f":apigateway:<AWS::Region>::/restapis/<{api_id}>/stages/<{stage_id}>")


def test_the_rate_rule_limits_each_ip_and_answers_429(tpl: dict[str, Any]) -> None:
    _, acl = web_acl(tpl)
    (rule,) = [r for r in acl["Rules"] if r["Name"] == "RateLimitPerIp"]
    statement = rule["Statement"]["RateBasedStatement"]
    assert (statement["AggregateKeyType"], statement["Limit"]) == ("IP", CONFIG.waf_rate_limit)
    assert statement["EvaluationWindowSec"] == 300
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == RATE_LIMITED_STATUS == 429
    assert {h["Name"] for h in response["ResponseHeaders"]} == {"Retry-After"}
    body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    assert json.loads(body["Content"])["error"] == "rate_limited"


def test_both_rules_leave_out_the_signed_brand_routes_after_normalising_the_path(tpl: dict[str, Any]) -> None:
    _, acl = web_acl(tpl)
    rate = next(r for r in acl["Rules"] if r["Name"] == "RateLimitPerIp")["Statement"]["RateBasedStatement"]
    common = next(r for r in acl["Rules"] if r["Name"] == "CommonRuleSet")["Statement"]["ManagedRuleGroupStatement"]
    for scope_down in (rate["ScopeDownStatement"], common["ScopeDownStatement"]):
        match = scope_down["NotStatement"]["Statement"]["ByteMatchStatement"]
        assert match["FieldToMatch"] == {"UriPath": {}}
        assert (match["PositionalConstraint"], match["SearchString"]) == ("STARTS_WITH", f"/{STAGE_NAME}/brands/")
        assert [t["Type"] for t in sorted(match["TextTransformations"], key=lambda t: t["Priority"])] == [
            "URL_DECODE",
            "NORMALIZE_PATH",
        ]


def test_the_common_rule_set_blocks_but_only_counts_its_body_rules(tpl: dict[str, Any]) -> None:
    _, acl = web_acl(tpl)
    (rule,) = [r for r in acl["Rules"] if r["Name"] == "CommonRuleSet"]
    assert rule["OverrideAction"] == {"None": {}}  # the group's own actions apply ...
    group = rule["Statement"]["ManagedRuleGroupStatement"]
    assert (group["VendorName"], group["Name"]) == ("AWS", COMMON_RULE_SET)
    counted = {o["Name"]: o["ActionToUse"] for o in group["RuleActionOverrides"]}
    assert counted == {name: {"Count": {}} for name in BODY_RULES_COUNTED}  # ... except on photo bodies
    assert "SizeRestrictions_BODY" in counted  # a photo is far over its 8 KB
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in acl["Rules"])


def test_the_no_waf_acknowledgment_is_gone(synth: Any) -> None:
    from tests.infra.test_nag import acknowledgments

    assert not [path for path, rules in acknowledgments(synth).items() if any("APIG3" in rule for rule in rules)]


# -- gateway responses ---------------------------------------------------------------------------------------------


def gateway_responses(tpl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources(tpl, "AWS::ApiGateway::GatewayResponse").values()
    }


def test_the_payload_limits_and_the_413_message_are_one_set_of_figures() -> None:
    assert (API_PAYLOAD_LIMIT, LAMBDA_PAYLOAD_LIMIT) == (10 * 1024 * 1024, 6 * 1024 * 1024)
    assert 4_500_000 < MAX_PHOTO_REQUEST_BYTES < LAMBDA_PAYLOAD_LIMIT * 3 // 4  # base64 and the envelope fit
    assert f"{MAX_PHOTO_REQUEST_BYTES:,} bytes" in PAYLOAD_TOO_LARGE_MESSAGE
    assert "Downscale" in PAYLOAD_TOO_LARGE_MESSAGE and "1600 px" in PAYLOAD_TOO_LARGE_MESSAGE


def test_a_request_too_large_gets_413_saying_the_limit_and_how_to_meet_it(tpl: dict[str, Any]) -> None:
    too_large = gateway_responses(tpl)["REQUEST_TOO_LARGE"]
    assert too_large["StatusCode"] == "413"
    body = json.loads(too_large["ResponseTemplates"]["application/json"])
    assert body == {"error": PAYLOAD_TOO_LARGE_ERROR, "message": PAYLOAD_TOO_LARGE_MESSAGE}


def test_every_gateway_response_of_the_wiring_is_in_the_template_as_project_json(tpl: dict[str, Any]) -> None:
    synthesized = gateway_responses(tpl)
    assert set(synthesized) == {r.response_type for r in wiring.GATEWAY_RESPONSES}
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "INTEGRATION_TIMEOUT"} <= set(synthesized)
    for response in wiring.GATEWAY_RESPONSES:
        props = synthesized[response.response_type]
        assert props["ResponseTemplates"] == {"application/json": gateway_response_body(response)}
        assert props.get("StatusCode") == (None if response.status is None else str(response.status))
        retry = props.get("ResponseParameters", {}).get("gatewayresponse.header.Retry-After")
        assert retry == (None if response.retry_after_seconds is None else f"'{response.retry_after_seconds}'")
    five_xx = json.loads(synthesized["DEFAULT_5XX"]["ResponseTemplates"]["application/json"])
    assert five_xx["error"] == "unavailable" and "try again" in five_xx["message"]


def test_gateway_response_bodies_are_json_and_safe_in_a_mapping_template() -> None:
    for response in wiring.GATEWAY_RESPONSES:
        body = gateway_response_body(response)
        if response.message is None:  # API Gateway's own message, already quoted by $context.error.messageString
            assert body.endswith('"message": $context.error.messageString}')
            body = body.replace("$context.error.messageString", '"x"')
        else:
            assert not re.search(r"[$#\\]", response.message)  # nothing the Velocity template would evaluate
        assert set(json.loads(body)) == {"error", "message"}
