"""The service stack: Lambda defaults, the environment, least-privilege IAM, the triggers and the API."""

from __future__ import annotations

import re
from typing import Any

import pytest

from authentic import wiring
from authentic.settings import Settings
from stacks.config import AppConfig
from stacks.constructs.api import STAGE_NAME
from stacks.constructs.bundling import RUNTIME
from stacks.constructs.lambdas import POWERTOOLS_ENVIRONMENT
from tests.infra.infra_support import (
    as_list,
    cdk_free,
    flat,
    logical_id,
    resources,
    statements_allowing,
    statements_of,
    wired_functions,
)

CONFIG = AppConfig()
JOB_ARN_SUFFIX = f":training-job/{CONFIG.job_prefix}-*"


@pytest.fixture(scope="module")
def tpl(synth: Any) -> dict[str, Any]:
    template: dict[str, Any] = synth.service_json
    return template


def function_id(tpl: dict[str, Any], name: str) -> str:
    handler = wiring.function(name).handler
    found = [k for k, v in resources(tpl, "AWS::Lambda::Function").items() if v["Properties"]["Handler"] == handler]
    assert len(found) == 1, (name, found)
    return found[0]


def role_id(tpl: dict[str, Any], name: str) -> str:
    role = tpl["Resources"][function_id(tpl, name)]["Properties"]["Role"]
    lid: str = role["Fn::GetAtt"][0]
    return lid


def statements(tpl: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return statements_of(tpl, role_id(tpl, name))


def s3_write_targets(stmts: list[dict[str, Any]]) -> set[str]:
    writes = {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"}
    return {flat(r) for s in stmts if writes & set(as_list(s["Action"])) for r in as_list(s["Resource"])}


# -- Lambda defaults ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.name)
def test_every_function_follows_the_defaults(tpl: dict[str, Any], spec: wiring.Function) -> None:
    props = tpl["Resources"][function_id(tpl, spec.name)]["Properties"]
    assert props["Runtime"] == RUNTIME.name == "python3.12"
    assert props["Architectures"] == ["x86_64"]
    assert props["Timeout"] == spec.timeout_seconds
    assert props["MemorySize"] == spec.memory_mb
    assert props["TracingConfig"] == {"Mode": "Active"}
    logging = props["LoggingConfig"]
    assert logging["LogFormat"] == "JSON"
    assert logging["ApplicationLogLevel"] == "INFO"
    log_group = tpl["Resources"][logging["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == CONFIG.log_retention_days
    assert "FunctionName" not in props


def test_all_functions_share_one_code_asset(tpl: dict[str, Any]) -> None:
    codes = {
        (str(v["Properties"]["Code"]["S3Bucket"]), v["Properties"]["Code"]["S3Key"])
        for v in wired_functions(tpl).values()
    }
    assert len(codes) == 1


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.name)
def test_every_function_gets_the_settings_environment(tpl: dict[str, Any], spec: wiring.Function) -> None:
    variables = tpl["Resources"][function_id(tpl, spec.name)]["Properties"]["Environment"]["Variables"]
    expected = {name.upper() for name in Settings.model_fields} | set(POWERTOOLS_ENVIRONMENT)
    assert set(variables) == expected
    assert variables["POWERTOOLS_SERVICE_NAME"] == "authentic"
    assert variables["JOB_PREFIX"] == CONFIG.job_prefix
    assert variables["MAX_IMAGE_BYTES"] == str(CONFIG.max_image_bytes)
    assert variables["QUALITY_GATE_MAP50"] == str(CONFIG.quality_gate_map50)
    assert variables["TRAINING_USE_SPOT"] == "false"
    assert "Stateful" in flat(variables["TABLE_NAME"])  # the real table, imported from the stateful stack
    # The environment reproduces a valid Settings (tokens stand in for names here).
    Settings.from_env({k: v if isinstance(v, str) else "token" for k, v in variables.items()})


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.name)
def test_every_role_is_for_lambda_only_and_has_no_managed_policies(tpl: dict[str, Any], spec: wiring.Function) -> None:
    role = tpl["Resources"][role_id(tpl, spec.name)]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role
    logs = statements_allowing(statements(tpl, spec.name), "logs:PutLogEvents")
    assert [s["Resource"]["Fn::GetAtt"][1] for s in logs] == ["Arn"]  # its own log group, not logs:*


# Actions IAM cannot scope to a resource; everything else must name one.
UNSCOPABLE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
}


def test_no_wildcard_actions_and_no_star_resource_except_unscopable_actions(tpl: dict[str, Any]) -> None:
    # CDK's own deploy-time handlers are granted by aws-cdk-lib (test_web_construct pins what they may do).
    for policy in cdk_free(resources(tpl, "AWS::IAM::Policy")).values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = as_list(statement["Action"])
            assert not any("*" in a for a in actions), statement
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= UNSCOPABLE, statement
                if "cloudwatch:PutMetricData" in actions:
                    assert "cloudwatch:namespace" in str(statement["Condition"]), statement


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.name)
def test_functions_use_star_only_for_xray(tpl: dict[str, Any], spec: wiring.Function) -> None:
    for statement in statements(tpl, spec.name):
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


