"""The training container's program: SageMaker's `/opt/ml` contract in, a verified ONNX detector out.

    ml_root/input/config/hyperparameters.json   strings (see `hyperparameters.py`); optional
    ml_root/input/config/inputdataconfig.json   must name the "training" channel when present
    ml_root/input/data/training/                the frozen dataset as SageMaker lays out the job's ManifestFile:
                                                manifests/{id}.json (the only one) and the objects/ it names
    ml_root/checkpoints/                        the resumable run (SageMaker syncs it for spot training)
    ml_root/model/                              model.onnx, labels.json, metrics.json, split.json, report/
    ml_root/output/failure                      on any failure: one short reason; the exit code is non-zero

Run it as `train` (SageMaker) or `python containers/training/train.py train --ml-root DIR` (local runtime).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authentic.annotations.model import Category
from authentic.contracts import LABELS_FILE, METRICS_FILE, MODEL_FILE, SPLIT_FILE, TRAINING_CHANNEL
from authentic.errors import DomainError, InvalidInput
from authentic.training.container.channel import Dataset, read_channel
from authentic.training.container.split import Split, SplitItem, split_items
from authentic.training.hyperparameters import MAX_AUTO_IMGSZ, Hyperparameters, parse_hyperparameters

LOGGER = logging.getLogger("authentic.training")
WEIGHTS_DIR_ENV = "AUTHENTIC_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = "/opt/weights"
LABELS_SCHEMA = 1
METRICS_SCHEMA = 1
FAILURE_MAX_CHARS = 1000  # SageMaker's FailureReason holds 1024
FINAL_PREFIX = "[authentic-final]"


@dataclass(frozen=True)
class MlPaths:
    root: Path

    @property
    def hyperparameters(self) -> Path:
        return self.root / "input" / "config" / "hyperparameters.json"

    @property
    def input_data_config(self) -> Path:
        return self.root / "input" / "config" / "inputdataconfig.json"

    @property
    def channel(self) -> Path:
        return self.root / "input" / "data" / TRAINING_CHANNEL

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def failure(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def work(self) -> Path:
        return self.root / "work"


def main(argv: Sequence[str] | None = None, *, ml_root: Path = Path("/opt/ml")) -> int:
    """Run one training job; returns the process exit code (0 on success)."""
    options = _parse_argv(sys.argv[1:] if argv is None else argv)
    paths = MlPaths(Path(options.ml_root) if options.ml_root else ml_root)
    _setup_logging()
    try:
        summary = train_job(paths)
    except DomainError as exc:
        LOGGER.error("training job failed: %s", exc.message)
        _write_failure(paths, exc.message)
        return 1
    except Exception as exc:
        LOGGER.exception("training job failed unexpectedly")
        _write_failure(paths, f"internal error: {type(exc).__name__}: {exc}")
        return 2
    print(
        f"{FINAL_PREFIX} map50={summary['map50']:.4f} map50_95={summary['map50_95']:.4f} "
        f"precision={summary['precision']:.4f} recall={summary['recall']:.4f} "
        f"threshold={summary['threshold']:.4f} epochs={summary['epochs_run']}",
        flush=True,
    )
    return 0


def train_job(paths: MlPaths) -> dict[str, Any]:
    """The whole job; raises `DomainError` with a human-readable reason on any expected failure."""
    started = time.monotonic()
    hp = parse_hyperparameters(_read_json(paths.hyperparameters, default={}))
    _check_input_config(paths.input_data_config)
    LOGGER.info("hyperparameters: %s", json.dumps(hp.to_json(), sort_keys=True))
    dataset = read_channel(paths.channel, min_images_per_class=hp.min_images_per_class)
    split = split_dataset(dataset, hp)
    imgsz = hp.imgsz or auto_imgsz(dataset)
    device = resolve_device(hp.device)
    weights = resolve_weights(hp)

    from authentic.training.container.engine import prepare_ultralytics  # noqa: PLC0415

    prepare_ultralytics()
    from authentic.training.container.convert import write_yolo_layout  # noqa: PLC0415
    from authentic.training.container.engine import EpochReport, run_training  # noqa: PLC0415
    from authentic.training.container.evaluate import evaluate_model  # noqa: PLC0415
    from authentic.training.container.export import add_metadata, check_onnx, export_onnx  # noqa: PLC0415
    from authentic.training.container.recipe import train_args  # noqa: PLC0415
    from authentic.training.container.report import collect_plots, draw_predictions  # noqa: PLC0415

    layout = write_yolo_layout(dataset, split, paths.work / "yolo")
    LOGGER.info(
        "training %s on %d images, validating on %d, imgsz %d, device %s, weights %s",
        hp.model_name, layout.train_images, layout.val_images, imgsz, device, weights or "none (from scratch)",
    )  # fmt: skip

    def progress(report: EpochReport, _trainer: Any) -> None:
        print(report.line(), flush=True)

    args = train_args(
        hp, data_yaml=layout.data_yaml, imgsz=imgsz, device=device, project=paths.checkpoints, name="yolo",
        weights=weights, train_images=layout.train_images,
    )  # fmt: skip
    result = run_training(args, checkpoints_dir=paths.checkpoints, on_epoch=progress)

    _reset_dir(paths.model)
    onnx_path = export_onnx(result.best, imgsz=imgsz, target=paths.model / MODEL_FILE)
    check = check_onnx(onnx_path, imgsz=imgsz, num_classes=len(dataset.categories))
    evaluation = evaluate_model(
        onnx_path, data_yaml=layout.data_yaml, imgsz=imgsz, work_dir=paths.work, names=layout.names
    )
    labels = labels_json(dataset.categories, imgsz=imgsz, check=check.to_json(), evaluation=evaluation.to_json())
    add_metadata(onnx_path, {"authentic_labels": labels})
    check_onnx(onnx_path, imgsz=imgsz, num_classes=len(dataset.categories))  # still loads after the edit

    report_dir = paths.model / "report"
    plots = collect_plots(report_dir, run_dir=result.run_dir, val_dir=evaluation.save_dir)
    predictions = draw_predictions(
        onnx_path, sorted(layout.val_dir.iterdir()), imgsz=imgsz, threshold=evaluation.threshold,
        out_dir=report_dir / "predictions",
    )  # fmt: skip

    metrics = {
        "schema": METRICS_SCHEMA,
        **evaluation.to_json(),
        "evaluated": "model.onnx with onnxruntime on the validation split",
        "dataset": dataset_counts(dataset, split),
        "engine": _engine_versions(),
        "training_seconds": round(result.seconds, 1),
        "job_seconds": round(time.monotonic() - started, 1),
        "epochs_run": result.epochs_run,
        "epochs_requested": hp.epochs,
        "resumed_from_epoch": result.resumed_from_epoch,
        "imgsz": imgsz,
        "model": hp.model_name,
        "pretrained": str(weights) if weights else None,
        "device": device,
        "brand_id": hp.brand_id or dataset.manifest.brand_id,
        "manifest_id": dataset.manifest.manifest_id,
        "manifest_key": hp.manifest_key or None,
        "hyperparameters": hp.to_json(),
        "split_digest": split.digest,
        "history": [_history_row(r) for r in result.history],
        "report": sorted([*plots, *(f"predictions/{name}" for name in predictions)]),
    }
    _write_json(paths.model / LABELS_FILE, labels)
    _write_json(paths.model / METRICS_FILE, metrics)
    names = {c.class_id: c.name for c in dataset.categories}
    _write_json(paths.model / SPLIT_FILE, split.to_json(_split_items(dataset), names))
    return {**metrics, "threshold": evaluation.threshold}


# ---------------------------------------------------------------------------------------------------------------
# Steps


def split_dataset(dataset: Dataset, hp: Hyperparameters) -> Split:
    return split_items(_split_items(dataset), val_fraction=hp.val_fraction, seed=hp.seed)


def auto_imgsz(dataset: Dataset) -> int:
    """The images' long side rounded up to a multiple of 32, at most 640: never upsample small photos."""
    longest = max((max(s.size.width, s.size.height) for s in dataset.samples), default=MAX_AUTO_IMGSZ)
    return max(64, min(MAX_AUTO_IMGSZ, math.ceil(longest / 32) * 32))


