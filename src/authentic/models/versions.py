"""A brand's model versions and its live pointer: list them, and promote one by hand (a rollback or a forward
move), which copies its artifact to its live key if needed and becomes the new floor for automatic moves."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from authentic import keys
from authentic.aws.ports import ModelRecords, ObjectStore, PromotionEntry
from authentic.errors import NotFound, QualityGateFailed
from authentic.settings import Settings


@dataclass(frozen=True)
class ModelVersions:
    models: ModelRecords
    store: ObjectStore
    settings: Settings

    def overview(self, brand_id: str) -> dict[str, Any]:
        keys.check_brand_id(brand_id)
        live = self.models.live(brand_id)
        versions = [
            {
                "version": record.version,
                "job_name": record.job_name or None,
                "metrics": dict(record.metrics),
                "gate": dict(record.gate),
                "live": live is not None and record.version == live.version,
                "promotions": [asdict(p) for p in record.promotions],
            }
            for record in sorted(self.models.versions(brand_id), key=lambda v: v.version)
        ]
        pointer = None
        if live is not None:
            pointer = {
                "version": live.version,
                "live_key": live.live_key,
                "reason": live.reason,
                "moved_at": live.moved_at,
                "manual": live.manual,
            }
        return {"brand_id": brand_id, "live": pointer, "versions": versions}

    def promote(self, brand_id: str, version: int, *, force: bool = False, reason: str = "") -> dict[str, Any]:
        keys.check_brand_id(brand_id)
        record = self.models.version(brand_id, version)
        if record is None:
            raise NotFound(f"brand {brand_id!r} has no model version {version}")
        if not record.passed and not force:
            raise QualityGateFailed(
                f"version {version} failed the quality gate ({record.gate.get('reason', 'no metrics')}); "
                "pass force=true to promote it anyway",
                details={"gate": dict(record.gate)},
            )
        bucket, key = record.artifact_uri.removeprefix("s3://").split("/", 1)
        self.store.copy_once(bucket, key, self.settings.live_bucket, record.live_key)  # when not there yet
        why = reason or ("forced promotion" if force and not record.passed else "manual promotion")
        now = time.time()
        self.models.move_live(brand_id, version, record.live_key, why, order=now, manual=True)
        self.models.add_promotion(brand_id, version, PromotionEntry(at=now, reason=why, forced=bool(force)))
        return self.overview(brand_id)
