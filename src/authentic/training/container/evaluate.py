"""Evaluation of the exported model on the validation split, and the confidence threshold the verdict uses.

The numbers in `metrics.json` describe the artifact that ships: the ONNX file run by onnxruntime (through
ultralytics' validator, so the mAP definitions are the standard ones), not the PyTorch checkpoint.

Threshold: the confidence at which F1, averaged over classes and lightly smoothed, is highest (ultralytics'
own choice for its reported precision and recall); per class, the confidence at which that class's F1 peaks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from authentic.contracts import DEFAULT_CONFIDENCE

LOGGER = logging.getLogger(__name__)
DEFAULT_THRESHOLD = DEFAULT_CONFIDENCE  # when the model finds nothing, F1 has no peak
MIN_THRESHOLD = 0.01
F1_TOLERANCE = 0.01  # the validation F1 the threshold may give up for a margin (see `plateau_start`)
VAL_CONF = 0.001
VAL_IOU = 0.7


@dataclass(frozen=True)
class ClassMetrics:
    map50: float
    map50_95: float
    precision: float
    recall: float
    f1: float
    threshold: float
    images: int  # validation images showing the class
    boxes: int  # validation boxes of the class

    def to_json(self) -> dict[str, float | int]:
        return {
            "map50": _r(self.map50),
            "map50_95": _r(self.map50_95),
            "precision": _r(self.precision),
            "recall": _r(self.recall),
            "f1": _r(self.f1),
            "threshold": _r(self.threshold),
            "images": self.images,
            "boxes": self.boxes,
        }


@dataclass(frozen=True)
class Evaluation:
    map50: float
    map50_95: float
    precision: float
    recall: float
    threshold: float
    per_class: dict[str, ClassMetrics]
    save_dir: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "map50": _r(self.map50),
            "map50_95": _r(self.map50_95),
            "precision": _r(self.precision),
            "recall": _r(self.recall),
            "threshold": _r(self.threshold),
            "per_class": {name: m.to_json() for name, m in self.per_class.items()},
        }


def evaluate_model(
    model_path: Path, *, data_yaml: Path, imgsz: int, work_dir: Path, names: Sequence[str]
) -> Evaluation:
    """Validate `model_path` (ONNX or .pt) on the layout's validation split; plots go to `work_dir/val`."""
    from ultralytics.models.yolo.model import YOLO  # noqa: PLC0415

    model = YOLO(str(model_path), task="detect")
    metrics = model.val(
        data=str(data_yaml),
        imgsz=imgsz,
        batch=1,
        conf=VAL_CONF,
        iou=VAL_IOU,
        device="cpu",
        plots=True,
        project=str(work_dir),
        name="val",
        exist_ok=True,
        verbose=False,
        split="val",
    )
    return summarize(metrics.box, names, metrics.nt_per_class, metrics.nt_per_image, save_dir=Path(metrics.save_dir))


def summarize(
    box: Any,
    names: Sequence[str],
    boxes_per_class: Any,
    images_per_class: Any,
    *,
    save_dir: Path | None = None,
) -> Evaluation:
    """Turn ultralytics' `Metric` (`box`: p, r, f1 at the mean-F1 peak, all_ap, ap_class_index, f1_curve, px)
    into the project's numbers. Classes without validation boxes get zeros."""
    from ultralytics.utils.metrics import smooth  # noqa: PLC0415

    index = [int(i) for i in np.asarray(box.ap_class_index).ravel()]
    all_ap = np.asarray(box.all_ap, dtype=float).reshape(len(index), -1) if index else np.zeros((0, 10))
    f1_curve = np.asarray(box.f1_curve, dtype=float)
    px = np.asarray(box.px, dtype=float)
    threshold = DEFAULT_THRESHOLD
    if index and f1_curve.size and float(f1_curve.max()) > 0:
        threshold = max(MIN_THRESHOLD, plateau_start(px, smooth(f1_curve.mean(0), 0.1)))
    nt_boxes = np.asarray(boxes_per_class if boxes_per_class is not None else np.zeros(len(names)), dtype=int)
    nt_images = np.asarray(images_per_class if images_per_class is not None else np.zeros(len(names)), dtype=int)
    per_class: dict[str, ClassMetrics] = {}
    for class_index, name in enumerate(names):
        images = int(nt_images[class_index]) if class_index < nt_images.size else 0
        boxes = int(nt_boxes[class_index]) if class_index < nt_boxes.size else 0
        if class_index not in index:
            per_class[name] = ClassMetrics(0.0, 0.0, 0.0, 0.0, 0.0, threshold, images, boxes)
            continue
        row = index.index(class_index)
        curve = f1_curve[row] if f1_curve.ndim == 2 and row < f1_curve.shape[0] else np.zeros(1)
        class_threshold = max(MIN_THRESHOLD, plateau_start(px, curve)) if float(curve.max()) > 0 else threshold
        per_class[name] = ClassMetrics(
            map50=float(all_ap[row, 0]),
            map50_95=float(all_ap[row].mean()),
            precision=float(np.asarray(box.p)[row]),
            recall=float(np.asarray(box.r)[row]),
            f1=float(np.asarray(box.f1)[row]),
            threshold=class_threshold,
            images=images,
            boxes=boxes,
        )
    evaluated = [per_class[names[i]] for i in index if 0 <= i < len(names)]  # classes with validation boxes
    return Evaluation(
        map50=_mean([m.map50 for m in evaluated]),
        map50_95=_mean([m.map50_95 for m in evaluated]),
        precision=_mean([m.precision for m in evaluated]),
        recall=_mean([m.recall for m in evaluated]),
        threshold=threshold,
        per_class=per_class,
        save_dir=save_dir,
    )


def plateau_start(confidences: Any, f1: Any) -> float:
    """The lowest confidence whose F1 is within `F1_TOLERANCE` of the best.

    On a small validation split the F1 curve is a wide plateau and its argmax can land anywhere on it (0.59 in
    one demo training, 0.74 in the next, for the same data); shoppers' photos score lower than validation
    photos, so a threshold high on the plateau turns real products into "nothing recognised". The start of the
    plateau gives up at most `F1_TOLERANCE` of validation F1 for that margin.
    """
    curve = np.asarray(f1, dtype=float)
    good = np.flatnonzero(curve >= float(curve.max()) - F1_TOLERANCE)
    return float(np.asarray(confidences, dtype=float)[int(good[0])])


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def _r(value: float) -> float:
    return round(float(value), 4)
