"""moto's own IAM authentication, with each decision made the way AWS makes it.

moto keeps doing what it does right: switching enforcement on and off (`moto.settings.INITIAL_NO_AUTH_ACTION_COUNT`,
read on every request), checking the SigV4 signature against the secret of the access key, and collecting the
principal's policies. Its authorization is wrong for this project (it ignores every Condition, passes resource
"*" for DynamoDB and SageMaker, uses action names IAM does not have, answers presigned requests with HTTP 500,
and a missing key with 404 where S3 says 403), so `Enforcer.install()` replaces that one decision:

1. the requests AWS would authorize for the call: real action names and resource ARNs, and the condition
   context (`s3:prefix`, `dynamodb:LeadingKeys`, `dynamodb:EnclosingOperation`, `aws:SecureTransport`, ...);
2. the decision, by the evaluator (`authentic.local.iam.evaluator`);
3. presigned URLs and POST forms (SigV4, and SigV2, which botocore uses in us-east-1): signature, expiry and
   the POST policy's conditions are checked (moto checks none), then the signer is authorized;
4. a GetObject/HeadObject of a missing key answers 403 when the principal may not `s3:ListBucket`, as S3 does;
5. `authorize_sagemaker` does the same for the local SageMaker stand-in (CreateTrainingJob with its instance
   type and `iam:PassRole`/`iam:PassedToService`, DescribeTrainingJob, InvokeEndpoint).

moto is pinned (==5.2.5) and these are its internal names; `tests/local/test_iam.py` fails loudly if they change.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import xmltodict
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.iam import access_control
from moto.iam.models import Policy
from moto.s3 import responses as s3_responses
from moto.s3.exceptions import BucketAccessDeniedError, S3AccessDeniedError, S3ClientError

from authentic.local.iam.evaluator import ALLOWED
from authentic.local.iam.policies import ACCOUNT, REGION


class Evaluator(Protocol):
    def decide(
        self,
        *,
        policies: Sequence[Mapping[str, Any]],
        principal: str,
        action: str,
        resource: str,
        context: Mapping[str, Any] | None = None,
        account_id: str = ...,
    ) -> str: ...


@dataclass(frozen=True)
class Principal:
    arn: str  # the user's ARN, or the assumed-role session's
    policies: list[dict[str, Any]]
    role_arn: str | None = None  # aws:PrincipalArn of an assumed role

    @property
    def principal_arn(self) -> str:
        return self.role_arn or self.arn


@dataclass(frozen=True)
class AuthzRequest:
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    principal: str
    request: AuthzRequest
    result: str


class DynamoDBAccessDenied(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("com.amazonaws.dynamodb.v20120810#AccessDeniedException", message)


class JsonAccessDenied(JsonRESTError):
    code = 403

    def __init__(self, message: str, error_type: str = "AccessDenied") -> None:
        super().__init__(error_type, message)


class S3PolicyError(S3ClientError):
    """An S3 error by code; moto's serializer derives the HTTP status from the code, as S3 answers."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def _documents(collected: Sequence[Any]) -> list[dict[str, Any]]:
    """moto's `collect_policies()` → policy documents."""
    out: list[dict[str, Any]] = []
    for policy in collected:
        if isinstance(policy, Policy):
            document: Any = next(v for v in policy.versions if v.is_default).document
        elif isinstance(policy, str):
            document = policy
        else:
            document = policy["policy_document"]
        out.append(json.loads(document) if isinstance(document, str) else dict(document))
    return out


def _principal_of(access_key: Any) -> Principal:
    role_arn = None
    if isinstance(access_key, access_control.AssumedRoleAccessKey):
        role_arn = f"arn:{access_key.partition}:iam::{access_key.account_id}:role/{access_key._owner_role_name}"
    return Principal(arn=access_key.arn, policies=_documents(access_key.collect_policies()), role_arn=role_arn)


def _first(query: Mapping[str, Any], name: str) -> Any:
    value = query.get(name)
    return value[0] if isinstance(value, list) else value


