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
from authentic.training.container.recipe import CPU_SCRATCH, ImageSizeChoice, choose_imgsz, training_path
from authentic.training.container.split import Split, SplitItem, split_items
from authentic.training.hyperparameters import Hyperparameters, parse_hyperparameters

LOGGER = logging.getLogger("authentic.training")
WEIGHTS_DIR_ENV = "AUTHENTIC_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = "/opt/weights"
LABELS_SCHEMA = 1
METRICS_SCHEMA = 1
FAILURE_MAX_CHARS = 1000  # SageMaker's FailureReason holds 1024
FINAL_PREFIX = "[authentic-final]"
BACKGROUND_CHECK_SCENES = 200  # generated scenes in the background check (beside any photo folder)


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
    device = resolve_device(hp.device)
    weights = resolve_weights(hp)
    path = training_path(device, weights is not None)
    size = image_size(dataset, hp, path)
    imgsz = size.imgsz

    from authentic.training.container.engine import prepare_ultralytics  # noqa: PLC0415

    prepare_ultralytics()
    from authentic.training.container.backgrounds import write_training_backgrounds  # noqa: PLC0415
    from authentic.training.container.convert import write_yolo_layout  # noqa: PLC0415
    from authentic.training.container.engine import EpochReport, run_training  # noqa: PLC0415
    from authentic.training.container.recipe import train_args  # noqa: PLC0415

    layout = write_yolo_layout(dataset, split, paths.work / "yolo")
    backgrounds = write_training_backgrounds(
        layout.root, count=round(hp.background_fraction * layout.train_images), seed=hp.seed
    )
    train_images = layout.train_images + sum(backgrounds.values())
    LOGGER.info(
        "training %s (%s) on %d images (%d of them backgrounds), validating on %d, imgsz %d (%s), device %s, "
        "weights %s", hp.model_name, path, train_images, sum(backgrounds.values()), layout.val_images, imgsz,
        size.rule, device, weights or "none (from scratch)",
    )  # fmt: skip

    def progress(report: EpochReport, _trainer: Any) -> None:
        print(report.line(), flush=True)

    args = train_args(
        hp, data_yaml=layout.data_yaml, imgsz=imgsz, device=device, project=paths.checkpoints, name="yolo",
        weights=weights, train_images=train_images,
    )  # fmt: skip
    result = run_training(args, checkpoints_dir=paths.checkpoints, on_epoch=progress)

    _reset_dir(paths.model)
    served = finish_model(paths, hp, dataset, layout, result_best=result.best, imgsz=imgsz)
    metrics = {
        "schema": METRICS_SCHEMA,
        **served.evaluation,
        "evaluated": f"model.onnx ({served.precision}) with onnxruntime on the validation split",
        "threshold_f1": served.threshold_f1,
        "verdict_rates": served.rates,
        "verdict_rates_at_threshold_f1": served.rates_at_f1,
        "background": served.background,
        "serving": served.serving,
        "recipe": {
            "path": path,
            "image_size": size.to_json(),
            "batch": args["batch"],
            "time_limit_minutes": hp.time_limit_minutes or None,
            "training_backgrounds": backgrounds,
        },
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
        "report": served.report,
    }
    _write_json(paths.model / LABELS_FILE, served.labels)
    _write_json(paths.model / METRICS_FILE, metrics)
    names = {c.class_id: c.name for c in dataset.categories}
    _write_json(paths.model / SPLIT_FILE, split.to_json(_split_items(dataset), names))
    return {**metrics, "threshold": served.evaluation["threshold"]}


@dataclass(frozen=True)
class ServedModel:
    precision: str
    evaluation: dict[str, Any]  # the served model's, with the threshold it ships
    threshold_f1: float
    rates: dict[str, Any]
    rates_at_f1: dict[str, Any]
    background: dict[str, Any]
    serving: dict[str, Any]
    labels: dict[str, Any]
    report: list[str]


