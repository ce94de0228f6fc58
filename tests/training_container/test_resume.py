"""Spot training resumes from the checkpoint directory; a job can start from given or baked-in weights."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from authentic.training.container.engine import prepare_ultralytics, run_training
from authentic.training.container.program import WEIGHTS_DIR_ENV, main, resolve_weights
from authentic.training.container.recipe import train_args
from authentic.training.hyperparameters import Hyperparameters
from tests.support.training import TINY_HYPERPARAMETERS, TrainingRun, make_ml_root

pytestmark = pytest.mark.slow


class Interrupted(Exception):
    """Stands in for a spot interruption after an epoch's checkpoint was written."""


def test_an_interrupted_run_resumes_after_its_last_epoch(tiny_training_run: TrainingRun, tmp_path: Path) -> None:
    prepare_ultralytics()
    data_yaml = tiny_training_run.ml_root / "work" / "yolo" / "data.yaml"
    hp = Hyperparameters(epochs=2, imgsz=96, batch=8)
    args = train_args(
        hp, data_yaml=data_yaml, imgsz=96, device="cpu", project=tmp_path, name="x", weights=None, train_images=15
    )

    def interrupt(_report: object, _trainer: object) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        run_training(args, checkpoints_dir=tmp_path / "checkpoints", on_epoch=interrupt)
    assert (tmp_path / "checkpoints" / "yolo" / "weights" / "last.pt").is_file()

    result = run_training(args, checkpoints_dir=tmp_path / "checkpoints")
    assert result.resumed_from_epoch == 1
    assert [report.epoch for report in result.history] == [2]
    assert result.epochs_run == 2
    assert result.best.is_file()


def test_a_job_starts_from_the_weights_it_names(tiny_training_run: TrainingRun, tmp_path: Path) -> None:
    weights = tmp_path / "start.pt"
    shutil.copyfile(tiny_training_run.ml_root / "checkpoints" / "yolo" / "weights" / "best.pt", weights)
    ml_root = make_ml_root(tmp_path / "ml", {**TINY_HYPERPARAMETERS, "weights": str(weights)})
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([], ml_root=ml_root) == 0
    metrics = json.loads((ml_root / "model" / "metrics.json").read_text())
    assert metrics["pretrained"] == str(weights)


def test_baked_weights_are_used_when_they_match_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path))
    assert resolve_weights(Hyperparameters(model="yolo11n")) is None
    (tmp_path / "yolo11n.pt").write_bytes(b"weights")
    assert resolve_weights(Hyperparameters(model="yolo11n")) == tmp_path / "yolo11n.pt"
    assert resolve_weights(Hyperparameters(model="yolov8s")) is None, "never weights of another model"
    (tmp_path / "custom.pt").write_bytes(b"weights")
    assert resolve_weights(Hyperparameters(weights="custom.pt")) == tmp_path / "custom.pt"
