"""The brand's verdict policy: each class's role (genuine or counterfeit) and confidence threshold, as the brand
set them, on top of what the live model's artifact says (its labels' roles and the F1-optimal threshold)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from authentic import keys
from authentic.annotations.model import ROLES, Role
from authentic.aws.ports import ClassRule, DatasetRecords, ModelRecords, VersionRecord
from authentic.contracts import DEFAULT_CONFIDENCE
from authentic.errors import InvalidInput

# How a barcode read in the shopper's photo weighs in the verdict (see `authentic.verify.barcode_verdict`):
# off: not read; advisory: it can only make a genuine answer counterfeit on firm evidence, and explains;
# required: a genuine answer also needs a registered barcode of the product in view.
BarcodeMode = Literal["off", "advisory", "required"]
BARCODE_MODES: tuple[BarcodeMode, ...] = get_args(BarcodeMode)
DEFAULT_BARCODE_MODE: BarcodeMode = "advisory"


class ClassPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    threshold: float | None = Field(None, gt=0, lt=1)


class PolicyRequest(BaseModel):
    """A PUT of the policy: a field left out keeps what is stored."""

    model_config = ConfigDict(extra="forbid")

    classes: dict[str, ClassPolicy] | None = None
    barcode: BarcodeMode | None = None


@dataclass(frozen=True)
class LiveModel:
    version: int
    key: str
    classes: list[dict[str, Any]]  # id, name, role, threshold: the effective policy


@dataclass(frozen=True)
class Policy:
    models: ModelRecords
    datasets: DatasetRecords

    def live_model(self, brand_id: str) -> LiveModel | None:
        """The brand's live version with its effective per-class policy, or None when nothing is live."""
        live = self.models.live(brand_id)
        if live is None:
            return None
        record = self.models.version(brand_id, live.version)
        return LiveModel(live.version, live.live_key, self._effective(brand_id, record))

    def _effective(self, brand_id: str, record: VersionRecord | None) -> list[dict[str, Any]]:
        policy = self.models.policy(brand_id)
        overrides: Mapping[str, ClassRule] = policy.classes if policy else {}
        if record is None:
            return []
        # The model's default is the overall F1-optimal threshold. Per-class peaks are reported in the metrics
        # but not used by default: on a small validation split a class's F1 curve is a plateau and its argmax
        # lands anywhere on it (0.79 for one class and 0.44 for the other in the demo's own run).
        default_threshold = float(record.metrics.get("threshold", DEFAULT_CONFIDENCE) or DEFAULT_CONFIDENCE)
        classes = []
        for label in record.labels.get("classes", []):
            name = str(label["name"])
            override = overrides.get(name)
            classes.append(
                {
                    "id": int(label["id"]),
                    "name": name,
                    "role": (override.role if override else None) or label.get("role", "genuine"),
                    "threshold": float((override.threshold if override else None) or default_threshold),
                    "source": "policy" if override else "model",
                }
            )
        return classes

    def get_policy(self, brand_id: str) -> dict[str, Any]:
        keys.check_brand_id(brand_id)
        stored = self.models.policy(brand_id)
        live = self.live_model(brand_id)
        return {
            "brand_id": brand_id,
            "classes": {name: _rule_json(rule) for name, rule in (stored.classes if stored else {}).items()},
            "barcode": _mode(stored.barcode if stored else None),
            "effective": live.classes if live else [],
            "live_version": live.version if live else None,
        }

    def barcode_mode(self, brand_id: str) -> BarcodeMode:
        """How barcodes weigh in this brand's verdicts (the default when the brand set nothing)."""
        stored = self.models.policy(brand_id)
        return _mode(stored.barcode if stored else None)

    def put_policy(self, brand_id: str, body: dict[str, Any]) -> dict[str, Any]:
        keys.check_brand_id(brand_id)
        try:
            request = PolicyRequest.model_validate(body)
        except ValidationError as exc:
            raise InvalidInput(
                "the policy is invalid: "
                + "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()),
                details={"roles": list(ROLES), "barcode": list(BARCODE_MODES)},
            ) from exc
        stored = self.models.policy(brand_id)
        classes = dict(stored.classes) if stored else {}
        if request.classes is not None:
            known = self.known_classes(brand_id)
            unknown = sorted(set(request.classes) - known)
            if unknown:
                raise InvalidInput(
                    f"unknown class(es) {', '.join(map(repr, unknown))}; this brand's classes are "
                    f"{', '.join(map(repr, sorted(known))) or 'none yet'}"
                )
            classes = {name: ClassRule(role=p.role, threshold=p.threshold) for name, p in request.classes.items()}
        barcode = request.barcode or (stored.barcode if stored else None)
        self.models.put_policy(brand_id, classes, barcode=barcode)
        return self.get_policy(brand_id)

    def known_classes(self, brand_id: str) -> set[str]:
        """The class names a policy may name: the dataset's and the live model's."""
        known = set(self.datasets.summary(brand_id).categories.values())
        live = self.live_model(brand_id)
        if live:
            known |= {str(c["name"]) for c in live.classes}
        return known


def _mode(stored: str | None) -> BarcodeMode:
    for mode in BARCODE_MODES:
        if stored == mode:
            return mode
    return DEFAULT_BARCODE_MODE


def _rule_json(rule: ClassRule) -> dict[str, Any]:
    return {k: v for k, v in (("role", rule.role), ("threshold", rule.threshold)) if v is not None}