# -- Upload ingest --------------------------------------------------------------------------------------------


def test_upload_forms_may_put_only_the_two_upload_keys(tpl: dict[str, Any]) -> None:
    targets = s3_write_targets(statements(tpl, "uploads"))
    assert len(targets) == 2
    assert {t.split("/", 1)[1] for t in targets} == {"*/*/image", "*/*/annotation.json"}
    assert all("StorageUploads" in t for t in targets)


def test_ingest_reads_uploads_and_writes_only_objects_into_the_dataset(tpl: dict[str, Any]) -> None:
    stmts = statements(tpl, "ingest")
    reads = {flat(r) for s in statements_allowing(stmts, "s3:GetObject") for r in as_list(s["Resource"])}
    assert {r.split("/", 1)[1] for r in reads} == {"*/*/image", "*/*/annotation.json"}
    assert all("StorageUploads" in r for r in reads)
    targets = s3_write_targets(stmts)
    assert {t.split("/", 1)[1] for t in targets} == {"*/objects/*"}
    assert all("StorageDataset" in t for t in targets)
    assert not statements_allowing(stmts, "s3:DeleteObject")  # immutable objects: never deleted


def test_ingest_is_triggered_by_the_upload_queue_with_partial_batch_failures(tpl: dict[str, Any]) -> None:
    mappings = list(resources(tpl, "AWS::Lambda::EventSourceMapping").values())
    assert len(mappings) == 1
    props = mappings[0]["Properties"]
    assert props["FunctionName"] == {"Ref": function_id(tpl, "ingest")}
    assert "UploadNotificationsQueue" in flat(props["EventSourceArn"])
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    consume = statements_allowing(statements(tpl, "ingest"), "sqs:ReceiveMessage")
    assert [flat(s["Resource"]) for s in consume] == [flat(props["EventSourceArn"])]


# -- Training orchestration and promotion ---------------------------------------------------------------------


def test_training_jobs_are_created_only_with_this_prefix_and_instance_type(tpl: dict[str, Any]) -> None:
    (create,) = statements_allowing(statements(tpl, "training"), "sagemaker:CreateTrainingJob")
    assert flat(create["Resource"]).endswith(JOB_ARN_SUFFIX)
    assert create["Condition"] == {
        "ForAllValues:StringEquals": {"sagemaker:InstanceTypes": [CONFIG.training.instance_type]},
        "Bool": {"sagemaker:NetworkIsolation": "true"},
    }
    for action in ("sagemaker:DescribeTrainingJob", "sagemaker:AddTags"):
        (statement,) = statements_allowing(statements(tpl, "training"), action)
        assert flat(statement["Resource"]).endswith(JOB_ARN_SUFFIX)