def resolve_device(device: str) -> str:
    import torch  # noqa: PLC0415

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "auto":
        return "0" if gpus else "cpu"
    if device == "cpu":
        return "cpu"
    index = 0 if device == "cuda" else int(device.removeprefix("cuda:"))
    if index >= gpus:
        raise InvalidInput(f"device {device!r} was asked for, but this machine has {gpus} GPU(s)")
    return str(index)


def resolve_weights(hp: Hyperparameters) -> Path | None:
    """The checkpoint to start from: the one named, else the image's baked weights for the model, else none."""
    weights_dir = Path(os.environ.get(WEIGHTS_DIR_ENV, DEFAULT_WEIGHTS_DIR))
    if hp.weights:
        path = Path(hp.weights)
        path = path if path.is_absolute() else weights_dir / path
        if not path.is_file():
            raise InvalidInput(f"weights file {path} does not exist (hyperparameter weights={hp.weights!r})")
        return path
    baked = weights_dir / f"{hp.model_name}.pt"
    return baked if baked.is_file() else None


def labels_json(
    categories: Sequence[Category], *, imgsz: int, check: dict[str, Any], evaluation: dict[str, Any]
) -> dict[str, Any]:
    per_class = evaluation.get("per_class", {})
    return {
        "schema": LABELS_SCHEMA,
        "classes": [
            {
                "id": index,
                "class_id": c.class_id,
                "name": c.name,
                "role": c.effective_role,
                "threshold": per_class.get(c.name, {}).get("threshold", evaluation["threshold"]),
            }
            for index, c in enumerate(categories)
        ],
        "imgsz": imgsz,
        **check,
        "threshold": evaluation["threshold"],
        "preprocess": {"resize": "letterbox", "pad_value": 114, "channels": "RGB", "scale": 1 / 255, "layout": "NCHW"},
        "postprocess": {"boxes": "cxcywh_pixels", "scores": "sigmoid", "nms": True, "nms_iou": 0.7},
    }


