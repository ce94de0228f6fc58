"""`authentic train` trains for a time budget by default, and says so."""

from __future__ import annotations

from typing import Any

import pytest

from authentic.cli import main as cli
from authentic.training.hyperparameters import DEFAULT_TIME_LIMIT_MINUTES


class FakeClient:
    def __init__(self) -> None:
        self.started: list[dict[str, str]] = []

    def start_training(self, brand: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
        self.started.append(hyperparameters)
        return {"job_name": "authentic-acme-1", "state": "InProgress"}


def run(argv: list[str]) -> FakeClient:
    client = FakeClient()
    args = cli.build_parser().parse_args(["train", "--brand", "acme", "--api", "http://127.0.0.1:9", *argv])
    assert cli._cmd_train(client, args) == 0
    return client


def test_the_default_budget_is_15_minutes() -> None:
    assert DEFAULT_TIME_LIMIT_MINUTES == 15.0
    assert run([]).started == [{"time_limit_minutes": "15"}]


def test_the_budget_can_be_changed_or_turned_off() -> None:
    assert run(["--time-limit", "40"]).started == [{"time_limit_minutes": "40"}]
    assert run(["--time-limit", "0"]).started == [{"time_limit_minutes": "0"}]
    assert run(["--set", "time_limit_minutes=5"]).started == [{"time_limit_minutes": "5"}]


def test_a_negative_budget_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["train", "--time-limit", "-1", "--brand", "acme", "--api", "http://127.0.0.1:9"]) == 2
    assert "--time-limit" in capsys.readouterr().err


def test_the_job_text_says_why_the_gate_said_no_and_what_to_do() -> None:
    job = {
        "job_name": "authentic-acme-1",
        "state": "Completed",
        "version": 3,
        "gate": {
            "passed": False,
            "reason": "mAP50 0.410 < bar 0.500",
            "advice": {
                "weakest_classes": [{"name": "queen", "map50": 0.21, "train_images": 12, "val_images": 3}],
                "suggestions": ["add photos of 'queen' (12 training photos, AP50 0.21)"],
            },
        },
    }
    text = cli._job_text(job)
    assert "version 3: not live (mAP50 0.410 < bar 0.500)" in text
    assert "weak class queen: AP50 0.210, 12 training and 3 validation photos" in text
    assert "suggestion: add photos of 'queen'" in text
