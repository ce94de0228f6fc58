"""The artifact's `report/` folder: training curves, the PR curve, the confusion matrix, and validation
photos with the exported model's predicted boxes at the chosen threshold."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)
MAX_PREDICTION_IMAGES = 12

# (where ultralytics writes it, the name in report/)
TRAINING_FILES = (
    ("results.png", "training_curves.png"),
    ("results.csv", "training_results.csv"),
    ("labels.jpg", "label_distribution.jpg"),
)
VALIDATION_FILES = (
    ("BoxPR_curve.png", "pr_curve.png"),
    ("BoxF1_curve.png", "f1_curve.png"),
    ("BoxP_curve.png", "precision_curve.png"),
    ("BoxR_curve.png", "recall_curve.png"),
    ("confusion_matrix.png", "confusion_matrix.png"),
    ("confusion_matrix_normalized.png", "confusion_matrix_normalized.png"),
)


def collect_plots(report_dir: Path, *, run_dir: Path, val_dir: Path | None) -> list[str]:
    """Copy the training and validation plots that exist into `report_dir`; returns the names copied."""
    report_dir.mkdir(parents=True, exist_ok=True)
    copied: list[str] = []
    for source_dir, files in ((run_dir, TRAINING_FILES), (val_dir, VALIDATION_FILES)):
        if source_dir is None:
            continue
        for source, name in files:
            path = source_dir / source
            if path.is_file():
                shutil.copyfile(path, report_dir / name)
                copied.append(name)
            else:
                LOGGER.info("no %s to put in the report", path)
    return copied


def draw_predictions(
    model_path: Path, images: Sequence[Path], *, imgsz: int, threshold: float, out_dir: Path
) -> list[str]:
    """Run the exported model on up to `MAX_PREDICTION_IMAGES` validation photos and save them with boxes."""
    from PIL import Image  # noqa: PLC0415
    from ultralytics.models.yolo.model import YOLO  # noqa: PLC0415

    chosen = sorted(images)[:MAX_PREDICTION_IMAGES]
    if not chosen:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    model = YOLO(str(model_path), task="detect")
    written: list[str] = []
    for path in chosen:
        results: Any = model.predict(
            source=str(path), imgsz=imgsz, conf=threshold, device="cpu", verbose=False, save=False
        )
        result = results[0]
        plotted = result.plot()  # BGR
        name = f"{path.stem}.jpg"
        Image.fromarray(plotted[..., ::-1]).save(out_dir / name, quality=90)
        written.append(name)
    return written
