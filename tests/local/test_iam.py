"""IAM as AWS enforces it, locally: every function, the training job and the endpoint act as principals holding
exactly their roles' policies from the synthesized templates; what a policy does not allow is AccessDenied,
conditions are evaluated (S3 prefixes, instance types, the service a role is passed to), a missing object is 403
to a role that may not list the bucket, and `authentic local up` hands out each function's key for probes from
outside the process."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from authentic.aws import clients
from authentic.local.iam import principals
from authentic.local.iam.enforcer import AuthzRequest, Enforcer, sagemaker_requests
from authentic.local.iam.enforcer import Principal as Enforced
from authentic.local.iam.evaluator import ALLOWED, evaluator
from authentic.local.iam.principals import Principal
from authentic.local.provision import Provisioned
from authentic.settings import Settings
from tests.support.aws import as_function, as_role

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"

Call = Callable[[Settings], Any]


def _get(bucket: str, key: str) -> Call:
    return lambda config: clients.client("s3").get_object(Bucket=getattr(config, bucket), Key=key)


def _put(bucket: str, key: str) -> Call:
    return lambda config: clients.client("s3").put_object(Bucket=getattr(config, bucket), Key=key, Body=b"x")


def _put_item(config: Settings) -> Any:
    return clients.client("dynamodb").put_item(
        TableName=config.table_name, Item={"pk": {"S": "BRAND#acme"}, "sk": {"S": "PROBE"}}
    )


def _get_item(config: Settings) -> Any:
    return clients.client("dynamodb").get_item(
        TableName=config.table_name, Key={"pk": {"S": "BRAND#acme"}, "sk": {"S": "PROBE"}}
    )


# (function, what it tries, allowed?) -- each line is something the deployed role may or may not do
CASES: list[tuple[str, str, Call, bool]] = [
    ("ingest", "read an uploaded image", _get("uploads_bucket", "acme/p1/image"), True),
    ("ingest", "write the brand's dataset objects", _put("dataset_bucket", f"acme/objects/{'a' * 64}.jpg"), True),
    ("ingest", "write outside the dataset's objects", _put("dataset_bucket", "acme/images/a.jpg"), False),
    ("ingest", "write a live model", _put("live_bucket", "acme/v00001.tar.gz"), False),
    ("uploads", "read an upload back", _get("uploads_bucket", "acme/p1/image"), False),
    ("uploads", "write the dataset", _put("dataset_bucket", "acme/images/a.jpg"), False),
    ("verify", "read its item", _get_item, True),
    ("verify", "write the table", _put_item, False),
    ("verify", "read a live model", _get("live_bucket", "acme/v00001.tar.gz"), False),
    ("promotion", "read a job's output.tar.gz", _get("artifacts_bucket", "acme/job-1/output/output.tar.gz"), True),
    ("promotion", "write a live model", _put("live_bucket", "acme/v00001.tar.gz"), True),
    ("promotion", "write the dataset", _put("dataset_bucket", "acme/images/a.jpg"), False),
    ("training", "write the uploads bucket", _put("uploads_bucket", "acme/p1/image"), False),
]


@pytest.fixture
def seeded(app_settings: Settings, moto_aws: Provisioned) -> Settings:
    """Every object and item the cases read exists, put there by the administrator."""
    s3 = clients.client("s3")
    s3.put_object(Bucket=app_settings.uploads_bucket, Key="acme/p1/image", Body=b"jpeg")
    s3.put_object(Bucket=app_settings.artifacts_bucket, Key="acme/job-1/output/output.tar.gz", Body=b"tar")
    s3.put_object(Bucket=app_settings.live_bucket, Key="acme/v00001.tar.gz", Body=b"tar")
    _put_item(app_settings)
    return app_settings


@pytest.mark.parametrize(("function", "attempt", "call", "allowed"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_each_function_may_do_exactly_what_its_role_allows(
    seeded: Settings, function: str, attempt: str, call: Call, allowed: bool
) -> None:
    with as_function(function):
        if allowed:
            call(seeded)
            return
        with pytest.raises(ClientError) as denied:
            call(seeded)
    assert denied.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")


def test_a_missing_object_is_403_to_a_role_that_may_not_list_the_bucket(seeded: Settings) -> None:
    with as_function("ingest"), pytest.raises(ClientError) as listed:  # ingest may list the uploads bucket
        clients.client("s3").get_object(Bucket=seeded.uploads_bucket, Key="acme/p2/image")
    assert listed.value.response["Error"]["Code"] == "NoSuchKey"
    with as_function("promotion"), pytest.raises(ClientError) as unlisted:  # promotion may not list the dataset
        clients.client("s3").head_object(Bucket=seeded.dataset_bucket, Key="acme/missing.jpg")
    assert unlisted.value.response["Error"]["Code"] in ("403", "AccessDenied")


def test_s3_prefix_conditions_are_evaluated(seeded: Settings) -> None:
    with as_role("training"):
        s3 = clients.client("s3")  # a client is its principal's: made inside `as_role`
        s3.list_objects_v2(Bucket=seeded.artifacts_bucket, Prefix="acme/job-1/checkpoints/")
        for prefix in ("acme/", ""):
            with pytest.raises(ClientError) as denied:
                s3.list_objects_v2(Bucket=seeded.artifacts_bucket, Prefix=prefix)
            assert denied.value.response["Error"]["Code"] == "AccessDenied"


def _principal(aws_principals: tuple[Provisioned, principals.Principals], name: str) -> Principal:
    return aws_principals[1].functions[name]


def _decide(enforcer: Enforcer, principal: Principal, requests: list[AuthzRequest]) -> bool:
    return all(enforcer.decide(_as_enforced(principal), r) == ALLOWED for r in requests)


def _as_enforced(principal: Principal) -> Enforced:
    """The role's policies as the enforcer evaluates them for a call signed with the principal's key."""
    return Enforced(principal.role.arn, list(principal.role.policies.values()), principal.role.arn)


def _training_job(instance_type: str, role: str) -> dict[str, Any]:
    return {
        "TrainingJobName": "authentic-acme-1",
        "RoleArn": role,
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableNetworkIsolation": True,
    }


def test_sagemaker_conditions_are_evaluated(
    seeded: Settings, aws_principals: tuple[Provisioned, principals.Principals], app_settings: Settings
) -> None:
    """The training function may start a job only on its instance types, passing only the training role, and
    only to SageMaker."""
    enforcer = Enforcer(evaluator())
    training = _principal(aws_principals, "training")
    role = app_settings.training_role_arn
    assert role is not None

    def may_start(instance_type: str, passed: str) -> bool:
        requests = sagemaker_requests(
            "CreateTrainingJob", _training_job(instance_type, passed), "/", {}, account=ACCOUNT, region="us-east-1"
        )
        return _decide(enforcer, training, requests)

    allowed_type = _allowed_instance_type(training)
    assert may_start(allowed_type, role)
    assert not may_start("ml.p4d.24xlarge", role)  # an instance type the policy does not list
    assert not may_start(allowed_type, f"arn:aws:iam::{ACCOUNT}:role/authentic-admin")  # another role
    passed_elsewhere = AuthzRequest("iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert enforcer.decide(_as_enforced(training), passed_elsewhere) != ALLOWED
    verify = _principal(aws_principals, "verify")
    assert not _decide(
        enforcer,
        verify,
        sagemaker_requests(
            "CreateTrainingJob", _training_job(allowed_type, role), "/", {}, account=ACCOUNT, region="us-east-1"
        ),
    )


def _allowed_instance_type(principal: Principal) -> str:
    for document in principal.role.policies.values():
        for statement in document["Statement"]:
            listed = statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("sagemaker:InstanceTypes")
            if listed:
                return str(listed[0] if isinstance(listed, list) else listed)
    raise AssertionError("the training function's policy names no instance type")


def test_unknown_keys_and_anonymous_calls_are_refused(seeded: Settings) -> None:
    stranger = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="AKIAUNKNOWN000000000", aws_secret_access_key="x" * 40
    )
    with pytest.raises(ClientError) as unknown:
        stranger.get_object(Bucket=seeded.uploads_bucket, Key="acme/p1/image")
    assert unknown.value.response["Error"]["Code"] in ("InvalidAccessKeyId", "AccessDenied", "403")


# -- from outside the process: the keys `authentic local up` writes -------------------------------------------


@pytest.fixture(scope="module")
def local_up(tmp_path_factory: pytest.TempPathFactory) -> Any:
    state = tmp_path_factory.mktemp("state")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    process = subprocess.Popen(
        [sys.executable, "-m", "authentic.cli", "local", "up", "--port", "0", "--state", str(state)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    record = state / "runtime.json"
    deadline = time.monotonic() + 300
    while not record.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"local up did not start:\n{process.communicate()[0][-4000:]}")
        time.sleep(0.5)
    time.sleep(0.2)  # written in one go; let the writer close it
    try:
        yield record
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


def test_local_up_hands_out_each_functions_key_readable_by_its_owner_only(local_up: Path) -> None:
    assert stat.S_IMODE(local_up.stat().st_mode) == 0o600
    described = json.loads(local_up.read_text())
    assert set(described["resources"]) == {
        "uploads_bucket",
        "dataset_bucket",
        "artifacts_bucket",
        "live_bucket",
        "table",
    }
    assert {"uploads", "ingest", "training", "promotion", "verify"} <= set(described["functions"])

    def client(service: str, function: str) -> Any:
        keys = described["functions"][function]
        return boto3.client(
            service,
            region_name=described["region"],
            endpoint_url=described["aws_endpoint_url"],
            aws_access_key_id=keys["aws_access_key_id"],
            aws_secret_access_key=keys["aws_secret_access_key"],
        )

    resources = described["resources"]
    client("s3", "ingest").list_objects_v2(Bucket=resources["uploads_bucket"])  # allowed
    with pytest.raises(ClientError) as denied:
        client("s3", "uploads").list_objects_v2(Bucket=resources["uploads_bucket"])
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    item = {"pk": {"S": "BRAND#probe"}, "sk": {"S": "PROBE"}}
    with pytest.raises(ClientError) as refused:
        client("dynamodb", "verify").put_item(TableName=resources["table"], Item=item)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "verify" in refused.value.response["Error"]["Message"] or "not authorized" in str(refused.value)