def test_pass_role_is_only_the_training_role_and_only_to_sagemaker(tpl: dict[str, Any]) -> None:
    passes = [
        (policy_id, s)
        for policy_id, policy in resources(tpl, "AWS::IAM::Policy").items()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "iam:PassRole" in as_list(s["Action"])
    ]
    assert len(passes) == 1
    _, statement = passes[0]
    assert statement in statements(tpl, "training")
    assert as_list(statement["Action"]) == ["iam:PassRole"]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    (target,) = as_list(statement["Resource"])
    passed_role = target["Fn::GetAtt"][0]
    assert tpl["Resources"][passed_role]["Type"] == "AWS::IAM::Role"
    trust = tpl["Resources"][passed_role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert {flat(s["Principal"].get("Service")) for s in trust} == {"sagemaker.amazonaws.com"}
    assert passed_role.startswith("Training")  # the training construct's execution role


def test_training_writes_only_manifests_and_copies_into_live(tpl: dict[str, Any]) -> None:
    stmts = statements(tpl, "training")
    targets = s3_write_targets(stmts)
    dataset = {t.split("/", 1)[1] for t in targets if "StorageDataset" in t}
    assert dataset == {"*/manifests/*"}
    # A freeze reads the table, never the dataset's objects.
    reads = {flat(r) for s in statements_allowing(stmts, "s3:GetObject") for r in as_list(s["Resource"])}
    assert not any("StorageDataset" in r for r in reads)
    live = {t.split("/", 1)[1] for t in targets if "StorageLiveModels" in t}
    assert live == {"*/v*.tar.gz"}
    assert targets == {t for t in targets if "StorageDataset" in t or "StorageLiveModels" in t}


def test_promotion_reads_artifacts_and_writes_only_new_live_keys(tpl: dict[str, Any]) -> None:
    stmts = statements(tpl, "promotion")
    targets = s3_write_targets(stmts)
    assert {t.split("/", 1)[1] for t in targets} == {"*/v*.tar.gz"}
    assert all("StorageLiveModels" in t for t in targets)
    assert not statements_allowing(stmts, "s3:DeleteObject")
    reads = {flat(r) for s in statements_allowing(stmts, "s3:GetObject") for r in as_list(s["Resource"])}
    assert any("StorageArtifacts" in r and r.endswith("/*/output/model.tar.gz") for r in reads)
    (describe,) = statements_allowing(stmts, "sagemaker:DescribeTrainingJob")
    assert flat(describe["Resource"]).endswith(JOB_ARN_SUFFIX)
    assert not statements_allowing(stmts, "sagemaker:CreateTrainingJob")


def test_the_state_change_rule_matches_only_this_deployments_final_states(tpl: dict[str, Any]) -> None:
    rules = list(resources(tpl, "AWS::Events::Rule").values())
    assert len(rules) == 1
    props = rules[0]["Properties"]
    assert props["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Training Job State Change"],
        "detail": {
            "TrainingJobName": [{"prefix": f"{CONFIG.job_prefix}-"}],
            "TrainingJobStatus": ["Completed", "Failed", "Stopped"],
        },
    }
    assert props["EventPattern"] == wiring.training_state_pattern(CONFIG.job_prefix)  # shared with the local runtime
    assert "EventBusName" not in props  # the default bus, where SageMaker publishes
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id(tpl, "promotion"), "Arn"]}
    dlq = logical_id(tpl, "AWS::SQS::Queue", "PromotionDeadLetterQueue")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_failed_promotions_are_kept_in_a_dead_letter_queue(tpl: dict[str, Any]) -> None:
    dlq = logical_id(tpl, "AWS::SQS::Queue", "PromotionDeadLetterQueue")
    (config,) = resources(tpl, "AWS::Lambda::EventInvokeConfig").values()
    props = config["Properties"]
    assert props["FunctionName"] == {"Ref": function_id(tpl, "promotion")}
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq, "Arn"]}}}
    assert tpl["Resources"][dlq]["Properties"]["SqsManagedSseEnabled"] is True


# -- Verify -------------------------------------------------------------------------------------------------


def test_verify_may_invoke_only_the_endpoint_and_read_the_table(tpl: dict[str, Any]) -> None:
    stmts = statements(tpl, "verify")
    (invoke,) = statements_allowing(stmts, "sagemaker:InvokeEndpoint")
    assert as_list(invoke["Action"]) == ["sagemaker:InvokeEndpoint"]
    (endpoint,) = resources(tpl, "AWS::SageMaker::Endpoint")
    assert as_list(invoke["Resource"]) == [{"Ref": endpoint}]  # Ref of an AWS::SageMaker::Endpoint is its ARN
    others = [s for s in stmts if s is not invoke]
    actions = {a for s in others for a in as_list(s["Action"])}
    assert not {a for a in actions if a.startswith(("s3:", "sagemaker:", "iam:"))}
    assert not {a for a in actions if a.startswith("dynamodb:") and ("Put" in a or "Update" in a or "Delete" in a)}
    # No other function may invoke the endpoint.
    for name in (f.name for f in wiring.FUNCTIONS if f.name != "verify"):
        assert not statements_allowing(statements(tpl, name), "sagemaker:InvokeEndpoint")


