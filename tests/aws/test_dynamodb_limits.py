"""What DynamoDB refuses, refused locally too (authentic.local.fidelity), and how the dataset records meet it:
concurrent ingest batches writing one brand's counters, and expressions over 4 KB."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from authentic.aws import dataset_records
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.ports import Contribution, Outcome, PairRecord
from authentic.errors import RecordRefused
from authentic.local.provision import Provisioned
from authentic.settings import Settings


def accepted(fingerprint: str, categories: dict[int, str]) -> Outcome:
    class_id = min(categories)
    return Outcome(
        status="accepted",
        fingerprint=fingerprint,
        contribution=Contribution(1, {class_id: 1}, {class_id: 1}),
        categories=categories,
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
