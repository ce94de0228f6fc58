"""The confidence threshold chosen on validation: the start of the F1 plateau, not a point anywhere on it."""

from __future__ import annotations

import numpy as np

from authentic.training.container.evaluate import F1_TOLERANCE, plateau_start


def test_the_threshold_is_where_f1_first_comes_within_tolerance_of_its_best() -> None:
    confidences = np.linspace(0, 1, 1001)
    f1 = np.where((confidences >= 0.3) & (confidences <= 0.8), 0.98, 0.5)
    f1[700] = 0.985  # a hair higher far up the plateau: the argmax would pick 0.7

    assert plateau_start(confidences, f1) == 0.3
    assert f1[300] >= f1.max() - F1_TOLERANCE


def test_a_single_peak_is_its_own_plateau() -> None:
    confidences = np.linspace(0, 1, 101)
    f1 = 1 - np.abs(confidences - 0.6)
    assert plateau_start(confidences, f1) == 0.59