def _denial(principal: Principal, request: AuthzRequest, result: str) -> str:
    why = "with an explicit deny" if result == "ExplicitlyDenied" else "because no identity-based policy allows"
    return (
        f"User: {principal.arn} is not authorized to perform: {request.action} on resource: {request.resource} "
        f"{why} the {request.action} action"
    )


class Enforcer:
    """The decisions of one process's moto (in-process or its server) and of the local SageMaker stand-in."""

    def __init__(self, evaluator: Evaluator, *, account: str = ACCOUNT, region: str = REGION) -> None:
        self.evaluator = evaluator
        self.account = account
        self.region = region
        self.decisions: list[Decision] = []
        self._lock = threading.Lock()

    # -- switching ------------------------------------------------------------------------------------------
    def install(self) -> Enforcer:
        """Route moto's authorization through this enforcer (process-wide; the last installed one decides)."""
        global _installed  # noqa: PLW0603 - moto's hook is process-wide, so is the enforcer behind it
        _installed = self
        _patch_moto()
        return self

    @staticmethod
    def enable() -> None:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0

    @staticmethod
    def disable() -> None:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        ActionAuthenticatorMixin.request_count = 0

    @staticmethod
    def enabled() -> bool:
        return bool(moto_settings.INITIAL_NO_AUTH_ACTION_COUNT == 0)

    # -- the hook -------------------------------------------------------------------------------------------
    def authenticate_and_authorize(self, resp: Any, iam_request_cls: type, resource: str) -> None:
        if ActionAuthenticatorMixin.request_count < moto_settings.INITIAL_NO_AUTH_ACTION_COUNT:
            ActionAuthenticatorMixin.request_count += 1  # moto's own "the first N actions are free"
            return
        is_s3 = iam_request_cls is access_control.S3IAMRequest
        query = resp.querystring
        if "Authorization" in resp.headers:
            split = urlsplit(resp.uri)
            iam_request = iam_request_cls(
                account_id=resp.current_account,
                method=resp.method,
                path=resp.raw_path + ("?" + split.query if split.query else ""),
                data=resp.data,
                body=resp.raw_body,
                headers=resp.headers,
                action=resp._get_action(),
            )
            iam_request.check_signature()  # moto: InvalidAccessKeyId / SignatureDoesNotMatch as AWS words them
            principal = _principal_of(iam_request._access_key)
            service = str(iam_request._service)
        elif is_s3 and _first(query, "X-Amz-Credential"):
            principal, service = self._presigned_url(resp), "s3"
        elif is_s3 and _first(query, "AWSAccessKeyId") and _first(query, "Signature"):
            principal, service = self._presigned_url_v2(resp), "s3"
        elif is_s3 and resp.method == "POST" and (_first(query, "x-amz-signature") or _first(query, "signature")):
            principal, service = self._presigned_post(resp), "s3"
        else:  # anonymous: no identity policy can allow it
            raise S3AccessDeniedError() if is_s3 else JsonAccessDenied("anonymous request")
        resp._iam_principal = principal
        for request in self._requests(resp, service, resource):
            result = self.decide(principal, request)
            if result != ALLOWED:
                self._deny(resp, service, principal, request, result)

    def decide(self, principal: Principal, request: AuthzRequest) -> str:
        context = {
            "aws:SecureTransport": "true",  # deployed clients speak TLS; the local http hop is the emulation's
            "aws:RequestedRegion": self.region,
            "aws:PrincipalArn": principal.principal_arn,
            "aws:PrincipalAccount": self.account,
            **request.context,
        }
        result = self.evaluator.decide(
            policies=principal.policies,
            principal=principal.arn,
            action=request.action,
            resource=request.resource,
            context=context,
            account_id=self.account,
        )
        with self._lock:
            self.decisions.append(Decision(principal.arn, request, result))
        return result

    def _deny(self, resp: Any, service: str, principal: Principal, request: AuthzRequest, result: str) -> None:
        message = _denial(principal, request, result)
        if service == "s3":
            bucket = resp.data.get("BucketName")
            raise BucketAccessDeniedError(bucket) if bucket else S3AccessDeniedError()
        if service == "dynamodb":
            raise DynamoDBAccessDenied(message)
        raise JsonAccessDenied(message)

    def missing_is_forbidden(self, resp: Any) -> bool:
        principal: Principal | None = getattr(resp, "_iam_principal", None)
        if principal is None:  # enforcement off, or not a request this enforcer authorized
            return False
        bucket = resp.data.get("BucketName") or resp.bucket_name
        return self.decide(principal, AuthzRequest("s3:ListBucket", f"arn:aws:s3:::{bucket}")) != ALLOWED

    # -- what AWS would evaluate, per service ---------------------------------------------------------------
    def _requests(self, resp: Any, service: str, resource: str) -> list[AuthzRequest]:
        action = str(resp._get_action())
        if service == "s3":
            return self._s3_requests(resp, resource)
        if service == "dynamodb":
            return self._dynamodb_requests(resp, action)
        if service == "sqs":
            if action == "GetQueueUrl":
                resource = f"arn:aws:sqs:{self.region}:{self.account}:{resp._get_param('QueueName')}"
            # SQS has no IAM action for its batch calls: DeleteMessageBatch is sqs:DeleteMessage, and so on
            return [AuthzRequest(f"sqs:{action.removesuffix('Batch')}", resource)]
        if service == "sts" and action == "GetCallerIdentity":
            return []  # needs no permission
        return [AuthzRequest(f"{service}:{action}", resource)]

    def _s3_requests(self, resp: Any, resource: str) -> list[AuthzRequest]:
        query = resp.querystring
        action = "s3:" + str(resp.data["Action"])
        bucket = resp.data.get("BucketName")
        if resp.method == "HEAD" and action == "s3:GetObject" and "versionId" in query:
            action = "s3:GetObjectVersion"  # moto maps every HEAD of a key to GetObject
        if resp.method == "POST" and "key" in query and "delete" not in query:
            resource = f"arn:aws:s3:::{bucket}/{_first(query, 'key')}"  # moto: the bucket's ARN only
        if resp.method == "POST" and "delete" in query:  # DeleteObjects: one DeleteObject(Version) per key
            listed = xmltodict.parse(resp.raw_body)["Delete"].get("Object", [])
            objects = listed if isinstance(listed, list) else [listed]
            return [
                AuthzRequest(
                    "s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject",
                    f"arn:aws:s3:::{bucket}/{o['Key']}",
                )
                for o in objects
            ]
        context: dict[str, Any] = {}
        if action in ("s3:ListBucket", "s3:ListBucketVersions"):
            for name, key in (("prefix", "s3:prefix"), ("delimiter", "s3:delimiter"), ("max-keys", "s3:max-keys")):
                if name in query:
                    context[key] = _first(query, name)
        requests = [AuthzRequest(action, resource, context)]
        copy_source = resp.headers.get("x-amz-copy-source")
        if resp.method == "PUT" and copy_source:
            source, _, source_query = unquote(copy_source).lstrip("/").partition("?")
            read = "s3:GetObjectVersion" if "versionId=" in source_query else "s3:GetObject"
            requests.append(AuthzRequest(read, f"arn:aws:s3:::{source}"))
        if resp.method == "PUT" and resp.headers.get("x-amz-tagging") and action == "s3:PutObject":
            requests.append(AuthzRequest("s3:PutObjectTagging", resource))
        return requests

    def _dynamodb_requests(self, resp: Any, action: str) -> list[AuthzRequest]:
        body = json.loads(resp.raw_body or b"{}")

        def table_arn(name: str, index: str | None = None) -> str:
            arn = f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
            return f"{arn}/index/{index}" if index else arn

        if action in ("TransactWriteItems", "TransactGetItems"):
            operations = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
                "Get": "GetItem",
            }
            out = []
            for item in body.get("TransactItems", []):
                ((kind, spec),) = item.items()
                context = {"dynamodb:EnclosingOperation": action, **_leading_keys(spec)}
                out.append(AuthzRequest(f"dynamodb:{operations[kind]}", table_arn(spec["TableName"]), context))
            return out
        if action in ("BatchWriteItem", "BatchGetItem"):
            return [AuthzRequest(f"dynamodb:{action}", table_arn(name)) for name in body.get("RequestItems", {})]
        if "TableName" in body:
            arn = table_arn(body["TableName"], body.get("IndexName"))
            return [AuthzRequest(f"dynamodb:{action}", arn, _leading_keys(body))]
        return [AuthzRequest(f"dynamodb:{action}", "*")]

    # -- presigned requests ---------------------------------------------------------------------------------
    def _key_for(self, access_key_id: str, token: str | None) -> Any:
        headers = {"X-Amz-Security-Token": token} if token else {}
        try:
            return access_control.create_access_key(
                account_id=self.account, partition="aws", access_key_id=access_key_id, headers=headers
            )
        except access_control.CreateAccessKeyFailure:
            raise S3PolicyError(
                "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            ) from None

    def _presigned_url(self, resp: Any) -> Principal:
        query = {k: v[0] if isinstance(v, list) else v for k, v in resp.querystring.items()}
        access_key_id, _date, region, service, _ = query["X-Amz-Credential"].split("/")
        key = self._key_for(access_key_id, query.get("X-Amz-Security-Token"))
        signed_at = dt.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        if dt.datetime.now(dt.UTC) > signed_at + dt.timedelta(seconds=int(query["X-Amz-Expires"])):
            raise S3PolicyError("AccessDenied", "Request has expired")
        parts = urlsplit(resp.uri)
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "X-Amz-Signature"]
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))
        signed = query["X-Amz-SignedHeaders"].split(";")
        request = AWSRequest(
            method=resp.method, url=url, headers={h: resp.headers[h] for h in signed if h in resp.headers}
        )
        request.context["timestamp"] = query["X-Amz-Date"]
        auth = S3SigV4QueryAuth(key.create_credentials(), service, region, expires=int(query["X-Amz-Expires"]))
        canonical = auth.canonical_request(request)
        expected = auth.signature(auth.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
            raise S3PolicyError("SignatureDoesNotMatch", "The request signature we calculated does not match")
        return _principal_of(key)

    def _presigned_url_v2(self, resp: Any) -> Principal:
        query = {k: v[0] if isinstance(v, list) else v for k, v in resp.querystring.items()}
        key = self._key_for(query["AWSAccessKeyId"], query.get("x-amz-security-token"))
        if dt.datetime.now(dt.UTC).timestamp() > int(query["Expires"]):
            raise S3PolicyError("AccessDenied", "Request has expired")
        parts = urlsplit(resp.uri)
        dropped = {"AWSAccessKeyId", "Signature", "Expires", "x-amz-security-token"}
        kept = "&".join(p for p in parts.query.split("&") if p.split("=", 1)[0] not in dropped)
        auth = HmacV1QueryAuth(key.create_credentials(), expires=0)
        auth._get_date = lambda: query["Expires"]  # type: ignore[method-assign]  # SigV2 signs Expires
        headers = HTTPHeaders()
        for name in ("content-md5", "content-type"):
            if name in query:
                headers[name] = query[name]
        expected = auth.get_signature(resp.method, urlsplit(urlunsplit(("", "", parts.path, kept, ""))), headers)
        if not hmac.compare_digest(expected, query["Signature"]):
            raise S3PolicyError("SignatureDoesNotMatch", "The request signature we calculated does not match")
        return _principal_of(key)

    def _presigned_post(self, resp: Any) -> Principal:
        form = {k.lower(): v for k, v in resp.form_data.items()}  # the form as sent (moto adds keys to .data)
        if "x-amz-signature" in form:  # a SigV4 form
            access_key_id, date, region, service, _ = form["x-amz-credential"].split("/")
            key = self._key_for(access_key_id, form.get("x-amz-security-token"))
            signing_key = _sigv4_key(key.create_credentials().secret_key, date, region, service)
            expected = hmac.new(signing_key, form["policy"].encode(), hashlib.sha256).hexdigest()
            given = form["x-amz-signature"]
        else:  # a SigV2 form (AWSAccessKeyId, signature): botocore's default in us-east-1
            key = self._key_for(form["awsaccesskeyid"], form.get("x-amz-security-token"))
            expected = HmacV1Auth(key.create_credentials()).sign_string(form["policy"])
            given = form["signature"]
        if not hmac.compare_digest(expected, given):
            raise S3PolicyError("SignatureDoesNotMatch", "The request signature we calculated does not match")
        policy = json.loads(base64.b64decode(form["policy"]))
        _check_post_policy(policy, form, resp.data.get("BucketName"), len(resp.raw_body or b""))
        return _principal_of(key)


_LEADING_KEY = "pk"  # the table's partition key (authentic.local.provision.TABLE_KEYS)
_KEY_CONDITION = re.compile(r"(#?\w+)\s*=\s*(:\w+)")


def _leading_keys(spec: Mapping[str, Any]) -> dict[str, Any]:
    """`dynamodb:LeadingKeys`: the partition key value(s) an item-level call touches, when it names them."""
    key = spec.get("Key") or spec.get("Item")
    if isinstance(key, Mapping) and isinstance(key.get(_LEADING_KEY), Mapping):
        return {"dynamodb:LeadingKeys": [str(next(iter(key[_LEADING_KEY].values())))]}
    expression = spec.get("KeyConditionExpression")
    if isinstance(expression, str):
        names = spec.get("ExpressionAttributeNames", {})
        values = spec.get("ExpressionAttributeValues", {})
        for name, placeholder in _KEY_CONDITION.findall(expression):
            if names.get(name, name) == _LEADING_KEY and placeholder in values:
                return {"dynamodb:LeadingKeys": [str(next(iter(values[placeholder].values())))]}
    return {}


def _sigv4_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


_IGNORED_FIELDS = {"policy", "x-amz-signature", "file", "signature", "awsaccesskeyid"}


def _check_post_policy(policy: Mapping[str, Any], form: Mapping[str, str], bucket: str | None, size: int) -> None:
    """S3's POST policy rules: not expired; every condition holds; every form field covered by a condition."""
    expiration = dt.datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    if dt.datetime.now(dt.UTC) > expiration:
        raise S3PolicyError("AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {**form, "bucket": bucket or ""}
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        covered |= _check_post_condition(condition, values, size)
    for name in form:
        if name not in _IGNORED_FIELDS and not name.startswith("x-ignore-") and name not in covered:
            raise S3PolicyError("AccessDenied", f"Invalid according to Policy: Extra input fields: {name}")


def _check_post_condition(condition: Any, values: Mapping[str, str], size: int) -> set[str]:
    """One condition of a POST policy; the form fields it covers."""

    def failed() -> S3PolicyError:
        return S3PolicyError("AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}")

    if isinstance(condition, dict):
        for name, expected in condition.items():
            if values.get(name.lower()) != expected:
                raise failed()
        return {name.lower() for name in condition}
    if condition[0] == "content-length-range":
        low, high = int(condition[1]), int(condition[2])
        if size > high:
            raise S3PolicyError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        if size < low:
            raise S3PolicyError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
        return set()
    operator, name, expected = condition
    field_name = str(name).lstrip("$").lower()
    actual = values.get(field_name, "")
    if (operator == "eq" and actual != expected) or (operator == "starts-with" and not actual.startswith(expected)):
        raise failed()
    return {field_name}


# -- moto's hooks ---------------------------------------------------------------------------------------------

_installed: Enforcer | None = None
_original_key_response: Callable[..., Any] | None = None


def _patch_moto() -> None:
    """Replace moto's decision and wrap its key response, once per process."""
    global _original_key_response  # noqa: PLW0603 - the wrapped original, kept once
    if _original_key_response is not None:
        return
    _original_key_response = s3_responses.S3Response._key_response

    def authenticate_and_authorize(resp: Any, iam_request_cls: type, resource: str = "*") -> None:
        if _installed is None:  # pragma: no cover - installed before patching
            return
        _installed.authenticate_and_authorize(resp, iam_request_cls, resource)

    def key_response(resp: Any, request: Any, full_url: str) -> Any:
        assert _original_key_response is not None
        try:
            result = _original_key_response(resp, request, full_url)
        except S3ClientError as exc:
            if getattr(exc, "code", None) == "NoSuchKey" and _installed and _installed.missing_is_forbidden(resp):
                raise S3AccessDeniedError() from None
            raise
        missing = request.method == "HEAD" and isinstance(result, tuple) and result[0] == 404
        if missing and _installed and _installed.missing_is_forbidden(resp):
            return 403, {}, ""
        return result

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize  # type: ignore[method-assign,assignment]
    s3_responses.S3Response._key_response = key_response  # type: ignore[method-assign,assignment]


# -- the SageMaker stand-in's authorizer ----------------------------------------------------------------------


def sagemaker_requests(
    action: str, body: Mapping[str, Any], path: str, headers: Mapping[str, str], *, account: str, region: str
) -> list[AuthzRequest]:
    """What SageMaker authorizes for the calls the local stand-in implements (names are lowercased in ARNs)."""
    arn = f"arn:aws:sagemaker:{region}:{account}"
    if action == "CreateTrainingJob":
        job = f"{arn}:training-job/{str(body['TrainingJobName']).lower()}"
        tags = {t["Key"]: t["Value"] for t in body.get("Tags", [])}
        tag_context: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
        if tags:
            tag_context["aws:TagKeys"] = list(tags)
        resources = body.get("ResourceConfig", {})
        context: dict[str, Any] = {
            "sagemaker:InstanceTypes": [resources["InstanceType"]] if "InstanceType" in resources else [],
            "sagemaker:MaxRuntimeInSeconds": str(body.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", "")),
            "sagemaker:NetworkIsolation": str(bool(body.get("EnableNetworkIsolation", False))).lower(),
            "sagemaker:InterContainerTrafficEncryption": str(
                bool(body.get("EnableInterContainerTrafficEncryption", False))
            ).lower(),
            **tag_context,
        }
        context = {k: v for k, v in context.items() if v not in ("", [])}
        requests = [
            AuthzRequest("sagemaker:CreateTrainingJob", job, context),
            AuthzRequest(
                "iam:PassRole",
                str(body["RoleArn"]),
                {"iam:PassedToService": "sagemaker.amazonaws.com", "iam:AssociatedResourceArn": job},
            ),
        ]
        if tags:
            requests.append(AuthzRequest("sagemaker:AddTags", job, tag_context))
        return requests
    if action == "DescribeTrainingJob":
        job = f"{arn}:training-job/{str(body['TrainingJobName']).lower()}"
        return [AuthzRequest("sagemaker:DescribeTrainingJob", job)]
    if action == "InvokeEndpoint":  # POST /endpoints/{name}/invocations
        endpoint = path.split("/")[2]
        target = next((v for k, v in headers.items() if k.lower() == "x-amzn-sagemaker-target-model"), None)
        invoke_context = {"sagemaker:TargetModel": target} if target else {}
        return [AuthzRequest("sagemaker:InvokeEndpoint", f"{arn}:endpoint/{endpoint.lower()}", invoke_context)]
    raise ValueError(f"no authorization model for sagemaker:{action}")


def authorize_sagemaker(
    enforcer: Enforcer, *, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> tuple[int, dict[str, Any]] | None:
    """None when allowed; else (HTTP status, JSON error body) as SageMaker answers. Enforcement off → None."""
    if not enforcer.enabled():
        return None
    headers = {name.title(): value for name, value in headers.items()}  # moto reads "Authorization", "X-Amz-Date"
    target = headers.get("X-Amz-Target", "")
    action = target.split(".")[-1] if target else ("InvokeEndpoint" if path.endswith("/invocations") else "")
    try:
        iam_request = access_control.IAMRequest(
            account_id=enforcer.account,
            method=method,
            path=path,
            data={},
            body=body,
            headers=dict(headers),
            action=action,
        )
        iam_request.check_signature()
    except Exception as exc:
        code = getattr(exc, "error_type", type(exc).__name__)
        return 403, {"__type": code, "message": getattr(exc, "message", str(exc))}
    principal = _principal_of(iam_request._access_key)
    parsed = json.loads(body or b"{}") if target else {}
    for request in sagemaker_requests(action, parsed, path, headers, account=enforcer.account, region=enforcer.region):
        result = enforcer.decide(principal, request)
        if result != ALLOWED:
            return 400, {"__type": "AccessDeniedException", "message": _denial(principal, request, result)}
    return None
