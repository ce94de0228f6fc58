"""Training with `ultralytics`: one run, resumable from the checkpoint directory, with stable progress lines.

Call `prepare_ultralytics()` before anything imports ultralytics (the program does): ultralytics reads its
environment at import time. This module itself imports it only inside functions.

Progress: after every epoch one line on stdout, always in this form (SageMaker metric definitions parse it):

    [authentic] epoch=3/40 box_loss=1.2345 cls_loss=2.3456 dfl_loss=1.1111 map50=0.5123 map50_95=0.3012
        precision=0.6101 recall=0.5500 seconds=13.2          (one line)

Spot training: the run lives in `<checkpoints>/yolo/` (SageMaker syncs `/opt/ml/checkpoints` with S3). If a
`last.pt` is there when the job starts, training resumes from it; if the run had finished, a marker file says
so and training is skipped.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authentic.errors import DomainError, TrainingError
from authentic.training.container.recipe import close_mosaic_epochs
from authentic.training.progress import PROGRESS_PREFIX

LOGGER = logging.getLogger(__name__)
RUN_NAME = "yolo"
DONE_MARKER = "training-complete.json"
PROGRESS_KEYS = ("box_loss", "cls_loss", "dfl_loss", "map50", "map50_95", "precision", "recall")

_VAL_KEYS = {
    "map50": "metrics/mAP50(B)",
    "map50_95": "metrics/mAP50-95(B)",
    "precision": "metrics/precision(B)",
    "recall": "metrics/recall(B)",
}


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # 1-based
    epochs: int
    losses: Mapping[str, float]
    map50: float
    map50_95: float
    precision: float
    recall: float
    seconds: float  # since training started

    def line(self) -> str:
        parts = [f"{PROGRESS_PREFIX} epoch={self.epoch}/{self.epochs}"]
        parts += [f"{name}={_fmt(self.losses.get(name, math.nan))}" for name in ("box_loss", "cls_loss", "dfl_loss")]
        parts += [
            f"map50={self.map50:.4f}",
            f"map50_95={self.map50_95:.4f}",
            f"precision={self.precision:.4f}",
            f"recall={self.recall:.4f}",
            f"seconds={self.seconds:.1f}",
        ]
        return " ".join(parts)


@dataclass(frozen=True)
class TrainResult:
    best: Path
    run_dir: Path
    epochs_run: int
    seconds: float
    resumed_from_epoch: int | None
    history: tuple[EpochReport, ...]


EpochCallback = Callable[[EpochReport, Any], None]


def prepare_ultralytics() -> None:
    """Make ultralytics offline before it is first imported: `authentic.offline.prepare_offline` puts its fonts
    where it looks (it asks GitHub for them otherwise), turns every integration and telemetry switch off and
    keeps its process-wide `Image.open` patch from reaching for a package we do not ship."""
    from authentic.training.container.offline import prepare_offline  # noqa: PLC0415

    prepare_offline()


def run_training(
    args: Mapping[str, Any],
    *,
    checkpoints_dir: Path,
    on_epoch: EpochCallback | None = None,
    resume: bool = True,
) -> TrainResult:
    """Train with the ultralytics arguments `args` (`project`/`name` are replaced by the checkpoint run dir).

    `on_epoch(report, trainer)` runs after each epoch's validation; it may set `trainer.stop = True`.
    """
    from ultralytics.models.yolo.detect import DetectionTrainer  # noqa: PLC0415

    run_dir = checkpoints_dir / RUN_NAME
    overrides = {**args, "project": str(checkpoints_dir), "name": RUN_NAME, "exist_ok": True}
    finished = _finished_run(run_dir) if resume else None
    if finished is not None:
        return finished
    resumed_from = _resume_point(run_dir, overrides) if resume else None
    if not resume and run_dir.exists():
        shutil.rmtree(run_dir)
    done = run_dir / DONE_MARKER

    history: list[EpochReport] = []
    started = time.monotonic()

    class _Trainer(DetectionTrainer):  # type: ignore[misc]
        def final_eval(self) -> None:
            """The program evaluates the exported ONNX model instead; here only the checkpoints are finalised."""

    def epoch_end(trainer: Any) -> None:
        if trainer.args.time:  # ultralytics re-plans the epochs to fit the time: keep mosaic's share of them
            trainer.args.close_mosaic = close_mosaic_epochs(int(trainer.epochs))
        report = _report(trainer, time.monotonic() - started)
        if history and report.epoch <= history[-1].epoch:
            return
        history.append(report)
        if on_epoch is not None:
            on_epoch(report, trainer)

    trainer: Any = _Trainer(overrides=overrides)
    trainer.add_callback("on_fit_epoch_end", epoch_end)
    try:
        trainer.train()
    except DomainError:
        raise
    except (RuntimeError, AssertionError, ValueError, FileNotFoundError) as exc:
        raise TrainingError(f"training failed: {exc}") from exc
    best = trainer.best if Path(trainer.best).is_file() else trainer.last
    if not Path(best).is_file():
        raise TrainingError("training finished without saving a checkpoint")
    epochs_run = history[-1].epoch if history else int(trainer.epoch) + 1
    seconds = time.monotonic() - started
    done.write_text(json.dumps({"epochs_run": epochs_run, "seconds": round(seconds, 1)}))
    return TrainResult(Path(best), run_dir, epochs_run, seconds, resumed_from, tuple(history))


def _report(trainer: Any, seconds: float) -> EpochReport:
    metrics: Mapping[str, Any] = trainer.metrics or {}
    losses = {str(name).removesuffix("_loss") + "_loss": float(value) for name, value in (trainer.tloss or {}).items()}
    return EpochReport(
        epoch=int(trainer.epoch) + 1,
        epochs=int(trainer.epochs),
        losses=losses,
        map50=float(metrics.get(_VAL_KEYS["map50"], 0.0)),
        map50_95=float(metrics.get(_VAL_KEYS["map50_95"], 0.0)),
        precision=float(metrics.get(_VAL_KEYS["precision"], 0.0)),
        recall=float(metrics.get(_VAL_KEYS["recall"], 0.0)),
        seconds=seconds,
    )


def _finished_run(run_dir: Path) -> TrainResult | None:
    """The result of a run that already finished here (a restarted job after training), or None."""
    done, best = run_dir / DONE_MARKER, run_dir / "weights" / "best.pt"
    if not (done.is_file() and best.is_file()):
        return None
    record = json.loads(done.read_text())
    LOGGER.info("training already finished in %s (epoch %s); skipping to export", run_dir, record["epochs_run"])
    return TrainResult(best, run_dir, int(record["epochs_run"]), 0.0, None, ())


def _resume_point(run_dir: Path, overrides: dict[str, Any]) -> int | None:
    """If the run dir holds a resumable `last.pt`, set ultralytics to resume from it; returns its last epoch."""
    last = run_dir / "weights" / "last.pt"
    epoch = _checkpoint_epoch(last) if last.is_file() else None
    if epoch is not None:
        LOGGER.info("resuming training from %s after epoch %d", last, epoch)
        overrides["resume"] = str(last)
    return epoch


def _checkpoint_epoch(path: Path) -> int | None:
    """The last finished epoch (1-based) of a resumable checkpoint, or None if it cannot be resumed."""
    import torch  # noqa: PLC0415

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a torn checkpoint (spot interruption mid-write) is not fatal
        LOGGER.warning("checkpoint %s cannot be read (%s); training from the start", path, exc)
        return None
    epoch = ckpt.get("epoch", -1) if isinstance(ckpt, dict) else -1
    if epoch < 0 or ckpt.get("optimizer") is None:
        return None
    return int(epoch) + 1


def _fmt(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.4f}"
