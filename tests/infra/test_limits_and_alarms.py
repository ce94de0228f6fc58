"""What keeps the deployed system within its limits and tells the operator when it is not: the verify function's
reserved concurrency and table rights, the ingest event source's maximum concurrency, training jobs' network
isolation and output scope, and both dead-letter alarms notifying the encrypted alarm topic."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from authentic import wiring
from authentic.keys import BRAND_PARTITION_PREFIX, brand_partition
from stacks.config import AppConfig
from stacks.constructs.alarms import AlarmTopic
from tests.infra.infra_support import as_list, flat, logical_id, resources, statements_allowing
from tests.infra.test_service import function_id, statements

CONFIG = AppConfig()


@pytest.fixture(scope="module")
def tpl(synth: Any) -> dict[str, Any]:
    template: dict[str, Any] = synth.service_json
    return template


@pytest.fixture(scope="module")
def stateful_tpl(synth: Any) -> dict[str, Any]:
    template: dict[str, Any] = synth.stateful_json
    return template


# -- concurrency ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.name)
def test_reserved_concurrency_is_the_wirings(tpl: dict[str, Any], spec: wiring.Function) -> None:
    props = tpl["Resources"][function_id(tpl, spec.name)]["Properties"]
    assert props.get("ReservedConcurrentExecutions") == spec.reserved_concurrency


def test_the_verify_function_has_reserved_concurrency_within_an_accounts_default_pool() -> None:
    reserved = wiring.function("verify").reserved_concurrency
    assert reserved is not None and 2 <= reserved <= 100  # Lambda keeps 100 of the default 1,000 unreserved
    assert sum(f.reserved_concurrency or 0 for f in wiring.FUNCTIONS) <= 900


def test_the_ingest_event_source_runs_at_most_the_wired_number_of_batches(tpl: dict[str, Any]) -> None:
    (mapping,) = resources(tpl, "AWS::Lambda::EventSourceMapping").values()
    wired = wiring.event(wiring.EventSource.UPLOADS_CREATED).max_concurrency
    assert wired is not None and 2 <= wired <= 1000  # what an SQS event source accepts
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": wired}


# -- the verify function's table rights ------------------------------------------------------------------------------


def test_verify_may_only_get_items_in_the_brands_partitions(tpl: dict[str, Any]) -> None:
    stmts = statements(tpl, "verify")
    dynamodb = [s for s in stmts if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]
    (get,) = dynamodb
    assert as_list(get["Action"]) == ["dynamodb:GetItem"]  # no Query, Scan, BatchGetItem
    (table,) = as_list(get["Resource"])  # the table itself: no index
    assert "StorageTable" in flat(table) and "*" not in flat(table)
    assert get["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{BRAND_PARTITION_PREFIX}*"]}}
    assert brand_partition("acme").startswith(BRAND_PARTITION_PREFIX)


# -- training jobs -----------------------------------------------------------------------------------------------------


def test_training_jobs_may_only_be_created_with_network_isolation(tpl: dict[str, Any]) -> None:
    (create,) = statements_allowing(statements(tpl, "training"), "sagemaker:CreateTrainingJob")
    assert create["Condition"]["Bool"] == {"sagemaker:NetworkIsolation": "true"}


def test_the_training_role_writes_only_this_deployments_job_output_and_checkpoints(tpl: dict[str, Any]) -> None:
    role = next(lid for lid in resources(tpl, "AWS::IAM::Role") if lid.startswith("TrainingRole"))
    writes = [
        s
        for policy in resources(tpl, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "s3:PutObject" in as_list(s["Action"])
    ]
    (put,) = writes
    targets = {flat(r) for r in as_list(put["Resource"])}
    assert all("StorageArtifacts" in t for t in targets)
    prefix = CONFIG.job_prefix
    assert {t.split("/", 1)[1] for t in targets} == {f"*/{prefix}-*/output/*", f"*/checkpoints/{prefix}-*/*"}


# -- alarms --------------------------------------------------------------------------------------------------------


def test_both_dead_letter_alarms_notify_the_alarm_topic(
    synth: Any, tpl: dict[str, Any], stateful_tpl: dict[str, Any]
) -> None:
    topic = logical_id(stateful_tpl, "AWS::SNS::Topic", "AlarmsTopic")
    ingest_alarm = stateful_tpl["Resources"][logical_id(stateful_tpl, "AWS::CloudWatch::Alarm", "DeadLettersAlarm")]
    assert ingest_alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
    promotion_alarm = tpl["Resources"][logical_id(tpl, "AWS::CloudWatch::Alarm", "PromotionDeadLettersAlarm")]
    (action,) = promotion_alarm["Properties"]["AlarmActions"]
    assert "Fn::ImportValue" in action and "AlarmsTopic" in flat(action)


def test_the_alarm_topic_is_encrypted_with_a_rotated_key_that_cloudwatch_may_use(stateful_tpl: dict[str, Any]) -> None:
    (topic,) = resources(stateful_tpl, "AWS::SNS::Topic").values()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = stateful_tpl["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    cloudwatch = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert [sorted(as_list(s["Action"])) for s in cloudwatch] == [["kms:Decrypt", "kms:GenerateDataKey*"]]


def test_the_alarm_topic_refuses_requests_without_tls_and_takes_only_this_accounts_alarms(
    stateful_tpl: dict[str, Any],
) -> None:
    (policy,) = resources(stateful_tpl, "AWS::SNS::TopicPolicy").values()
    stmts = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in stmts if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (publish,) = [s for s in stmts if s["Effect"] == "Allow"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert as_list(publish["Action"]) == ["sns:Publish"]
    assert flat(publish["Condition"]["StringEquals"]["aws:SourceAccount"]) == "<AWS::AccountId>"
    assert flat(publish["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":alarm:*")


def test_no_email_subscription_by_default(stateful_tpl: dict[str, Any]) -> None:
    assert CONFIG.alarm_email == ""
    assert not resources(stateful_tpl, "AWS::SNS::Subscription")


def test_a_configured_email_address_is_subscribed() -> None:
    stack = cdk.Stack(cdk.App(), "Alarms")
    AlarmTopic(stack, "Alarms", email="ops@example.com")
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})
