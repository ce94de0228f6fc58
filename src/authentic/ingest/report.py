"""The brand's ingest report: per-class counts, and every rejected, pending or stale pair with its reason."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authentic import keys
from authentic.aws.ports import DatasetRecords, PairRecord
from authentic.settings import Settings

REPORT_LIMIT = 200  # pairs listed per group; the counts cover them all


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
