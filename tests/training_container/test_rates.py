"""The verdict's error rates and the background check, on hand-made class scores (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from authentic.training.container.rates import (
    Rate,
    ScoredPhoto,
    background_rate,
    background_threshold,
    letterbox,
    truth_of,
    verdict,
    verdict_rates,
    wilson_interval,
)

CLASSES = [
    {"id": 0, "name": "genuine", "role": "genuine"},
    {"id": 1, "name": "fake", "role": "counterfeit"},
]


def photo(genuine: float, fake: float, truth: str) -> ScoredPhoto:
    return ScoredPhoto(f"{truth}-{genuine}-{fake}", np.array([genuine, fake]), truth)


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert Rate(1, 4).to_json() == {"rate": 0.25, "count": 1, "total": 4, "ci95": list(wilson_interval(1, 4))}


def test_the_verdict_is_the_verify_routes_policy_at_one_threshold() -> None:
    assert verdict(np.array([0.6, 0.0]), CLASSES, 0.5) == "genuine"
    assert verdict(np.array([0.9, 0.55]), CLASSES, 0.5) == "counterfeit"  # a counterfeit class wins
    assert verdict(np.array([0.4, 0.3]), CLASSES, 0.5) == "inconclusive"
    assert verdict(np.array([0.0, 0.0]), CLASSES, 0.5) == "inconclusive"


def test_truth_follows_the_roles_of_the_boxes_shown() -> None:
    assert truth_of({0}, CLASSES) == "genuine"
    assert truth_of({0, 1}, CLASSES) == "counterfeit"
    assert truth_of(set(), CLASSES) == "background"


def test_rates_count_each_error_against_its_own_population() -> None:
    photos = [
        photo(0.9, 0.1, "genuine"),  # right
        photo(0.9, 0.7, "genuine"),  # false counterfeit
        photo(0.2, 0.1, "genuine"),  # inconclusive
        photo(0.1, 0.8, "counterfeit"),  # right
        photo(0.8, 0.2, "counterfeit"),  # false genuine
    ]
    rates = verdict_rates(photos, CLASSES, 0.5)
    assert rates["genuine_photos"] == 3 and rates["counterfeit_photos"] == 2
    assert rates["false_counterfeit"]["count"] == 1 and rates["false_counterfeit"]["total"] == 3
    assert rates["false_genuine"]["count"] == 1 and rates["false_genuine"]["total"] == 2
    assert rates["inconclusive"]["count"] == 1 and rates["inconclusive"]["total"] == 5
    low, high = rates["false_counterfeit"]["ci95"]
    assert low < 1 / 3 < high


def test_the_threshold_rises_until_at_most_the_allowed_share_of_backgrounds_is_answered() -> None:
    scores = [0.05 * i for i in range(1, 20)]  # 0.05 .. 0.95, one photo each
    backgrounds = [photo(s, 0.0, "background") for s in scores]
    assert background_rate(backgrounds, CLASSES, 0.3).count == 14
    raised = background_threshold(backgrounds, 0.3, max_rate=0.1)  # 1 of 19 may be answered
    assert background_rate(backgrounds, CLASSES, raised).count == 1
    assert 0.90 < raised <= 0.9001
    assert background_threshold(backgrounds, 0.3, max_rate=1.0) == 0.3  # no bar: unchanged
    assert background_threshold(backgrounds, 0.97, max_rate=0.0) == 0.97  # already above every score
    assert background_threshold([], 0.4, max_rate=0.01) == 0.4


def test_letterbox_keeps_the_aspect_and_pads_grey() -> None:
    tensor = letterbox(Image.new("RGB", (200, 100), (255, 0, 0)), (64, 64))
    assert tensor.shape == (1, 3, 64, 64) and tensor.dtype == np.float32
    assert tensor[0, 0, 32, 32] == pytest.approx(1.0)  # the photo, centred
    assert tensor[0, 0, 2, 32] == pytest.approx(114 / 255)  # padding above it
