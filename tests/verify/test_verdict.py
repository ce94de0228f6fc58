"""The verdict policy: roles and thresholds per class, always with the reason and the boxes."""

from __future__ import annotations

from typing import Any

from authentic.verify.verdict import NOTHING_RECOGNISED, decide

CLASSES = [
    {"id": 0, "name": "shoe", "role": "genuine", "threshold": 0.5},
    {"id": 1, "name": "shoe-fake", "role": "counterfeit", "threshold": 0.4},
]


def detection(class_id: int, confidence: float) -> dict[str, Any]:
    return {
        "class_id": class_id,
        "name": CLASSES[class_id]["name"],
        "confidence": confidence,
        "box": {"left": 1, "top": 2, "width": 3, "height": 4},
    }


def test_genuine_when_a_genuine_class_clears_its_threshold_and_no_counterfeit_does() -> None:
    verdict = decide([detection(0, 0.9), detection(1, 0.3)], CLASSES)
    assert verdict.verdict == "genuine"
    assert "'shoe' detected at 0.90 (threshold 0.50)" in verdict.reason
    assert [d["counts"] for d in verdict.detections] == [True, False]


def test_counterfeit_wins_over_genuine() -> None:
    verdict = decide([detection(0, 0.95), detection(1, 0.41), detection(1, 0.6)], CLASSES)
    assert verdict.verdict == "counterfeit"
    assert "'shoe-fake' detected at 0.60" in verdict.reason
    assert "1 more counterfeit" in verdict.reason
    assert len(verdict.detections) == 3  # always with every box


def test_nothing_recognised_without_detections() -> None:
    verdict = decide([], CLASSES)
    assert (verdict.verdict, verdict.reason) == ("inconclusive", NOTHING_RECOGNISED)


def test_near_misses_explain_an_inconclusive_answer() -> None:
    verdict = decide([detection(0, 0.45)], CLASSES)
    assert verdict.verdict == "inconclusive"
    assert verdict.reason.startswith(NOTHING_RECOGNISED)
    assert "0.45, is below its threshold 0.50" in verdict.reason


def test_the_threshold_is_inclusive_and_roles_come_from_the_policy() -> None:
    flipped = [dict(CLASSES[0], role="counterfeit"), CLASSES[1]]
    assert decide([detection(0, 0.5)], CLASSES).verdict == "genuine"
    assert decide([detection(0, 0.5)], flipped).verdict == "counterfeit"


def test_the_public_reason_names_neither_thresholds_nor_near_misses() -> None:
    assert decide([detection(0, 0.9)], CLASSES).public_reason == (
        "genuine class 'shoe' detected at 0.90; no counterfeit class detected"
    )
    assert decide([detection(1, 0.6), detection(1, 0.5)], CLASSES).shopper_reason == (
        "counterfeit class 'shoe-fake' detected at 0.60, and 1 more counterfeit detection(s)"
    )
    assert decide([detection(0, 0.45)], CLASSES).shopper_reason == NOTHING_RECOGNISED
    assert decide([], CLASSES).shopper_reason == NOTHING_RECOGNISED