def finish_model(
    paths: MlPaths, hp: Hyperparameters, dataset: Dataset, layout: Any, *, result_best: Path, imgsz: int
) -> ServedModel:
    """Export, evaluate, make the cheaper model and choose what to serve, raise the threshold for the background
    check, measure the verdict's error rates, write model.onnx and the report."""
    from authentic.training.container.evaluate import evaluate_model  # noqa: PLC0415
    from authentic.training.container.export import add_metadata, check_onnx, export_onnx  # noqa: PLC0415
    from authentic.training.container.report import collect_plots, draw_predictions  # noqa: PLC0415

    classes = len(dataset.categories)
    fp32 = export_onnx(result_best, imgsz=imgsz, target=paths.work / "export" / "model-fp32.onnx")
    check = check_onnx(fp32, imgsz=imgsz, num_classes=classes)

    def evaluate(model: Path, tag: str) -> Any:
        return evaluate_model(model, data_yaml=layout.data_yaml, imgsz=imgsz, work_dir=paths.work / tag,
                              names=layout.names)  # fmt: skip

    fp32_eval = evaluate(fp32, "val")
    chosen, evaluation, serving = fp32, fp32_eval, _serving_fp32(fp32, fp32_eval, hp)
    if hp.quantize != "off":
        chosen, evaluation, serving = _try_smaller(hp, layout, fp32, fp32_eval, imgsz=imgsz, evaluate=evaluate)

    categories = [{"id": i, "name": c.name, "role": c.effective_role} for i, c in enumerate(dataset.categories)]
    checked = check_background(chosen, layout, categories, evaluation.threshold, hp)
    served_json = {**evaluation.to_json(), "threshold": checked["threshold"]}
    labels = labels_json(dataset.categories, imgsz=imgsz, check=check.to_json(), evaluation=served_json)
    labels["precision"] = serving["precision"]
    target = paths.model / MODEL_FILE
    shutil.copyfile(chosen, target)
    add_metadata(target, {"authentic_labels": labels})
    check_onnx(target, imgsz=imgsz, num_classes=classes)  # still loads after the edit

    report_dir = paths.model / "report"
    plots = collect_plots(report_dir, run_dir=result_best.parent.parent, val_dir=evaluation.save_dir)
    predictions = draw_predictions(
        target, sorted(layout.val_dir.iterdir()), imgsz=imgsz, threshold=checked["threshold"],
        out_dir=report_dir / "predictions",
    )  # fmt: skip
    return ServedModel(
        precision=serving["precision"],
        evaluation=served_json,
        threshold_f1=round(evaluation.threshold, 4),
        rates=checked["rates"],
        rates_at_f1=checked["rates_at_f1"],
        background=checked["background"],
        serving=serving,
        labels=labels,
        report=sorted([*plots, *(f"predictions/{name}" for name in predictions)]),
    )


def check_background(
    model: Path, layout: Any, classes: list[dict[str, Any]], threshold_f1: float, hp: Hyperparameters
) -> dict[str, Any]:
    """Score the validation photos and the background photos once; raise the threshold until the background
    rate is within `hp.max_background_rate`; the verdict rates at both thresholds."""
    from PIL import Image  # noqa: PLC0415

    from authentic.training.container import backgrounds as bg  # noqa: PLC0415
    from authentic.training.container import rates  # noqa: PLC0415

    scorer = rates.Scorer(model)
    val_photos = []
    for image_path in sorted(layout.val_dir.iterdir()):
        label = layout.root / "labels" / "val" / f"{image_path.stem}.txt"
        shown = (
            {int(line.split()[0]) for line in label.read_text().splitlines() if line.strip()}
            if label.is_file()
            else set()
        )
        with Image.open(image_path) as image:
            scores = scorer.class_scores(image.convert("RGB"))
        val_photos.append(rates.ScoredPhoto(image_path.name, scores, rates.truth_of(shown, classes)))
    background = [
        rates.ScoredPhoto(f"scene-{seed}", scorer.class_scores(bg.generate_scene(seed)), "background")
        for seed in range(bg.CHECK_SCENE_SEED, bg.CHECK_SCENE_SEED + BACKGROUND_CHECK_SCENES)
    ]
    folder = bg.photo_folder()
    folder_count = 0
    if folder is not None:
        for name, photo in bg.folder_photos(folder):
            background.append(rates.ScoredPhoto(name, scorer.class_scores(photo), "background"))
            folder_count += 1
    threshold = rates.background_threshold(background, threshold_f1, hp.max_background_rate)
    before = rates.background_rate(background, classes, threshold_f1)
    after = rates.background_rate(background, classes, threshold)
    product_photos = [p for p in val_photos if p.truth != "background"]
    LOGGER.info(
        "background check: %d photos, answered %.1f%% at the F1 threshold %.3f, %.1f%% at %.3f",
        len(background), 100 * before.rate, threshold_f1, 100 * after.rate, threshold,
    )  # fmt: skip
    return {
        "threshold": round(threshold, 4),
        "rates": rates.verdict_rates(product_photos, classes, threshold),
        "rates_at_f1": rates.verdict_rates(product_photos, classes, threshold_f1),
        "background": {
            "photos": len(background),
            "sources": {
                "generated_scenes": BACKGROUND_CHECK_SCENES,
                "photo_folder": str(folder) if folder is not None else None,
                "folder_photos": folder_count,
            },
            "max_rate": hp.max_background_rate,
            "answered": after.to_json(),
            "answered_at_threshold_f1": before.to_json(),
            "threshold_raised": threshold > threshold_f1,
            "within_max_rate": after.rate <= hp.max_background_rate,
        },
    }


