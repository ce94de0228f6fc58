"""`bench.freeze` seeds its brands' records directly (moto's transactions are too slow for 15,000 commits): the
records it writes must be what ingest's commits write, or the benchmark would measure another system."""

from __future__ import annotations

from authentic.aws import clients
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.ports import Outcome
from authentic.local.provision import Provisioned
from authentic.settings import Settings
from bench.freeze import CLASSES, seed_brand


def test_the_benchmark_seeds_what_ingest_commits(moto_aws: Provisioned, app_settings: Settings) -> None:
    seed_brand(clients.table(app_settings.table_name), "bench", 40)
    datasets = DynamoDatasetRecords(app_settings.table_name)

    summary = datasets.summary("bench")
    assert (summary.images, dict(summary.categories)) == (40, CLASSES)
    assert dict(summary.class_images) == dict(summary.class_boxes) == {0: 20, 1: 20}
    pairs = datasets.pairs("bench")
    entries = datasets.entries("bench")
    assert [e.pair_id for e in entries] == [p.pair_id for p in pairs]
    for pair, entry in zip(pairs, entries, strict=True):
        assert (pair.status, pair.revision) == ("accepted", 1)
        assert (entry.image_key, entry.annotation_key) == (pair.files.image_key, pair.files.annotation_key)
        assert dict(entry.class_boxes) == dict(pair.contribution.class_boxes)

    # A seeded pair moves on through the adapter as an ingested one would: rejected, it leaves the entries.
    first = pairs[0]
    arrived = datasets.record_arrival(
        "bench", first.pair_id, "annotation", version_id="v2", size=10, sequencer="2".rjust(40, "0")
    )
    assert datasets.commit_outcome("bench", first.pair_id, arrived, Outcome("rejected", "v1|v2", reason="no boxes"))
    assert [e.pair_id for e in datasets.entries("bench")] == [p.pair_id for p in pairs[1:]]
    assert datasets.summary("bench").images == 39
