"""The quality gate on mAP50 and the verdict's error rates, and the advice it gives when it says no."""

from __future__ import annotations

from typing import Any

from authentic.models.gate import Bars, judge


def metrics(map50: float = 0.9, **extra: Any) -> dict[str, Any]:
    return {
        "map50": map50,
        "per_class": {
            "ace": {"map50": 0.95, "images": 10},
            "queen": {"map50": 0.41, "images": 3},
            "king": {"map50": 0.7, "images": 8},
            "ten": {"map50": 0.99, "images": 9},
        },
        "dataset": {
            "per_class": {
                "ace": {"train_images": 60, "val_images": 10},
                "queen": {"train_images": 12, "val_images": 3},
                "king": {"train_images": 50, "val_images": 8},
                "ten": {"train_images": 55, "val_images": 9},
            }
        },
        "verdict_rates": {
            "false_counterfeit": {"rate": 0.02, "count": 1, "total": 50},
            "false_genuine": {"rate": 0.1, "count": 2, "total": 20},
            "inconclusive": {"rate": 0.05, "count": 4, "total": 70},
        },
        "background": {"answered": {"rate": 0.004, "count": 1, "total": 230}},
        "recipe": {"path": "cpu-scratch", "time_limit_minutes": 15.0},
        "history": [{"map50": 0.1 * i} for i in range(1, 9)],
        **extra,
    }


def test_map50_alone_by_default() -> None:
    gate = judge(metrics(0.9), Bars(map50=0.5))
    assert gate["passed"] and [c["name"] for c in gate["checks"]] == ["map50"]
    assert gate["reason"] == "mAP50 0.900 ≥ bar 0.500"
    assert "advice" not in gate


def test_rate_bars_are_checked_when_set() -> None:
    bars = Bars(map50=0.5, max_false_counterfeit_rate=0.01, max_background_rate=0.01)
    gate = judge(metrics(0.9), bars)
    assert not gate["passed"]
    failed = [c["name"] for c in gate["checks"] if not c["passed"]]
    assert failed == ["false_counterfeit_rate"]
    assert "false counterfeit rate 0.020 > bar 0.010" in gate["reason"]
    assert any("labelled with the right class" in s for s in gate["advice"]["suggestions"])


def test_a_rate_bar_without_the_rate_fails() -> None:
    old = {"map50": 0.9}
    gate = judge(old, Bars(map50=0.5, max_background_rate=0.05))
    assert not gate["passed"]
    assert "background rate not measured" in gate["reason"]


def test_advice_names_the_weakest_classes_with_counts_and_what_to_do() -> None:
    gate = judge(metrics(0.62), Bars(map50=0.8))
    advice = gate["advice"]
    assert [c["name"] for c in advice["weakest_classes"]] == ["queen", "king", "ace"]
    assert advice["weakest_classes"][0] == {"name": "queen", "map50": 0.41, "train_images": 12, "val_images": 3}
    text = advice["suggestion"]
    assert "add photos of 'queen' (12 training photos, AP50 0.41)" in text
    assert "a longer budget than 15 minutes" in text  # mAP50 still rising at the end of the history
    assert "GPU with pretrained weights" in text
