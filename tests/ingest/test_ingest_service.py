"""Ingest on its ports, with fakes given to it: what a refused record and concurrent writers do."""

from __future__ import annotations

from authentic.aws.ports import Outcome, PairRecord
from authentic.errors import RecordRefused
from authentic.ingest.service import Ingest, ObjectCreated
from authentic.settings import Settings
from tests.support.builders import jpeg, seed_annotation
from tests.support.fakes import FakeDatasetRecords, FakeObjectStore

SETTINGS = Settings(uploads_bucket="uploads", dataset_bucket="dataset", table_name="table")
PAIR = "0123456789abcdef0123456789abcdef"


class RefusingRecords(FakeDatasetRecords):
    """The table refuses the first record as too large (as DynamoDB refuses an item over 400 KB)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def commit_outcome(self, brand_id: str, pair_id: str, previous: PairRecord, outcome: Outcome) -> bool:
        if outcome.status == "accepted" and not self.refused:
            self.refused += 1
            raise RecordRefused("Item size has exceeded the maximum allowed size")
        return super().commit_outcome(brand_id, pair_id, previous, outcome)


def test_a_record_the_table_refuses_becomes_the_pairs_rejection_not_a_retry() -> None:
    store = FakeObjectStore(buckets=("uploads", "dataset"))
    records = RefusingRecords()
    ingest = Ingest(store, records, SETTINGS)
    image = store.put("uploads", f"acme/{PAIR}/image", jpeg(), content_type="image/jpeg")
    annotation = store.put(
        "uploads",
        f"acme/{PAIR}/annotation.json",
        seed_annotation("a.jpg", 64, 48, [(0, 1, 1, 5, 5)]),
        content_type="application/json",
    )
    ingest.object_created(ObjectCreated("uploads", image.key, image.size, image.version_id, "01"))

    outcome = ingest.object_created(
        ObjectCreated("uploads", annotation.key, annotation.size, annotation.version_id, "02")
    )

    assert outcome == "rejected"
    pair = records.get_pair("acme", PAIR)
    assert pair is not None and "refused" in pair.reason
    # The pair is not in the dataset; its normalised objects may stay (immutable and content-addressed, ingest
    # deletes nothing: an identical photo of another pair names the same object), and no manifest will name them.
    assert records.entries("acme") == []
