"""The stateful stack: what protects the data (encryption, TLS-only, no public access, logging, retention,
versioning, PITR) and the upload notification path (S3 → SQS with a dead-letter queue)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from authentic import wiring
from stacks.constructs.ingest import MAX_RECEIVES, VISIBILITY_PER_FUNCTION_TIMEOUT
from stacks.constructs.storage import BUCKETS, TTL_ATTRIBUTE
from tests.infra.infra_support import as_list, logical_id, resources

DATA_BUCKETS = [spec.name for spec in BUCKETS]


@pytest.fixture(scope="module")
def tpl(synth: Any) -> dict[str, Any]:
    template: dict[str, Any] = synth.stateful_json
    return template


def bucket(tpl: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    lid = logical_id(tpl, "AWS::S3::Bucket", f"Storage{name}")
    return lid, tpl["Resources"][lid]


def test_there_are_four_data_buckets_and_one_access_log_bucket(tpl: dict[str, Any]) -> None:
    assert len(resources(tpl, "AWS::S3::Bucket")) == len(DATA_BUCKETS) + 1


@pytest.mark.parametrize("name", [*DATA_BUCKETS, "AccessLogs"])
def test_every_bucket_is_encrypted_private_owner_enforced_and_retained(tpl: dict[str, Any], name: str) -> None:
    _, res = bucket(tpl, name)
    props = res["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert res["DeletionPolicy"] == "Retain"
    assert res["UpdateReplacePolicy"] == "Retain"
    assert "BucketName" not in props  # no physical names


@pytest.mark.parametrize("name", [*DATA_BUCKETS, "AccessLogs"])
def test_every_bucket_policy_denies_requests_without_tls(tpl: dict[str, Any], name: str) -> None:
    lid, _ = bucket(tpl, name)
    policies = [
        p for p in resources(tpl, "AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": lid}
    ]
    assert len(policies) == 1
    denies = [
        s
        for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denies) == 1
    deny = denies[0]
    assert deny["Action"] == "s3:*"
    assert deny["Principal"] == {"AWS": "*"}
    resources_denied = as_list(deny["Resource"])
    assert {"Fn::GetAtt": [lid, "Arn"]} in resources_denied  # the bucket...
    assert any("/*" in str(r) for r in resources_denied)  # ...and every object in it


@pytest.mark.parametrize("name", DATA_BUCKETS)
def test_data_buckets_log_access_into_the_access_log_bucket(tpl: dict[str, Any], name: str) -> None:
    logs_id, _ = bucket(tpl, "AccessLogs")
    _, res = bucket(tpl, name)
    logging = res["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": logs_id}
    assert logging["LogFilePrefix"] == f"{name.lower()}/"


def test_access_logs_are_delivered_by_the_logging_service_through_the_bucket_policy(tpl: dict[str, Any]) -> None:
    logs_id, res = bucket(tpl, "AccessLogs")
    assert "AccessControl" not in res["Properties"]  # no ACLs: delivery is granted by policy
    policy = next(
        p for p in resources(tpl, "AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": logs_id}
    )
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allows and all(s["Principal"] == {"Service": "logging.s3.amazonaws.com"} for s in allows)
    assert all(s["Action"] == "s3:PutObject" for s in allows)
    expiry = res["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert expiry["ExpirationInDays"] == 365


@pytest.mark.parametrize(
    ("name", "versioned"), [("Uploads", True), ("Dataset", True), ("LiveModels", True), ("Artifacts", False)]
)
def test_versioning_where_history_matters(tpl: dict[str, Any], name: str, versioned: bool) -> None:
    _, res = bucket(tpl, name)
    status = res["Properties"].get("VersioningConfiguration", {}).get("Status")
    assert (status == "Enabled") is versioned


def test_the_table_has_pk_sk_ttl_pitr_encryption_and_is_retained(stateful: Any) -> None:
    stateful.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": Match.array_with(
                    [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
                ),
                "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "BillingMode": "PAY_PER_REQUEST",
                "DeletionProtectionEnabled": True,
                "TableName": Match.absent(),
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    stateful.resource_count_is("AWS::DynamoDB::Table", 1)


def queue_ids(tpl: dict[str, Any]) -> tuple[str, str]:
    return (
        logical_id(tpl, "AWS::SQS::Queue", "UploadNotificationsQueue"),
        logical_id(tpl, "AWS::SQS::Queue", "UploadNotificationsDeadLetterQueue"),
    )


def test_the_upload_queue_redrives_to_its_dead_letter_queue(tpl: dict[str, Any]) -> None:
    queue_id, dlq_id = queue_ids(tpl)
    queue = tpl["Resources"][queue_id]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": MAX_RECEIVES,
    }
    consumer = next(
        wiring.function(e.function) for e in wiring.EVENTS if e.source is wiring.EventSource.UPLOADS_CREATED
    )
    assert queue["VisibilityTimeout"] == consumer.timeout_seconds * VISIBILITY_PER_FUNCTION_TIMEOUT
    dlq = tpl["Resources"][dlq_id]["Properties"]
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    for props in (queue, dlq):
        assert props["SqsManagedSseEnabled"] is True
        assert "QueueName" not in props


def test_both_queues_refuse_requests_without_tls(tpl: dict[str, Any]) -> None:
    for queue_id in queue_ids(tpl):
        statements = [
            s
            for p in resources(tpl, "AWS::SQS::QueuePolicy").values()
            if {"Ref": queue_id} in p["Properties"]["Queues"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ), queue_id


def test_object_created_on_the_uploads_bucket_is_sent_to_the_queue(tpl: dict[str, Any]) -> None:
    uploads_id, _ = bucket(tpl, "Uploads")
    queue_id, _ = queue_ids(tpl)
    notifications = list(resources(tpl, "Custom::S3BucketNotifications").values())
    assert len(notifications) == 1
    props = notifications[0]["Properties"]
    assert props["BucketName"] == {"Ref": uploads_id}
    assert props["NotificationConfiguration"] == {
        "QueueConfigurations": [{"Events": ["s3:ObjectCreated:*"], "QueueArn": {"Fn::GetAtt": [queue_id, "Arn"]}}]
    }
    # S3 may send to the queue, and only on behalf of the uploads bucket.
    statements = [
        s
        for p in resources(tpl, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert len(statements) == 1
    allow = statements[0]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert "sqs:SendMessage" in as_list(allow["Action"])
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::GetAtt": [uploads_id, "Arn"]}


def test_dead_letters_raise_an_alarm(tpl: dict[str, Any]) -> None:
    _, dlq_id = queue_ids(tpl)
    alarms = list(resources(tpl, "AWS::CloudWatch::Alarm").values())
    assert len(alarms) == 1
    props = alarms[0]["Properties"]
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_the_stateful_stack_exports_what_the_service_stack_imports(synth: Any) -> None:
    exports = {o["Export"]["Name"] for o in synth.stateful_json.get("Outputs", {}).values() if "Export" in o}
    imports = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Fn::ImportValue" in node:
                imports.add(node["Fn::ImportValue"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(synth.service_json)
    assert imports and imports <= exports
