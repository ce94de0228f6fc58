"""The quality gate: a finished model's metrics against the deployment's bars (mAP50 and, where set, the verdict's
error rates), and, when it says no, why and what the brand can do about it.

Bars on rates are off at 1.0. A bar that is set needs its rate in the metrics: a model whose metrics do not carry
it (an artifact from before the rates were measured) does not pass that bar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WEAKEST_CLASSES = 3
ENOUGH_TRAINING_IMAGES = 40  # below this, more photos of a weak class is the first suggestion
STILL_RISING = 0.02  # validation mAP50 gained over the last quarter of the run: it was still learning
CPU_PATHS = ("cpu-scratch", "cpu-pretrained")


@dataclass(frozen=True)
class Bars:
    map50: float
    max_false_counterfeit_rate: float = 1.0
    max_false_genuine_rate: float = 1.0
    max_inconclusive_rate: float = 1.0
    max_background_rate: float = 1.0


# (name in the gate, where the rate is in metrics.json, the bar's field, what it means)
_RATES = (
    ("false_counterfeit_rate", ("verdict_rates", "false_counterfeit"), "max_false_counterfeit_rate",
     "genuine photos answered counterfeit"),
    ("false_genuine_rate", ("verdict_rates", "false_genuine"), "max_false_genuine_rate",
     "counterfeit photos answered genuine"),
    ("inconclusive_rate", ("verdict_rates", "inconclusive"), "max_inconclusive_rate",
     "product photos answered inconclusive"),
    ("background_rate", ("background", "answered"), "max_background_rate",
     "unrelated photos answered other than inconclusive"),
)  # fmt: skip


def judge(metrics: Mapping[str, Any], bars: Bars) -> dict[str, Any]:
    """The gate's record: passed, the mAP50 and its bar, each rate bar checked, a reason, and advice on failure."""
    map50 = finite(metrics.get("map50"))
    checks: list[dict[str, Any]] = [{"name": "map50", "value": map50, "bar": bars.map50, "passed": map50 >= bars.map50}]
    reasons = [f"mAP50 {map50:.3f} {'≥' if map50 >= bars.map50 else '<'} bar {bars.map50:.3f}"]
    for name, where, field, meaning in _RATES:
        bar = float(getattr(bars, field))
        if bar >= 1.0:
            continue
        rate = _rate(metrics, where)
        passed = rate is not None and rate <= bar
        checks.append({"name": name, "value": rate, "bar": bar, "passed": passed})
        if rate is None:
            reasons.append(f"{name.replace('_', ' ')} not measured (bar {bar:.3f})")
        else:
            reasons.append(f"{name.replace('_', ' ')} {rate:.3f} {'≤' if passed else '>'} bar {bar:.3f} ({meaning})")
    passed = all(c["passed"] for c in checks)
    gate: dict[str, Any] = {
        "passed": passed,
        "map50": map50,
        "bar": bars.map50,
        "reason": "; ".join(reasons),
        "checks": checks,
    }
    if not passed:
        gate["advice"] = advise(metrics, [c["name"] for c in checks if not c["passed"]])
    return gate


def advise(metrics: Mapping[str, Any], failed: list[str]) -> dict[str, Any]:
    """The weakest classes (lowest validation AP, with their image counts) and concrete suggestions."""
    per_class: Mapping[str, Any] = metrics.get("per_class") or {}
    counts: Mapping[str, Any] = (metrics.get("dataset") or {}).get("per_class") or {}
    weakest = sorted(per_class, key=lambda name: (finite(per_class[name].get("map50")), name))[:WEAKEST_CLASSES]
    classes: list[dict[str, Any]] = [
        {
            "name": name,
            "map50": finite(per_class[name].get("map50")),
            "train_images": int((counts.get(name) or {}).get("train_images", 0)),
            "val_images": int((counts.get(name) or {}).get("val_images", per_class[name].get("images", 0))),
        }
        for name in weakest
    ]
    suggestions = []
    few = [c for c in classes if c["train_images"] < ENOUGH_TRAINING_IMAGES]
    if "map50" in failed and few:
        names = ", ".join(f"'{c['name']}' ({c['train_images']} training photos, AP50 {c['map50']:.2f})" for c in few)
        suggestions.append(
            f"add photos of {names}: at least {ENOUGH_TRAINING_IMAGES} each, from different angles, distances and "
            "light, as shoppers will take them"
        )
    recipe = metrics.get("recipe") or {}
    if "map50" in failed and _still_rising(metrics.get("history") or []):
        minutes = recipe.get("time_limit_minutes")
        longer = f"a longer budget than {minutes:g} minutes" if minutes else "more epochs"
        suggestions.append(f"train with {longer} (time_limit_minutes): validation mAP50 was still rising at the end")
    if "map50" in failed and recipe.get("path") in CPU_PATHS:
        suggestions.append(
            "train on a GPU with pretrained weights (the SageMaker deployment's default): from-scratch CPU training "
            "learns real photos slowly"
        )
    if "background_rate" in failed:
        suggestions.append(
            "add photos of the places the product is shown in without the product (shelves, counters, hands): "
            "the model answers photos of other things"
        )
    if "false_counterfeit_rate" in failed or "false_genuine_rate" in failed:
        suggestions.append(
            "check that genuine and counterfeit photos are labelled with the right class, and add photos of both "
            "that differ only in the details that tell them apart"
        )
    if "inconclusive_rate" in failed:
        suggestions.append("add photos of the products as shoppers take them (closer, in ordinary light)")
    if not suggestions:
        suggestions.append("add photos of the weakest classes, or train longer or on a GPU")
    return {"weakest_classes": classes, "suggestions": suggestions, "suggestion": "; ".join(suggestions)}


def finite(value: Any) -> float:
    """A metric as a number: missing, non-numeric or NaN counts as 0 (never as a pass)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _rate(metrics: Mapping[str, Any], where: tuple[str, str]) -> float | None:
    section = metrics.get(where[0])
    entry = section.get(where[1]) if isinstance(section, Mapping) else None
    value = entry.get("rate") if isinstance(entry, Mapping) else None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _still_rising(history: list[Any]) -> bool:
    values = [finite(row.get("map50")) for row in history if isinstance(row, Mapping)]
    if len(values) < 4:
        return bool(values)
    start = len(values) - max(2, len(values) // 4)
    return values[-1] - max(values[:start]) >= STILL_RISING
