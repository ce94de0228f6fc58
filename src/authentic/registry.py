"""Model versions, the live pointer and the verdict policy: list, promote (rollback or forward), policy."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from authentic import layout
from authentic.adapters.model_records import ModelRecords
from authentic.adapters.s3 import ObjectStore
from authentic.errors import InvalidInput, NotFound, QualityGateFailed
from authentic.model import ROLES, Role
from authentic.settings import Settings


class ClassPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    threshold: float | None = Field(None, gt=0, lt=1)


class PolicyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    classes: dict[str, ClassPolicy]


@dataclass(frozen=True)
class LiveModel:
    version: int
    key: str
    classes: list[dict[str, Any]]  # id, name, role, threshold: the effective policy


@dataclass(frozen=True)
class Registry:
    models: ModelRecords
    store: ObjectStore
    settings: Settings

    def overview(self, brand_id: str) -> dict[str, Any]:
        layout.check_brand_id(brand_id)
        live = self.models.live(brand_id) or {}
        versions = []
        for item in sorted(self.models.versions(brand_id), key=lambda v: int(v["version"])):
            versions.append(
                {
                    "version": int(item["version"]),
                    "job_name": item.get("job_name"),
                    "metrics": item.get("metrics", {}),
                    "gate": item.get("gate", {}),
                    "live": int(item["version"]) == live.get("version"),
                    "promotions": item.get("promotions", []),
                }
            )
        return {
            "brand_id": brand_id,
            "live": {k: live[k] for k in ("version", "live_key", "reason", "moved_at", "manual") if k in live} or None,
            "versions": versions,
        }

    def promote(self, brand_id: str, version: int, *, force: bool = False, reason: str = "") -> dict[str, Any]:
        layout.check_brand_id(brand_id)
        record = self.models.version(brand_id, version)
        if record is None:
            raise NotFound(f"brand {brand_id!r} has no model version {version}")
        gate = record.get("gate", {})
        if not gate.get("passed") and not force:
            raise QualityGateFailed(
                f"version {version} failed the quality gate ({gate.get('reason', 'no metrics')}); "
                "pass force=true to promote it anyway",
                details={"gate": gate},
            )
        live_key = str(record["live_key"])
        if not self.store.exists(self.settings.live_bucket, live_key):
            bucket, key = str(record["artifact_uri"])[5:].split("/", 1)
            self.store.copy(bucket, key, self.settings.live_bucket, live_key)
        why = reason or ("forced promotion" if force and not gate.get("passed") else "manual promotion")
        now = time.time()
        self.models.move_live(
            brand_id, {"version": version, "live_key": live_key, "reason": why}, order=now, manual=True
        )
        promotions = [*record.get("promotions", []), {"at": now, "reason": why, "forced": bool(force)}]
        self.models.put_version(brand_id, version, {"promotions": promotions})
        return self.overview(brand_id)

    # -- the verdict policy ---------------------------------------------------------------------------------
    def live_model(self, brand_id: str) -> LiveModel | None:
        """The brand's live version with its effective per-class policy, or None when nothing is live."""
        live = self.models.live(brand_id)
        if not live:
            return None
        record = self.models.version(brand_id, int(live["version"])) or {}
        return LiveModel(int(live["version"]), str(live["live_key"]), self._effective(brand_id, record))

    def _effective(self, brand_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        overrides = (self.models.policy(brand_id) or {}).get("classes", {})
        metrics = record.get("metrics", {})
        # The model's default is the overall F1-optimal threshold. Per-class peaks are reported in the metrics
        # but not used by default: on a small validation split a class's F1 curve is a plateau and its argmax
        # lands anywhere on it (0.79 for one class and 0.44 for the other in the demo's own run).
        default_threshold = float(metrics.get("threshold", 0.25) or 0.25)
        classes = []
        for label in record.get("labels", {}).get("classes", []):
            name = str(label["name"])
            override = overrides.get(name, {})
            threshold = override.get("threshold") or default_threshold
            classes.append(
                {
                    "id": int(label["id"]),
                    "name": name,
                    "role": override.get("role") or label.get("role", "genuine"),
                    "threshold": float(threshold),
                    "source": "policy" if override else "model",
                }
            )
        return classes

    def get_policy(self, brand_id: str) -> dict[str, Any]:
        layout.check_brand_id(brand_id)
        stored = self.models.policy(brand_id) or {}
        live = self.live_model(brand_id)
        return {
            "brand_id": brand_id,
            "classes": stored.get("classes", {}),
            "effective": live.classes if live else [],
            "live_version": live.version if live else None,
        }

    def put_policy(self, brand_id: str, body: dict[str, Any], known_classes: set[str]) -> dict[str, Any]:
        layout.check_brand_id(brand_id)
        try:
            request = PolicyRequest.model_validate(body)
        except ValidationError as exc:
            raise InvalidInput(
                "the policy is invalid: "
                + "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()),
                details={"roles": list(ROLES)},
            ) from exc
        unknown = sorted(set(request.classes) - known_classes)
        if unknown:
            raise InvalidInput(
                f"unknown class(es) {', '.join(map(repr, unknown))}; this brand's classes are "
                f"{', '.join(map(repr, sorted(known_classes))) or 'none yet'}"
            )
        classes = {name: p.model_dump(exclude_none=True) for name, p in request.classes.items()}
        self.models.put_policy(brand_id, classes)
        return self.get_policy(brand_id)
