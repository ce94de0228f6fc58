"""The shopper's page: the static files of `web/` in a private S3 bucket, served by a CloudFront distribution that
also routes `POST /verify` to the REST API, so the page and the route it calls share one origin.

- The bucket blocks public access, refuses plain HTTP, is encrypted (SSE-S3) and logs its access; CloudFront
  reads it through origin access control (SigV4-signed requests, allowed by a bucket policy that names this
  distribution), never as a public website.
- Viewers are redirected to HTTPS. The distribution uses CloudFront's default certificate (`*.cloudfront.net`):
  no domain or certificate is needed to deploy, and CloudFront then negotiates TLS 1.0 and up with viewers;
  a custom domain with an ACM certificate would allow a TLS 1.2-only policy.
- Every answer carries the page's security headers (`authentic.contracts.PAGE_*`: CSP, HSTS, nosniff, frame and referrer
  policies), from one response-headers policy. Access logs go to a log bucket of this construct.
- `/01/...` (GS1 Digital Link URIs carrying a GTIN) is rewritten to `/index.html` by a CloudFront Function, so a
  brand can print one URI on its packaging; `/` serves `index.html`.
- `/verify` goes to the API stage with caching disabled and every viewer header but Host forwarded. The page
  calls it on its own origin: no CORS, no preflight round trip on a phone network, and `Retry-After` readable.
  The API's URL is injected at deploy time as this origin (domain and stage path, from the RestApi's tokens).
- The files are uploaded at deploy time by CDK's BucketDeployment (a plain zip asset; its handler runs in a
  provided Lambda layer, so `cdk synth` needs no Docker), with `Cache-Control: no-cache`, and the distribution's
  cache is invalidated.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from authentic import contracts
from stacks.constructs.nag import acknowledge, acknowledge_wildcard_resources
from stacks.constructs.storage import private_bucket

WEB_ROOT = Path(__file__).resolve().parents[2] / "web"
VERIFY_PATH = "/verify"
DEPLOYMENT_HANDLER_PREFIX = "Custom::CDKBucketDeployment"

GEO_REASON = "Shoppers anywhere may check a product: the page and its route are not restricted by country."
WAF_REASON = (
    "No WAF web ACL by default: the page is static and the one route it calls is throttled by API Gateway "
    "(method-level rate and burst limits); a WAFv2 web ACL with a rate-based rule can be associated with the "
    "distribution where per-client limits are needed (about 6 USD/month plus requests)."
)
TLS_REASON = (
    "The distribution uses CloudFront's default *.cloudfront.net certificate, with which CloudFront fixes the "
    "viewer security policy (TLSv1) and it cannot be raised; HTTPS is enforced (HTTP redirects). A custom domain "
    "with an ACM certificate would allow TLSv1.2_2021."
)
LOG_BUCKET_REASON = (
    "This bucket is the access-log destination of the page's bucket and of the distribution; logging its own "
    "access would log the log deliveries themselves."
)
DEPLOYMENT_REASONS = {
    "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
        "CDK's BucketDeployment handler (the custom resource that copies web/ into the page's bucket at deploy "
        "time) is built by aws-cdk-lib with the AWS-managed basic execution role; it runs only during deployments."
    ),
    "L1": (
        "CDK's BucketDeployment handler runtime is chosen by aws-cdk-lib (it runs the AWS CLI from a provided "
        "layer) and runs only during deployments of this stack."
    ),
}
# The wildcard actions of aws-cdk-lib's grant_read (the asset) and grant_read_write (the page's bucket).
DEPLOYMENT_WILDCARD_ACTIONS = ("s3:GetBucket*", "s3:GetObject*", "s3:List*", "s3:Abort*", "s3:DeleteObject*")
DEPLOYMENT_WILDCARD_REASON = (
    "CDK's BucketDeployment handler is granted read on this deployment's asset objects and read/write on the "
    "page's bucket objects by aws-cdk-lib's grant methods (which use wildcard actions and object ARNs), and "
    "cloudfront:CreateInvalidation to refresh the distribution; it runs only during deployments."
)


class ShopperPage(Construct):
    """The page's bucket, its distribution (with `/verify` routed to `api`), the headers and the deployment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigw.RestApi,
        log_retention_days: int,
        source: Path = WEB_ROOT,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (source / contracts.PAGE_INDEX).is_file():
            raise FileNotFoundError(f"the shopper's page is missing: no {contracts.PAGE_INDEX} in {source}")

        # CloudFront's standard logs are delivered with an ACL, so this bucket takes object-writer ownership.
        self.logs = private_bucket(
            self,
            "Logs",
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=cdk.Duration.days(log_retention_days))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(self.logs, "S1", LOG_BUCKET_REASON)

        # The page is code, redeployed with the stack: the bucket is emptied (by the deployment) and deleted with it.
        self.bucket = private_bucket(
            self,
            "Site",
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="s3/",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            comment="The shopper's page: CSP (own origin only), HSTS, nosniff, no framing, no referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=contracts.PAGE_CONTENT_SECURITY_POLICY, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.seconds(contracts.PAGE_HSTS_SECONDS),
                    include_subdomains=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption[contracts.PAGE_FRAME_OPTIONS], override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy[
                        contracts.PAGE_REFERRER_POLICY.upper().replace("-", "_")
                    ],
                    override=True,
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Permissions-Policy", value=contracts.PAGE_PERMISSIONS_POLICY, override=True
                    )
                ]
            ),
        )

        self.deep_links = cloudfront.Function(
            self,
            "DeepLinks",
            comment="GS1 Digital Link paths (/01/{gtin}/...) open the page",
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            code=cloudfront.FunctionCode.from_inline(deep_link_function()),
        )

        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="authentic: the shopper's page and POST /verify",
            default_root_object=contracts.PAGE_INDEX,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=self.deep_links, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
                compress=True,
            ),
            additional_behaviors={
                VERIFY_PATH: cloudfront.BehaviorOptions(
                    origin=origins.RestApiOrigin(api),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=self.headers,
                    compress=True,
                )
            },
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cloudfront/",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_ALL,
        )
        acknowledge(self.distribution, "CFR1", GEO_REASON)
        acknowledge(self.distribution, "CFR2", WAF_REASON)
        acknowledge(self.distribution, "CFR4", TLS_REASON)

        self.deployment = s3deploy.BucketDeployment(
            self,
            "Files",
            sources=[s3deploy.Source.asset(str(source))],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            cache_control=[s3deploy.CacheControl.from_string(contracts.PAGE_CACHE_CONTROL)],
            prune=True,
            memory_limit=256,
        )
        self._acknowledge_deployment_handler()

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}/"

    def _acknowledge_deployment_handler(self) -> None:
        """CDK's singleton BucketDeployment function sits at the stack's root, not under this construct."""
        stack = cdk.Stack.of(self)
        for handler in [c for c in stack.node.children if c.node.id.startswith(DEPLOYMENT_HANDLER_PREFIX)]:
            for rule, reason in DEPLOYMENT_REASONS.items():
                acknowledge(handler, rule, reason)
            for action in DEPLOYMENT_WILDCARD_ACTIONS:
                acknowledge(handler, f"IAM5[Action::{action}]", DEPLOYMENT_WILDCARD_REASON)
            # cloudfront:CreateInvalidation, which takes no resource narrower than "*".
            acknowledge(handler, "IAM5[Resource::*]", DEPLOYMENT_WILDCARD_REASON)
            acknowledge_wildcard_resources(
                handler, [f"{self.bucket.bucket_arn}/*", _assets_objects(stack)], DEPLOYMENT_WILDCARD_REASON
            )


def _assets_objects(stack: cdk.Stack) -> str:
    """The objects of the CDK bootstrap's file-asset bucket (where the page's zip is staged), as the grant writes
    them."""
    synthesizer = stack.synthesizer
    qualifier = getattr(synthesizer, "bootstrap_qualifier", None) or cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER
    bucket = cdk.DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace("${Qualifier}", qualifier)
    return f"arn:${{AWS::Partition}}:s3:::{bucket}/*"


def deep_link_function() -> str:
    """A CloudFront Function (cloudfront-js-2.0) that answers the page's deep links with its index."""
    prefixes = ", ".join(f"'{prefix}'" for prefix in contracts.PAGE_DEEP_LINK_PREFIXES)
    return (
        "function handler(event) {\n"
        "  var request = event.request;\n"
        f"  var prefixes = [{prefixes}];\n"
        "  for (var i = 0; i < prefixes.length; i++) {\n"
        f"    if (request.uri.indexOf(prefixes[i]) === 0) {{ request.uri = '/{contracts.PAGE_INDEX}'; break; }}\n"
        "  }\n"
        "  return request;\n"
        "}\n"
    )
