"""Which model the artifact serves: the smaller one only when it keeps mAP50."""

from __future__ import annotations

from authentic.training.container.quantize import MAX_MAP50_DROP, choose_served


def test_the_smaller_model_is_served_within_the_allowed_drop() -> None:
    assert MAX_MAP50_DROP == 0.015
    choice, reason = choose_served(0.92, 0.91, "int8")
    assert choice == "int8" and "within 0.015" in reason


def test_a_collapsed_model_is_never_served() -> None:
    choice, reason = choose_served(0.92, 0.0, "int8")
    assert choice == "fp32" and "dropped 0.9200" in reason and "serving fp32" in reason
    assert choose_served(0.92, 0.90, "fp16")[0] == "fp32"


def test_without_a_smaller_model_fp32_is_served() -> None:
    assert choose_served(0.5, None, "int8") == ("fp32", "no smaller model was made")
