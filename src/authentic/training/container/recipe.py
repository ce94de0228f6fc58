"""The project's training recipe: how `Hyperparameters` become `ultralytics` trainer arguments.

The defaults are tuned for what brands upload: tens to a few hundred photos per class, where what matters is
telling a genuine product from a close copy, trained from scratch or fine-tuned from baked-in weights. What
differs from ultralytics' own defaults, and why (bench/train.py measures the effect):
- No gradient accumulation (`nbs` = batch), and a batch that follows the training set's size (`auto_batch`:
  about 25 optimizer steps per epoch, batch 4 to 16): ultralytics accumulates to a nominal batch of 64, so 100
  photos give under two optimizer steps per epoch, and a from-scratch detector needs about 90 steps before it
  reports any box above the validation threshold.
- Colour is evidence: a counterfeit often differs from the genuine product by a shade. ultralytics' default
  colour jitter (saturation +-70%, hue +-1.5%) teaches the model to ignore exactly that, so it is reduced to
  saturation +-30% and hue +-0.5% (brightness jitter stays: lighting varies).
- The classification loss counts double (`cls=1.0`): finding the product is easy, telling genuine from
  counterfeit is the task.
- AdamW at a fixed lr0 instead of `optimizer=auto` (which also picks AdamW here, at a rate that depends on the
  class count), a one-epoch warm-up instead of three, cosine decay to the end of the run.
- Mosaic (which shrinks objects and their print) is closed for the second half of the run (at least 3 epochs).
- Images cached in RAM (ultralytics checks free memory first), AMP off on CPU and bf16 on GPUs that support it
  (ultralytics' fp16 AMP check downloads a checkpoint, which this offline image must never do).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authentic.training.hyperparameters import MAX_AUTO_IMGSZ, MIN_AUTO_IMGSZ, Hyperparameters

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
    "hsv_h": 0.005,
    "hsv_s": 0.3,
    "hsv_v": 0.4,
    "cls": 1.0,
    "cache": "ram",
}
CLOSE_MOSAIC_FRACTION = 0.5
STEPS_PER_EPOCH = 25
MIN_BATCH, MAX_BATCH = 4, 16
MIN_CLOSE_MOSAIC = 3
# Image size on a CPU budget: the smallest size at which nearly all boxes keep enough pixels. A box's short side
# of 48 px after letterboxing still shows a playing card's corner index, a logo's shape and its print; 95% of the
# training boxes must keep it (the 5% smallest are the cut-off and far-away ones).
MIN_BOX_SIDE_PX = 48
BOX_COVERAGE = 0.95
CPU_SCRATCH, CPU_PRETRAINED, GPU_SCRATCH, GPU_PRETRAINED = (
    "cpu-scratch",
    "cpu-pretrained",
    "gpu-scratch",
    "gpu-pretrained",
)


@dataclass(frozen=True)
class ImageSizeChoice:
    imgsz: int
    rule: str  # "set", "boxes" or "long side"
    box_side_px: float | None  # the coverage quantile of the boxes' short side, in pixels at `imgsz`

    def to_json(self) -> dict[str, Any]:
        side = None if self.box_side_px is None else round(self.box_side_px, 1)
        return {"imgsz": self.imgsz, "rule": self.rule, f"box_short_side_p{round((1 - BOX_COVERAGE) * 100)}_px": side}


def training_path(device: str, pretrained: bool) -> str:
    """Which recipe runs: on the CPU or a GPU, from scratch or from pretrained weights."""
    return f"{'cpu' if device == 'cpu' else 'gpu'}-{'pretrained' if pretrained else 'scratch'}"


def choose_imgsz(
    set_imgsz: int, *, path: str, long_sides: Sequence[int], box_ratios: Sequence[float]
) -> ImageSizeChoice:
    """The training image size. `long_sides`: each photo's long side; `box_ratios`: each box's short side over
    its photo's long side.

    On the CPU (a time budget, where every pixel costs epochs), the smallest multiple of 32 at which
    `BOX_COVERAGE` of the boxes keep a short side of `MIN_BOX_SIDE_PX`. On a GPU, the photos' long side as
    before (pixels are cheap there, pretrained weights use them). Both: at most 640 and never above the photos'
    long side (no upsampling), at least 160."""
    longest = max(long_sides, default=MAX_AUTO_IMGSZ)
    cap = max(MIN_AUTO_IMGSZ, min(MAX_AUTO_IMGSZ, _round32(longest)))
    small = _quantile(box_ratios, 1 - BOX_COVERAGE)
    if set_imgsz:
        return ImageSizeChoice(set_imgsz, "set", small * set_imgsz if small else None)
    if path.startswith("gpu") or not small:
        return ImageSizeChoice(cap, "long side", small * cap if small else None)
    imgsz = max(MIN_AUTO_IMGSZ, min(cap, _round32(MIN_BOX_SIDE_PX / small)))
    return ImageSizeChoice(imgsz, "boxes", small * imgsz)


def _round32(value: float) -> int:
    return int(math.ceil(value / 32 - 1e-9) * 32)


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(v for v in values if v > 0)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def auto_batch(train_images: int) -> int:
    """A power of two giving about `STEPS_PER_EPOCH` optimizer steps per epoch, between 4 and 16."""
    wanted = max(train_images, 1) / STEPS_PER_EPOCH
    power = 2 ** max(0, math.floor(math.log2(wanted))) if wanted >= 1 else 1
    return max(MIN_BATCH, min(MAX_BATCH, power))


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
    train_images: int,
) -> dict[str, Any]:
    """The full ultralytics argument set for one training run with the project's recipe."""
    batch = hp.batch or auto_batch(train_images)
    args: dict[str, Any] = {
        **common_args(data_yaml=data_yaml, project=project, name=name),
        **runtime_args(device),
        **PROJECT_RECIPE,
        "model": hp.model_yaml,
        "pretrained": str(weights) if weights is not None else False,
        "epochs": hp.epochs,
        "patience": hp.patience if hp.patience > 0 else hp.epochs + 1,
        "imgsz": imgsz,
        "batch": batch,
        "nbs": batch,
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
