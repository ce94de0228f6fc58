"""The verify path reads the table only as its IAM policy allows: `GetItem` by key, in the brand's partition (no
Query, Scan or BatchGetItem; the template's side is tests/infra/test_limits_and_alarms.py)."""

from __future__ import annotations

from typing import Any

from authentic.aws.clients import table as table_resource
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.model_records import DynamoModelRecords
from authentic.aws.ports import ClassRule, VersionRecord
from authentic.keys import BRAND_PARTITION_PREFIX
from authentic.local.provision import Provisioned
from authentic.models.policy import Policy
from authentic.settings import Settings


class RecordingTable:
    """A DynamoDB Table resource that records which operations are called, with what key."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._table, name)
        if not callable(operation):
            return operation

        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return operation(*args, **kwargs)

        return record


def test_the_live_model_and_its_policy_are_read_by_get_item_in_the_brands_partition(
    moto_aws: Provisioned, app_settings: Settings
) -> None:
    # Given a brand with a live version and a policy
    writer = DynamoModelRecords(app_settings.table_name)
    writer.put_version(
        VersionRecord(
            brand_id="acme",
            version=1,
            job_name="authentic-acme-1",
            artifact_uri="s3://a/acme/authentic-acme-1/output/model.tar.gz",
            live_key="acme/v00001.tar.gz",
            labels={"classes": [{"id": 0, "name": "shoe", "role": "genuine"}]},
            metrics={"threshold": 0.3},
        )
    )
    writer.move_live("acme", 1, "acme/v00001.tar.gz", "test", order=1.0, manual=False)
    writer.put_policy("acme", {"shoe": ClassRule(threshold=0.6)})
    recording = RecordingTable(table_resource(app_settings.table_name))
    policy = Policy(
        DynamoModelRecords(app_settings.table_name, table=recording),
        DynamoDatasetRecords(app_settings.table_name, table=recording),
    )

    # When the verify path looks up the brand's live model (and, for a brand with none, finds nothing)
    live = policy.live_model("acme")
    assert policy.live_model("nobody") is None

    # Then it read exactly the items it needs, each by its key, in the brands' partitions
    assert live is not None and live.classes[0]["threshold"] == 0.6
    assert {name for name, _ in recording.calls} == {"get_item"}
    assert all(kwargs["Key"]["pk"].startswith(BRAND_PARTITION_PREFIX) for _, kwargs in recording.calls)
    assert [kwargs["Key"]["sk"] for _, kwargs in recording.calls if kwargs["Key"]["pk"] == "BRAND#acme"] == [
        "LIVE",
        "VERSION#00001",
        "POLICY",
    ]