def _serving_fp32(fp32: Path, evaluation: Any, hp: Hyperparameters, reason: str = "") -> dict[str, Any]:
    return {
        "precision": "fp32",
        "reason": reason or ("quantization is off (hyperparameter quantize=off)" if hp.quantize == "off" else ""),
        "fp32": {"map50": round(evaluation.map50, 4), "bytes": fp32.stat().st_size},
        "max_map50_drop": None,
    }


def _try_smaller(
    hp: Hyperparameters, layout: Any, fp32: Path, fp32_eval: Any, *, imgsz: int, evaluate: Any
) -> tuple[Path, Any, dict[str, Any]]:
    """Make the INT8 (or FP16) model, evaluate it, and keep it only when its mAP50 is within the allowed drop."""
    from authentic.training.container import quantize as q  # noqa: PLC0415
    from authentic.training.container.export import check_onnx  # noqa: PLC0415

    precision = "fp16" if hp.quantize == "fp16" else "int8"
    target = fp32.with_name(f"model-{precision}.onnx")
    try:
        if precision == "int8":
            photos = sorted((layout.root / "images" / "train").iterdir())
            made = q.quantize_int8(fp32, target, calibration=q.calibration_tensors(photos, imgsz))
        else:
            made = q.convert_fp16(fp32, target)
        check_onnx(made.path, imgsz=imgsz, num_classes=len(layout.names))
        candidate = evaluate(made.path, f"val-{precision}")
    except DomainError as exc:
        LOGGER.warning("no %s model: %s", precision, exc.message)
        return fp32, fp32_eval, _serving_fp32(fp32, fp32_eval, hp, f"no {precision} model: {exc.message}")
    choice, reason = q.choose_served(fp32_eval.map50, candidate.map50, precision)
    serving = {
        "precision": choice,
        "reason": reason,
        "fp32": {"map50": round(fp32_eval.map50, 4), "bytes": fp32.stat().st_size},
        precision: {
            "map50": round(candidate.map50, 4),
            "map50_drop": round(fp32_eval.map50 - candidate.map50, 4),
            "bytes": made.path.stat().st_size,
            "seconds": round(made.seconds, 1),
        },
        "max_map50_drop": q.MAX_MAP50_DROP,
    }
    LOGGER.info("serving %s: %s", choice, reason)
    return (made.path, candidate, serving) if choice == precision else (fp32, fp32_eval, serving)


# ---------------------------------------------------------------------------------------------------------------
# Steps


def split_dataset(dataset: Dataset, hp: Hyperparameters) -> Split:
    return split_items(_split_items(dataset), val_fraction=hp.val_fraction, seed=hp.seed)


def image_size(dataset: Dataset, hp: Hyperparameters, path: str) -> ImageSizeChoice:
    """The training image size for this data and recipe path (`recipe.choose_imgsz`)."""
    long_sides = [max(s.size.width, s.size.height) for s in dataset.samples]
    ratios = [min(b.width, b.height) / max(s.size.width, s.size.height) for s in dataset.samples for b in s.boxes]
    return choose_imgsz(hp.imgsz, path=path, long_sides=long_sides, box_ratios=ratios)


def auto_imgsz(dataset: Dataset, path: str = CPU_SCRATCH) -> int:
    """The automatic image size for `dataset` on the `path` recipe."""
    return image_size(dataset, Hyperparameters(), path).imgsz


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