# -- API ------------------------------------------------------------------------------------------------------


def test_the_api_accepts_photos_as_binary_bodies(service: Any) -> None:
    service.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"BinaryMediaTypes": list(wiring.BINARY_MEDIA_TYPES), "EndpointConfiguration": {"Types": ["REGIONAL"]}},
    )


def test_brand_routes_require_iam_and_verify_is_public(tpl: dict[str, Any]) -> None:
    methods = list(resources(tpl, "AWS::ApiGateway::Method").values())
    public = [m for m in methods if m["Properties"]["AuthorizationType"] == "NONE"]
    signed = [m for m in methods if m["Properties"]["AuthorizationType"] == "AWS_IAM"]
    assert len(public) == sum(1 for r in wiring.ROUTES if r.auth is wiring.Auth.PUBLIC) == 1
    assert len(signed) == sum(1 for r in wiring.ROUTES if r.auth is wiring.Auth.IAM)
    assert len(public) + len(signed) == len(methods)
    verify_arn = {"Fn::GetAtt": [function_id(tpl, "verify"), "Arn"]}
    assert verify_arn in public[0]["Properties"]["Integration"]["Uri"]["Fn::Join"][1]
    assert public[0]["Properties"]["HttpMethod"] == "POST"


def test_path_parameters_are_required_and_validated(tpl: dict[str, Any]) -> None:
    (validator_id,) = resources(tpl, "AWS::ApiGateway::RequestValidator")
    validator = tpl["Resources"][validator_id]["Properties"]
    assert validator["ValidateRequestParameters"] is True
    for method in resources(tpl, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        assert props["RequestValidatorId"] == {"Ref": validator_id}
    brand_methods = [
        m
        for m in resources(tpl, "AWS::ApiGateway::Method").values()
        if m["Properties"]["AuthorizationType"] == "AWS_IAM"
    ]
    assert all(m["Properties"]["RequestParameters"]["method.request.path.brandId"] is True for m in brand_methods)


def test_the_stage_logs_traces_and_throttles_the_public_route(tpl: dict[str, Any]) -> None:
    (stage,) = resources(tpl, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == STAGE_NAME
    assert props["TracingEnabled"] is True
    assert "DestinationArn" in props["AccessLogSetting"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in props["MethodSettings"]}
    everything = settings[("/*", "*")]
    assert everything["LoggingLevel"] == "INFO"
    assert everything["DataTraceEnabled"] is False  # bodies are photos: never logged
    verify = settings[("/~1verify", "POST")]
    assert verify["ThrottlingRateLimit"] == CONFIG.verify_throttle.rate_limit
    assert verify["ThrottlingBurstLimit"] == CONFIG.verify_throttle.burst_limit
    throttled = {k for k, s in settings.items() if "ThrottlingRateLimit" in s}
    assert throttled == {("/~1verify", "POST")}  # IAM routes are not throttled per method


PHYSICAL_NAMES = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Events::Rule": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
}


def test_no_physical_names_and_no_account_or_region_literals(synth: Any) -> None:
    for template in synth.templates.values():
        text = str(template)
        assert not re.search(r"\b\d{12}\b", text)  # no account ids
        assert not re.search(r"\b(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central)-\d\b", text)
        for resource in cdk_free(template["Resources"]).values():  # CDK's handlers name their log group
            key = PHYSICAL_NAMES.get(resource["Type"])
            assert key is None or key not in resource.get("Properties", {}), resource["Type"]


def test_every_accepted_retention_period_synthesizes_as_those_days() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_logs as logs
    from aws_cdk.assertions import Template

    from stacks.config import LOG_RETENTION_DAYS
    from stacks.constructs.lambdas import log_retention

    stack = cdk.Stack(cdk.App(), "Retention")
    for days in sorted(LOG_RETENTION_DAYS):
        logs.LogGroup(stack, f"Days{days}", retention=log_retention(days))
    groups = Template.from_stack(stack).find_resources("AWS::Logs::LogGroup")
    assert sorted(g["Properties"]["RetentionInDays"] for g in groups.values()) == sorted(LOG_RETENTION_DAYS)
