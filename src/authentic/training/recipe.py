"""The project's training recipe: how `Hyperparameters` become `ultralytics` trainer arguments.

The defaults are tuned for what brands upload: tens to a few hundred photos per class, trained from scratch
or fine-tuned from baked-in weights. What differs from ultralytics' own defaults, and why (bench/train.py
measures the effect):
- No gradient accumulation (`nbs` = batch). ultralytics accumulates to a nominal batch of 64, so 100 images
  give under two optimizer steps per epoch; small datasets then need several times more epochs to converge.
- AdamW at a fixed lr0 instead of `optimizer=auto` (which also picks AdamW here but at a smaller, class-count
  dependent rate), a one-epoch warm-up instead of three, and a cosine decay to the end of the run.
- Mosaic is closed for the last quarter of the run (at least 3 epochs) so the final epochs see whole photos.
- Images cached in RAM (ultralytics checks free memory first), AMP off on CPU and bf16 on GPUs that support it
  (ultralytics' fp16 AMP check downloads a checkpoint, which this offline image must never do).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from authentic.training.hyperparameters import Hyperparameters

PROJECT_RECIPE: dict[str, Any] = {
    "optimizer": "AdamW",
    "lr0": 0.002,
    "lrf": 0.05,
    "cos_lr": True,
    "momentum": 0.9,
    "weight_decay": 0.0005,
    "warmup_epochs": 1.0,
    "warmup_bias_lr": 0.0,
    "mosaic": 1.0,
    "cache": "ram",
}
CLOSE_MOSAIC_FRACTION = 0.25
MIN_CLOSE_MOSAIC = 3


def close_mosaic_epochs(epochs: int) -> int:
    """Epochs at the end of the run trained without mosaic."""
    return min(epochs - 1, max(MIN_CLOSE_MOSAIC, math.ceil(epochs * CLOSE_MOSAIC_FRACTION))) if epochs > 1 else 0


def runtime_args(device: str) -> dict[str, Any]:
    """Arguments that follow the hardware, not the recipe (shared by every configuration the bench compares)."""
    if device == "cpu":
        return {"device": "cpu", "amp": False, "workers": 0}
    return {"device": device, "amp": _gpu_amp(), "workers": min(8, os.cpu_count() or 1)}


def common_args(*, data_yaml: Path, project: Path, name: str) -> dict[str, Any]:
    """Where to read and write, and the switches that keep a run offline, quiet and reproducible."""
    return {
        "task": "detect",
        "mode": "train",
        "data": str(data_yaml),
        "project": str(project),
        "name": name,
        "exist_ok": True,
        "plots": True,
        "verbose": False,
        "deterministic": True,
        "save": True,
    }


def train_args(
    hp: Hyperparameters,
    *,
    data_yaml: Path,
    imgsz: int,
    device: str,
    project: Path,
    name: str,
    weights: Path | None,
) -> dict[str, Any]:
    """The full ultralytics argument set for one training run with the project's recipe."""
    args: dict[str, Any] = {
        **common_args(data_yaml=data_yaml, project=project, name=name),
        **runtime_args(device),
        **PROJECT_RECIPE,
        "model": hp.model_yaml,
        "pretrained": str(weights) if weights is not None else False,
        "epochs": hp.epochs,
        "patience": hp.patience if hp.patience > 0 else hp.epochs + 1,
        "imgsz": imgsz,
        "batch": hp.batch,
        "nbs": hp.batch,
        "seed": hp.seed,
        "close_mosaic": close_mosaic_epochs(hp.epochs),
    }
    if hp.time_limit_minutes > 0:
        args["time"] = hp.time_limit_minutes / 60.0
    return args


def ultralytics_default_args(
    *, model_yaml: str, data_yaml: Path, imgsz: int, device: str, project: Path, name: str, epochs: int = 100
) -> dict[str, Any]:
    """ultralytics' own defaults for the same model, data, image size and hardware (the bench's baseline)."""
    return {
        **common_args(data_yaml=data_yaml, project=project, name=name),
        **runtime_args(device),
        "model": model_yaml,
        "pretrained": False,
        "epochs": epochs,
        "imgsz": imgsz,
    }


def _gpu_amp() -> bool | str:
    import torch  # noqa: PLC0415 - torch is only imported where training happens

    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else False
