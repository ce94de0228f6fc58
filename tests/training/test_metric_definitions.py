"""SageMaker's metric definitions (the orchestration's) must parse the training program's progress lines."""

from __future__ import annotations

import re

from authentic.training.container.engine import EpochReport
from authentic.training.progress import METRIC_DEFINITIONS


def test_every_metric_definition_reads_the_progress_line() -> None:
    line = EpochReport(
        epoch=7,
        epochs=40,
        losses={"box_loss": 1.25, "cls_loss": 0.5, "dfl_loss": 1.0},
        map50=0.8125,
        map50_95=0.5,
        precision=0.75,
        recall=0.625,
        seconds=12.5,
    ).line()

    found = {}
    for definition in METRIC_DEFINITIONS:
        match = re.search(definition["Regex"], line)
        assert match, f"{definition['Name']} does not match {line!r}"
        found[definition["Name"]] = float(match.group(1))

    assert found["epoch"] == 7
    assert found["epochs"] == 40
    assert found["validation:map50"] == 0.8125
    assert found["validation:map50_95"] == 0.5
    assert found["train:box_loss"] == 1.25
