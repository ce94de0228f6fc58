"""The public stage's AWS WAF web ACL (WAFv2, REGIONAL, associated with the REST API's stage).

Both rules apply to everything but the brand routes: a scope-down statement leaves out paths under
`/{stage}/brands/` (after URL-decoding and normalising the path, so `/prod/brands/../verify` is still in scope).
The brand routes are signed by the brand web server, which imports thousands of photos from one address and need
not send a User-Agent, and API Gateway refuses unsigned calls to them before any function runs. Behind a custom
domain whose base path drops the stage, the scope-down matches nothing and the rules apply to every route.

Rules, in order:
1. `RateLimitPerIp`: a rate-based rule per client IP (the limit from `cdk.json`, counted over 5 minutes) that
   answers 429 with a JSON body and `Retry-After`.
2. `CommonRuleSet`: AWS's managed common rule set (`AWSManagedRulesCommonRuleSet`), which checks headers, the
   query string and the path for known exploit patterns. Its body rules only count, never block
   (`BODY_RULES_COUNTED`): `SizeRestrictions_BODY` blocks any body over 8 KB, i.e. every photo, and the
   cross-site-scripting, file-inclusion and SSRF body rules would read a photo's first 8 KB (its Exif and XMP
   metadata, which is XML and URLs) as text; the public route's body is a photo passed to an image decoder, never
   HTML, a path or a URL. API Gateway's 10 MB limit and the handler bound the body instead.

Costs: 5 USD a month for the web ACL, 1 USD a month per rule (two), 0.60 USD per million requests inspected.
"""

from __future__ import annotations

import json

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.config import WAF_RATE_WINDOW_SECONDS

RATE_LIMITED_BODY_KEY = "rate-limited"
RATE_LIMITED_STATUS = 429
RATE_LIMITED_BODY = {
    "error": "rate_limited",
    "message": "Too many requests from your address; try again in a few minutes.",
}
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
BODY_RULES_COUNTED = (
    "SizeRestrictions_BODY",
    "CrossSiteScripting_BODY",
    "GenericLFI_BODY",
    "GenericRFI_BODY",
    "EC2MetaDataSSRF_BODY",
)


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _not_brand_routes(stage_name: str) -> wafv2.CfnWebACL.StatementProperty:
    """Requests whose path, URL-decoded and normalised, does not start with `/{stage}/brands/`."""
    brand_routes = wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string=f"/{stage_name}/brands/",
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="URL_DECODE"),
                wafv2.CfnWebACL.TextTransformationProperty(priority=1, type="NORMALIZE_PATH"),
            ],
        )
    )
    return wafv2.CfnWebACL.StatementProperty(not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=brand_routes))


class PublicFirewall(Construct):
    """The web ACL and its association with the stage; exposes `web_acl`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: apigw.Stage, stage_name: str, rate_limit: int
    ) -> None:
        super().__init__(scope, construct_id)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            description="Public stage of the counterfeit-detection API: per-IP rate limit and AWS common rules",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("AuthenticApi"),
            custom_response_bodies={
                RATE_LIMITED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=json.dumps(RATE_LIMITED_BODY)
                )
            },
            rules=[self._rate_rule(stage_name, rate_limit), self._common_rules(stage_name)],
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )

    @staticmethod
    def _rate_rule(stage_name: str, rate_limit: int) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerIp",
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(
                block=wafv2.CfnWebACL.BlockActionProperty(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                        response_code=RATE_LIMITED_STATUS,
                        custom_response_body_key=RATE_LIMITED_BODY_KEY,
                        response_headers=[
                            wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                                name="Retry-After", value=str(WAF_RATE_WINDOW_SECONDS)
                            )
                        ],
                    )
                )
            ),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=rate_limit,
                    evaluation_window_sec=WAF_RATE_WINDOW_SECONDS,
                    scope_down_statement=_not_brand_routes(stage_name),
                )
            ),
            visibility_config=_visibility("AuthenticRateLimitPerIp"),
        )

    @staticmethod
    def _common_rules(stage_name: str) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name="CommonRuleSet",
            priority=1,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS",
                    name=COMMON_RULE_SET,
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                        )
                        for rule in BODY_RULES_COUNTED
                    ],
                    scope_down_statement=_not_brand_routes(stage_name),
                )
            ),
            visibility_config=_visibility("AuthenticCommonRuleSet"),
        )