def dataset_counts(dataset: Dataset, split: Split) -> dict[str, Any]:
    val = set(split.val)
    per_class: dict[str, dict[str, int]] = {}
    for category in dataset.categories:
        per_class[category.name] = {"train_images": 0, "val_images": 0, "train_boxes": 0, "val_boxes": 0}
    for sample in dataset.samples:
        side = "val" if sample.pair_id in val else "train"
        names = {c.class_id: c.name for c in dataset.categories}
        for class_id in sample.class_ids:
            per_class[names[class_id]][f"{side}_images"] += 1
        for box in sample.boxes:
            per_class[names[box.class_id]][f"{side}_boxes"] += 1
    rejected = dataset.counts()
    for name, count in rejected.items():
        per_class[name]["rejected_boxes"] = count.rejected_boxes
    unique = len({s.sha256 for s in dataset.samples})
    return {
        "images": len(dataset.samples),
        "train_images": len(split.train),
        "val_images": len(split.val),
        "duplicate_images": len(dataset.samples) - unique,
        "rejected_boxes": len([p for p in dataset.rejected if p.box_index is not None]),
        "rejected_reasons": [str(p) for p in dataset.rejected[:20]],
        "per_class": per_class,
    }


# ---------------------------------------------------------------------------------------------------------------
# Plumbing


def _parse_argv(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="train", description="Train a brand's detector (SageMaker contract).")
    parser.add_argument("command", nargs="?", default="train", choices=["train"], help="SageMaker passes 'train'")
    parser.add_argument("--ml-root", default=None, help="the /opt/ml tree to use (default /opt/ml)")
    return parser.parse_args(list(argv))


def _setup_logging() -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_authentic", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._authentic = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    LOGGER.setLevel(logging.INFO)


def _check_input_config(path: Path) -> None:
    config = _read_json(path, default=None)
    if config is None:
        return
    if not isinstance(config, dict) or TRAINING_CHANNEL not in config:
        channels = ", ".join(sorted(config)) if isinstance(config, dict) else "none"
        raise InvalidInput(f"the job has no '{TRAINING_CHANNEL}' input channel (channels: {channels or 'none'})")
    mode = (
        config[TRAINING_CHANNEL].get("TrainingInputMode", "File")
        if isinstance(config[TRAINING_CHANNEL], dict)
        else "File"
    )
    if mode not in {"File", "FastFile"}:
        raise InvalidInput(f"the '{TRAINING_CHANNEL}' channel uses input mode {mode}; File or FastFile is needed")


def _read_json(path: Path, *, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path.name} is not valid JSON: {exc}") from exc


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")


def _write_failure(paths: MlPaths, message: str) -> None:
    text = message.strip() or "training failed"
    if len(text) > FAILURE_MAX_CHARS:
        text = text[: FAILURE_MAX_CHARS - 1] + "…"
    try:
        paths.failure.parent.mkdir(parents=True, exist_ok=True)
        paths.failure.write_text(text + "\n")
    except OSError:
        LOGGER.exception("cannot write the failure file %s", paths.failure)


def _reset_dir(path: Path) -> None:
    if path.exists():
        for child in path.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    path.mkdir(parents=True, exist_ok=True)


def _split_items(dataset: Dataset) -> list[SplitItem]:
    return [SplitItem(s.pair_id, s.sha256, s.class_ids) for s in dataset.samples]


def _history_row(report: Any) -> dict[str, Any]:
    return {
        "epoch": report.epoch,
        "map50": round(report.map50, 4),
        "map50_95": round(report.map50_95, 4),
        **{k: (round(v, 4) if math.isfinite(v) else None) for k, v in report.losses.items()},
        "seconds": round(report.seconds, 1),
    }


def _engine_versions() -> dict[str, str]:
    import onnxruntime  # noqa: PLC0415
    import torch  # noqa: PLC0415
    import ultralytics  # noqa: PLC0415

    return {
        "name": "ultralytics",
        "version": ultralytics.__version__,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
