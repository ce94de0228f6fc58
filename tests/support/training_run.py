"""Shared fixtures for the container programs.

`tiny_model_dir` is one real training run of the training program (in-process, sockets blocked) over a tiny
synthetic channel: 1 epoch at imgsz 96, about 15 s on 2 CPU cores, once per session. It holds `model.onnx`,
`labels.json`, `metrics.json`, `split.json` and `report/`, as SageMaker's `/opt/ml/model/` would. The inference
tests reuse it: keep its name and contents stable.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests.support.training import TrainingRun, make_ml_root, no_network


@pytest.fixture(scope="session")
def tiny_training_run(tmp_path_factory: pytest.TempPathFactory) -> TrainingRun:
    """Run the training program once, in this process, with every socket refused."""
    from authentic.training.container.program import main

    ml_root = make_ml_root(tmp_path_factory.mktemp("ml"))
    out = io.StringIO()
    with no_network() as guard, contextlib.redirect_stdout(out):
        code = main(["train"], ml_root=ml_root)
    failure = ml_root / "output" / "failure"
    if code != 0:
        reason = failure.read_text() if failure.exists() else "(no failure file)"
        pytest.fail(f"the tiny training run failed with exit code {code}: {reason}")
    return TrainingRun(ml_root, code, out.getvalue(), tuple(guard.attempts))


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_training_run: TrainingRun) -> Path:
    """A real, tiny model artifact directory: model.onnx, labels.json, metrics.json, split.json, report/."""
    return tiny_training_run.model_dir
