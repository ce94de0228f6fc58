"""The shopper's page in AWS: a private bucket read by CloudFront through origin access control, HTTPS, the
page's security headers, access logs, Digital Link paths answered with the page, `/verify` routed to the API on
the same origin, and web/ uploaded at deploy time."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from authentic import contracts
from stacks.constructs.api import STAGE_NAME
from stacks.constructs.web import VERIFY_PATH, WEB_ROOT, deep_link_function
from tests.infra.infra_support import CDK_HANDLERS, as_list, flat, resources

# CloudFront's managed policies (documented ids).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


@pytest.fixture(scope="module")
def tpl(synth: Any) -> dict[str, Any]:
    template: dict[str, Any] = synth.service_json
    return template


def one(tpl: dict[str, Any], kind: str, fragment: str = "ShopperPage") -> tuple[str, dict[str, Any]]:
    found = [(k, v) for k, v in resources(tpl, kind).items() if fragment in k]
    assert len(found) == 1, (kind, fragment, [k for k, _ in found])
    return found[0]


def distribution(tpl: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = one(tpl, "AWS::CloudFront::Distribution")[1]["Properties"]["DistributionConfig"]
    return config


def origin(config: dict[str, Any], origin_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [o for o in config["Origins"] if o["Id"] == origin_id]
    assert len(found) == 1, origin_id
    return found[0]


def test_the_page_bucket_is_private_encrypted_tls_only_and_logged(tpl: dict[str, Any]) -> None:
    site_id, site = one(tpl, "AWS::S3::Bucket", "ShopperPageSite")
    props = site["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert "WebsiteConfiguration" not in props  # never a public website endpoint
    logs_id, _ = one(tpl, "AWS::S3::Bucket", "ShopperPageLogs")
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    policy = one(tpl, "AWS::S3::BucketPolicy", "ShopperPageSitePolicy")[1]["Properties"]
    assert policy["Bucket"] == {"Ref": site_id}
    statements = policy["PolicyDocument"]["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
    assert not [s for s in statements if s["Effect"] == "Allow" and s["Principal"] == "*"]


def test_cloudfront_reads_the_bucket_only_through_origin_access_control(tpl: dict[str, Any]) -> None:
    oac_id, oac = one(tpl, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"] | {"Name": None} == {
        "Name": None,
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    config = distribution(tpl)
    site_origin = origin(config, config["DefaultCacheBehavior"]["TargetOriginId"])
    assert site_origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert site_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    distribution_id, _ = one(tpl, "AWS::CloudFront::Distribution")
    policy = one(tpl, "AWS::S3::BucketPolicy", "ShopperPageSitePolicy")[1]["Properties"]["PolicyDocument"]
    (read,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert as_list(read["Action"]) == ["s3:GetObject"]
    assert flat(read["Resource"]).endswith("/*")
    # Only this distribution may read: the condition names its ARN.
    assert distribution_id in json.dumps(read["Condition"]["StringEquals"]["AWS:SourceArn"])


def test_viewers_get_https_the_index_and_the_page_for_digital_links(tpl: dict[str, Any]) -> None:
    config = distribution(tpl)
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert config["DefaultRootObject"] == contracts.PAGE_INDEX
    function_id, function = one(tpl, "AWS::CloudFront::Function")
    assert default["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [function_id, "FunctionARN"]}}
    ]
    assert function["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert function["Properties"]["FunctionCode"] == deep_link_function()


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/01/09506000134352", "/index.html"),
        ("/01/09506000134352/10/LOT42", "/index.html"),
        ("/", "/"),
        ("/app.js", "/app.js"),
        ("/verify", "/verify"),
        ("/x/01/1", "/x/01/1"),
    ],
)
def test_the_deep_link_function_rewrites_only_digital_links(uri: str, expected: str) -> None:
    """Run the function's code as CloudFront would (node, which the CDK toolchain brings)."""
    script = deep_link_function() + f"\nprocess.stdout.write(handler({{request: {{uri: {json.dumps(uri)}}}}}).uri);\n"
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout == expected


def test_every_answer_carries_the_pages_security_headers(tpl: dict[str, Any]) -> None:
    policy_id, policy = one(tpl, "AWS::CloudFront::ResponseHeadersPolicy")
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert security["ContentSecurityPolicy"] == {
        "ContentSecurityPolicy": contracts.PAGE_CONTENT_SECURITY_POLICY,
        "Override": True,
    }
    assert (
        "connect-src 'self'" in contracts.PAGE_CONTENT_SECURITY_POLICY
        and "default-src 'none'" in contracts.PAGE_CONTENT_SECURITY_POLICY
    )
    assert security["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": contracts.PAGE_HSTS_SECONDS,
        "IncludeSubdomains": True,
        "Override": True,
    }
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["FrameOptions"] == {"FrameOption": contracts.PAGE_FRAME_OPTIONS, "Override": True}
    assert security["ReferrerPolicy"] == {"ReferrerPolicy": contracts.PAGE_REFERRER_POLICY, "Override": True}
    assert config["CustomHeadersConfig"]["Items"] == [
        {"Header": "Permissions-Policy", "Value": contracts.PAGE_PERMISSIONS_POLICY, "Override": True}
    ]
    behaviours = [distribution(tpl)["DefaultCacheBehavior"], *distribution(tpl)["CacheBehaviors"]]
    assert all(b["ResponseHeadersPolicyId"] == {"Ref": policy_id} for b in behaviours)


