"""The brand's ingest report: per-class counts, and every rejected, pending or stale pair with its reason."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authentic import keys
from authentic.aws.ports import DatasetRecords, PairRecord
from authentic.errors import InvalidInput
from authentic.settings import Settings

REPORT_LIMIT = 200  # pairs listed per group; the counts cover them all
MAX_PAIRS_PER_QUERY = 100  # pair ids one outcome query may name (one GetItem each)


@dataclass(frozen=True)
class IngestReport:
    records: DatasetRecords
    settings: Settings

    def summary(self, brand_id: str, *, now: float | None = None, limit: int = REPORT_LIMIT) -> dict[str, Any]:
        """The brand's ingest results: counts per class, and every rejected, pending or stale pair."""
        keys.check_brand_id(brand_id)
        now = time.time() if now is None else now
        dataset = self.records.summary(brand_id)
        groups: dict[str, list[dict[str, Any]]] = {"accepted": [], "rejected": [], "pending": [], "stale": []}
        for pair in self.records.pairs(brand_id):
            status: str = pair.status
            if status == "pending":
                status = "stale" if now - pair.last_arrival > self.settings.pair_stale_seconds else "pending"
            groups.setdefault(status, []).append(_pair_report(pair, status))
        return {
            "brand_id": brand_id,
            "images": dataset.images,
            "classes": [
                {
                    "class_id": cid,
                    "name": name,
                    "images": dataset.class_images.get(cid, 0),
                    "boxes": dataset.class_boxes.get(cid, 0),
                }
                for cid, name in sorted(dataset.categories.items())
            ],
            "counts": {status: len(items) for status, items in groups.items()},
            **{status: items[:limit] for status, items in groups.items() if status != "accepted"},
            "accepted_with_problems": [p for p in groups["accepted"] if p.get("problems")][:limit],
        }

    def outcomes(self, brand_id: str, pair_ids: list[str], *, now: float | None = None) -> dict[str, Any]:
        """The outcome of each named pair: accepted, rejected, pending or stale as in `summary`, or `unknown`
        while neither of its files has been ingested (an uploader waits on these, not on the whole brand)."""
        keys.check_brand_id(brand_id)
        if not pair_ids or len(pair_ids) > MAX_PAIRS_PER_QUERY:
            raise InvalidInput(f"name between 1 and {MAX_PAIRS_PER_QUERY} pair ids; got {len(pair_ids)}")
        bad = [p for p in pair_ids if not keys.is_pair_id(p)]
        if bad:
            raise InvalidInput(f"not upload pair ids (32 lowercase hex digits): {', '.join(bad[:10])}")
        now = time.time() if now is None else now
        reports = []
        for pair_id in dict.fromkeys(pair_ids):
            pair = self.records.get_pair(brand_id, pair_id)
            if pair is None:
                reports.append({"pair_id": pair_id, "status": "unknown"})
                continue
            status: str = pair.status
            if status == "pending":
                status = "stale" if now - pair.last_arrival > self.settings.pair_stale_seconds else "pending"
            reports.append(_pair_report(pair, status))
        return {"brand_id": brand_id, "pairs": reports}


def _pair_report(pair: PairRecord, status: str) -> dict[str, Any]:
    report: dict[str, Any] = {"pair_id": pair.pair_id, "status": status}
    if pair.files.source_file:
        report["file"] = pair.files.source_file
    if pair.reason:
        report["reason"] = pair.reason
    if pair.problems:
        report["problems"] = [dict(p) for p in pair.problems]
    if status in ("pending", "stale"):
        report["missing"] = "annotation" if pair.annotation_version is None else "image"
    return report
