"""What DynamoDB refuses, refused locally too (authentic.local.fidelity), and how the dataset records meet it:
concurrent ingest batches writing one brand's counters, and expressions over 4 KB."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from authentic import keys
from authentic.aws import clients, dataset_records
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.ports import Contribution, Outcome, PairFiles, PairRecord
from authentic.errors import RecordRefused
from authentic.local.provision import Provisioned
from authentic.settings import Settings


def accepted(fingerprint: str, categories: dict[int, str]) -> Outcome:
    class_id = min(categories)
    sha256 = hashlib.sha256(fingerprint.encode()).hexdigest()
    return Outcome(
        status="accepted",
        fingerprint=fingerprint,
        contribution=Contribution(1, {class_id: 1}, {class_id: 1}),
        categories=categories,
        files=PairFiles(
            image_key=keys.dataset_object_key("acme", sha256, "jpg"),
            annotation_key=keys.dataset_object_key("acme", sha256, "json"),
            sha256=sha256,
        ),
    )


def arrived(records: DynamoDatasetRecords, pair: str) -> PairRecord:
    records.record_arrival("acme", pair, "image", version_id="i", size=1, sequencer="01")
    return records.record_arrival("acme", pair, "annotation", version_id="a", size=1, sequencer="01")


def test_concurrent_batches_writing_one_brands_counters_all_land(moto_aws: Provisioned, app_settings: Settings) -> None:
    records = DynamoDatasetRecords(app_settings.table_name)
    pairs = [f"{n:032x}" for n in range(8)]
    previous = {pair: arrived(records, pair) for pair in pairs}
    results: list[Any] = []
    barrier = threading.Barrier(len(pairs))

    def commit(pair: str) -> None:
        barrier.wait()
        try:
            results.append(records.commit_outcome("acme", pair, previous[pair], accepted("i|a", {0: "shoe"})))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=commit, args=(pair,)) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [True] * len(pairs)  # conflicting transactions were retried, none lost
    assert records.summary("acme").images == len(pairs)


def test_a_transaction_conflict_is_retried_with_a_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    records = DynamoDatasetRecords("table", dynamodb=client, table=object())
    pauses: list[float] = []
    monkeypatch.setattr("authentic.aws.dataset_records.time.sleep", pauses.append)
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_client_error(
                "transact_write_items",
                "TransactionCanceledException",
                "Transaction cancelled",
                400,
                response_meta={},
                modeled_fields={"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]},
            )
        stub.add_response("transact_write_items", {})
        assert records.commit_outcome("acme", "p", PairRecord("acme", "p"), accepted("i|a", {0: "shoe"})) is True
    assert len(pauses) == 2 and all(0 <= p <= dataset_records.CONFLICT_BACKOFF_CAP for p in pauses)


def test_an_expression_over_4_kb_is_refused_as_dynamodb_refuses_it(
    moto_aws: Provisioned, app_settings: Settings
) -> None:
    records = DynamoDatasetRecords(app_settings.table_name)
    previous = arrived(records, "p" * 32)
    categories = {i: f"product-{i}" for i in range(100)}  # more classes than a brand may have

    with pytest.raises(RecordRefused, match="Expression size"):
        records.commit_outcome("acme", "p" * 32, previous, accepted("i|a", categories))


def test_a_cancelled_transaction_loses_no_write_made_beside_it(moto_aws: Provisioned, app_settings: Settings) -> None:
    """moto rolls a cancelled transaction back by restoring a copy of the whole table taken when it began, which
    erased any other writer's update made meanwhile (an ingest's arrival, another brand's counters). DynamoDB
    cancels only the transaction: every write beside it stays."""
    table = clients.table(app_settings.table_name)
    table.put_item(Item={"pk": "BRAND#acme", "sk": "COUNTER", "n": 0})  # first: moto copies it first
    with table.batch_writer() as batch:  # then a table of some size: the rest of moto's copy takes a while
        for n in range(1500):
            batch.put_item(Item={"pk": "BRAND#filler", "sk": f"PAIR#{n:04d}", "payload": "x" * 200})
    client = clients.client("dynamodb")
    writes = 50
    done = threading.Event()

    def cancelled_transactions() -> None:
        while not done.is_set():
            with contextlib.suppress(client.exceptions.TransactionCanceledException):
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": app_settings.table_name,
                                "Key": {"pk": {"S": "BRAND#other"}, "sk": {"S": f"DATASET#{threading.get_ident()}"}},
                                "UpdateExpression": "SET n = :one",
                                "ConditionExpression": "attribute_exists(never)",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        }
                    ]
                )

    cancellers = [
        threading.Thread(target=cancelled_transactions) for _ in range(3)
    ]  # one is nearly always rolling back
    for canceller in cancellers:
        canceller.start()
    try:
        for _ in range(writes):
            table.update_item(
                Key={"pk": "BRAND#acme", "sk": "COUNTER"},
                UpdateExpression="ADD n :one",
                ExpressionAttributeValues={":one": 1},
            )
    finally:
        done.set()
        for canceller in cancellers:
            canceller.join()

    assert table.get_item(Key={"pk": "BRAND#acme", "sk": "COUNTER"}, ConsistentRead=True)["Item"]["n"] == writes