def test_access_is_logged_and_logs_expire(tpl: dict[str, Any]) -> None:
    logs_id, logs = one(tpl, "AWS::S3::Bucket", "ShopperPageLogs")
    assert distribution(tpl)["Logging"] == {
        "Bucket": {"Fn::GetAtt": [logs_id, "RegionalDomainName"]},
        "Prefix": "cloudfront/",
    }
    props = logs["Properties"]
    # CloudFront's standard logs are written with an ACL: the log bucket must allow object-writer ownership.
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] > 0
    assert logs["DeletionPolicy"] == "Retain"


def test_verify_is_routed_to_the_api_stage_on_the_same_origin_uncached(tpl: dict[str, Any]) -> None:
    """The API's URL is injected at deploy time as the distribution's second origin, so the page calls
    `/verify` on its own origin (no CORS)."""
    config = distribution(tpl)
    (behaviour,) = config["CacheBehaviors"]
    assert behaviour["PathPattern"] == VERIFY_PATH
    assert "POST" in behaviour["AllowedMethods"]
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER  # the query (brand), Content-Type
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    api = origin(config, behaviour["TargetOriginId"])
    assert api["CustomOriginConfig"] == {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}
    rest_api_id = next(iter(resources(tpl, "AWS::ApiGateway::RestApi")))
    domain = json.dumps(api["DomainName"])
    assert rest_api_id in domain and ".execute-api." in domain
    stage_id = next(
        k for k, v in resources(tpl, "AWS::ApiGateway::Stage").items() if v["Properties"]["StageName"] == STAGE_NAME
    )
    assert stage_id in json.dumps(api["OriginPath"])


def test_web_folder_is_deployed_with_no_cache_and_an_invalidation(tpl: dict[str, Any], synth: Any) -> None:
    site_id, _ = one(tpl, "AWS::S3::Bucket", "ShopperPageSite")
    distribution_id, _ = one(tpl, "AWS::CloudFront::Distribution")
    _, deployment = one(tpl, "Custom::CDKBucketDeployment")
    props = deployment["Properties"]
    assert props["DestinationBucketName"] == {"Ref": site_id}
    assert props["DistributionId"] == {"Ref": distribution_id}
    assert props["DistributionPaths"] == ["/*"]
    assert props["Prune"] is True
    assert props["SystemMetadata"] == {"cache-control": contracts.PAGE_CACHE_CONTROL}
    # The asset is web/ as it is (a zip, no bundling): every page file is in the staged copy.
    (key,) = as_list(props["SourceObjectKeys"])
    staged = synth.outdir / f"asset.{key.removesuffix('.zip')}"
    assert {p.name for p in staged.iterdir()} == {p.name for p in Path(WEB_ROOT).iterdir() if p.is_file()}


def test_the_deployment_handler_may_touch_only_the_asset_the_page_bucket_and_the_distribution(
    tpl: dict[str, Any],
) -> None:
    """CDK's BucketDeployment handler is exempt from the service stack's no-wildcard-action rule (its grants are
    aws-cdk-lib's): pin what it may do, so it cannot grow unnoticed."""
    site_id, _ = one(tpl, "AWS::S3::Bucket", "ShopperPageSite")
    (policy,) = [v for k, v in resources(tpl, "AWS::IAM::Policy").items() if k.startswith(CDK_HANDLERS)]
    allowed: dict[str, set[str]] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(flat(r) for r in as_list(statement["Resource"]))
    for action, targets in allowed.items():
        if action.startswith("cloudfront:"):
            assert action in {"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"}, action
            continue
        assert action.startswith("s3:"), action
        for target in targets:
            assert target.startswith((f"<{site_id}.Arn>", "arn:<AWS::Partition>:s3:::cdk-")), (action, target)
    writes = {a for a, targets in allowed.items() if a.startswith(("s3:Put", "s3:Delete", "s3:Abort"))}
    assert writes and all(t.startswith(f"<{site_id}.Arn>") for a in writes for t in allowed[a])


def test_the_stack_says_where_the_page_is(tpl: dict[str, Any]) -> None:
    output = tpl["Outputs"]["PageUrl"]
    distribution_id, _ = one(tpl, "AWS::CloudFront::Distribution")
    assert json.dumps(output["Value"]) == json.dumps(
        {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, "/"]]}
    )
