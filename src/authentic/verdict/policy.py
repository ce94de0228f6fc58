"""The verdict policy: detections + the brand's per-class roles and thresholds → genuine, counterfeit or
inconclusive, always with the reason and the boxes that justify it.

Each verdict has two reasons: `reason`, for the brand, names the thresholds and the best near miss; `public_reason`,
for shoppers, names neither (they would teach a counterfeiter how close a fake came, and where the line is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["genuine", "counterfeit", "inconclusive"]

NOTHING_RECOGNISED = "nothing recognised"
PHOTO_UNREADABLE = "photo unreadable"
NO_LIVE_MODEL = "no live model for the brand"


@dataclass(frozen=True)
class Verdict:
    verdict: Decision
    reason: str
    detections: list[dict[str, Any]] = field(default_factory=list)
    public_reason: str | None = None  # the reason without thresholds or near misses; None: `reason` is that already

    @property
    def shopper_reason(self) -> str:
        return self.reason if self.public_reason is None else self.public_reason

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reason": self.reason, "detections": self.detections}


def inconclusive(reason: str, detections: list[dict[str, Any]] | None = None) -> Verdict:
    return Verdict("inconclusive", reason, detections or [])


def decide(detections: list[dict[str, Any]], classes: list[dict[str, Any]]) -> Verdict:
    """Apply the policy. `classes` holds each class's id, name, role and threshold.

    counterfeit: a counterfeit-role class is detected at or above its threshold;
    genuine: a genuine-role class is, and no counterfeit-role class is;
    inconclusive: neither (nothing recognised).
    """
    policy = {int(c["id"]): c for c in classes}
    annotated = []
    for detection in detections:
        rule = policy.get(int(detection["class_id"]))
        role = rule["role"] if rule else detection.get("role", "genuine")
        threshold = float(rule["threshold"]) if rule else 0.5
        annotated.append(
            {**detection, "role": role, "threshold": threshold, "counts": float(detection["confidence"]) >= threshold}
        )
    annotated.sort(key=lambda d: -float(d["confidence"]))
    counting = [d for d in annotated if d["counts"]]
    fakes = [d for d in counting if d["role"] == "counterfeit"]
    if fakes:
        best, more = fakes[0], _more(len(fakes))
        return Verdict("counterfeit", f"{_describe(best)}{more}", annotated, f"{_detected(best)}{more}")
    genuine = [d for d in counting if d["role"] == "genuine"]
    if genuine:
        best, none = genuine[0], "; no counterfeit class detected"
        return Verdict("genuine", f"{_describe(best)}{none}", annotated, f"{_detected(best)}{none}")
    if annotated:
        best = annotated[0]
        return Verdict(
            "inconclusive",
            f"{NOTHING_RECOGNISED}: the best detection, {best['role']} class '{best.get('name')}' at "
            f"{float(best['confidence']):.2f}, is below its threshold {best['threshold']:.2f}",
            annotated,
            NOTHING_RECOGNISED,
        )
    return Verdict("inconclusive", NOTHING_RECOGNISED, annotated)


def _detected(detection: dict[str, Any]) -> str:
    return f"{detection['role']} class '{detection.get('name')}' detected at {float(detection['confidence']):.2f}"


def _describe(detection: dict[str, Any]) -> str:
    return f"{_detected(detection)} (threshold {detection['threshold']:.2f})"


def _more(count: int) -> str:
    return f", and {count - 1} more counterfeit detection(s)" if count > 1 else ""
