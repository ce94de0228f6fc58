"""The two answers of the verify routes: the brand's full one, and the shopper's, made from it by one function."""

from __future__ import annotations

import json
from typing import Any

from authentic.verify.answer import PUBLIC_DETECTION_FIELDS, Answer, public_answer
from authentic.verify.verdict import NO_LIVE_MODEL, NOTHING_RECOGNISED, decide, inconclusive

CLASSES = [
    {"id": 0, "name": "shoe", "role": "genuine", "threshold": 0.5},
    {"id": 1, "name": "shoe-fake", "role": "counterfeit", "threshold": 0.4},
]
SIZE = {"width": 640, "height": 480}


def detection(class_id: int, confidence: float, left: float = 1) -> dict[str, Any]:
    return {
        "class_id": class_id,
        "name": CLASSES[class_id]["name"],
        "role": CLASSES[class_id]["role"],
        "confidence": confidence,
        "box": {"left": left, "top": 2, "width": 3, "height": 4},
    }


def answer_for(*detections: dict[str, Any]) -> Answer:
    return Answer("acme", 3, decide(list(detections), CLASSES), SIZE, {"total": 12.5})


def test_the_public_answer_has_the_verdict_and_only_the_counting_boxes_rounded() -> None:
    # Given a genuine shoe at 0.87654 and a fake below its threshold (a near miss)
    answer = answer_for(detection(0, 0.87654, left=10), detection(1, 0.31234, left=20))

    public = public_answer(answer)

    assert set(public) == {"brand_id", "model_version", "verdict", "reason", "detections", "barcodes", "image_size"}
    assert (public["brand_id"], public["model_version"], public["verdict"]) == ("acme", 3, "genuine")
    assert public["detections"] == [
        {
            "class_id": 0,
            "name": "shoe",
            "role": "genuine",
            "confidence": 0.88,
            "box": answer.verdict.detections[0]["box"],
        }
    ]
    assert public["image_size"] == SIZE
    assert public["reason"] == "genuine class 'shoe' detected at 0.88; no counterfeit class detected"


def test_the_public_answer_names_no_threshold_and_no_near_miss() -> None:
    near_misses = answer_for(detection(0, 0.45), detection(1, 0.39))
    counterfeit = answer_for(detection(1, 0.9), detection(1, 0.6), detection(0, 0.2))
    for answer in (near_misses, counterfeit):
        public = public_answer(answer)
        text = json.dumps(public)
        assert "threshold" not in text and "counts" not in text
        assert all(set(d) == set(PUBLIC_DETECTION_FIELDS) for d in public["detections"])
        assert all(d["confidence"] >= CLASSES[d["class_id"]]["threshold"] for d in public["detections"])
    public = public_answer(near_misses)
    assert (public["verdict"], public["reason"], public["detections"]) == ("inconclusive", NOTHING_RECOGNISED, [])
    assert "0.45" not in json.dumps(public)  # how near the best miss came stays with the brand
    assert public_answer(counterfeit)["reason"] == (
        "counterfeit class 'shoe-fake' detected at 0.90, and 1 more counterfeit detection(s)"
    )


def test_the_brand_answer_is_the_whole_answer_with_near_misses_and_thresholds() -> None:
    answer = answer_for(detection(0, 0.45), detection(1, 0.39))

    full = answer.to_json()

    assert full["verdict"] == "inconclusive"
    assert "0.45, is below its threshold 0.50" in full["reason"]
    assert [(d["confidence"], d["threshold"], d["counts"]) for d in full["detections"]] == [
        (0.45, 0.5, False),
        (0.39, 0.4, False),
    ]
    assert (full["image_size"], full["timings_ms"]) == (SIZE, {"total": 12.5})


def test_answers_without_a_photo_read_say_why_to_both() -> None:
    answer = Answer("acme", None, inconclusive(NO_LIVE_MODEL))
    assert public_answer(answer) == {
        "brand_id": "acme",
        "model_version": None,
        "verdict": "inconclusive",
        "reason": NO_LIVE_MODEL,
        "detections": [],
        "barcodes": [],
        "image_size": None,
    }
    assert answer.to_json()["reason"] == NO_LIVE_MODEL
