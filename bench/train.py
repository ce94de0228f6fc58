"""Training: the project's recipe against ultralytics' defaults, then a real-photo run on the playing cards.

1. The generator's standard set: 100 training and 30 validation photos at 320 px (seeds fixed), converted by the
   program's own code (channel -> YOLO layout). Same model YAML, data, image size and hardware for both:
   - project: the program's default hyperparameters (`Hyperparameters()`, image size auto = 320), run to its
     natural end (epochs / patience);
   - ultralytics: its defaults (`epochs=100`, `optimizer=auto`, nominal batch 64, ...), stopped once it first
     reaches validation mAP50 >= 0.9, or after `BASELINE_MAX_EPOCHS` epochs.
   Reported for each: the epoch and the seconds (from the start of the run, setup included) at which validation
   mAP50 first reached 0.9, and the final mAP50 (the best checkpoint re-validated on the 30 photos).
2. ../shared/data/playing-cards: train split for training, test split for evaluation, project defaults with a
   13-minute training limit and image size 320 (a 2-core CPU budget: at the auto size of 512 only a handful
   of epochs would fit), so the whole run stays within 15 minutes; reports mAP50 on the test split.

Last line, one JSON object: `time_to_map50_0_9_ratio` (ultralytics seconds / project seconds; target >= 1.5;
a lower bound when ultralytics never got there), `project_final_map50` (target >= 0.95), `playing_cards_map50`.
Run: `python -m bench.train` (or `make bench`). Writes under bench/out/train/ (ignored by git).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from authentic.annotations.model import Annotation, Box, Category
from authentic.cli.synthetic import write_training_channel
from authentic.media.geometry import ImageSize
from authentic.training.container.channel import Dataset, read_channel, write_channel
from authentic.training.container.convert import YoloLayout, write_yolo_layout
from authentic.training.container.engine import EpochReport, prepare_ultralytics, run_training
from authentic.training.container.evaluate import evaluate_model
from authentic.training.container.program import auto_imgsz, resolve_device
from authentic.training.container.recipe import train_args, ultralytics_default_args
from authentic.training.container.split import Split
from authentic.training.hyperparameters import Hyperparameters

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "train"
CARDS = REPO.parent / "shared" / "data" / "playing-cards"
TRAIN_IMAGES, VAL_IMAGES, IMAGE_SIZE = 100, 30, 320
TARGET_MAP50 = 0.9
BASELINE_MAX_EPOCHS = 60
CARDS_MINUTES = 13.0
CARDS_IMGSZ = 320


@dataclass
class Curve:
    """Validation mAP50 after each epoch, and when it first reached the target."""

    name: str
    points: list[tuple[int, float, float]]  # (epoch, seconds since start, mAP50)
    stop_at_target: bool

    def first_at_target(self) -> tuple[int, float] | None:
        for epoch, seconds, map50 in self.points:
            if map50 >= TARGET_MAP50:
                return epoch, seconds
        return None


def main() -> int:
    prepare_ultralytics()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    device = resolve_device("auto")
    hp = Hyperparameters()
    started = time.perf_counter()

    print(f"standard set: {TRAIN_IMAGES} training + {VAL_IMAGES} validation photos at {IMAGE_SIZE} px; device {device}")
    dataset = _standard_dataset(OUT / "standard-channel")
    imgsz = auto_imgsz(dataset)
    split = Split(
        tuple(sorted(s.pair_id for s in dataset.samples[:TRAIN_IMAGES])),
        tuple(sorted(s.pair_id for s in dataset.samples[TRAIN_IMAGES:])),
        seed=0,
        val_fraction=VAL_IMAGES / (TRAIN_IMAGES + VAL_IMAGES),
    )
    layout = _layout(dataset, split, OUT / "standard-yolo")
    project_args = train_args(
        hp,
        data_yaml=layout.data_yaml,
        imgsz=imgsz,
        device=device,
        project=OUT,
        name="project",
        weights=None,
        train_images=layout.train_images,
    )
    project = _run("project", project_args, layout, imgsz=imgsz, stop_at_target=False, max_epochs=hp.epochs)
    baseline_args = ultralytics_default_args(
        model_yaml=hp.model_yaml, data_yaml=layout.data_yaml, imgsz=imgsz, device=device, project=OUT, name="ultra"
    )
    baseline = _run(
        "ultralytics", baseline_args, layout, imgsz=imgsz, stop_at_target=True, max_epochs=BASELINE_MAX_EPOCHS
    )

    print(f"playing cards: {CARDS} (train split to train, test split to evaluate), {CARDS_MINUTES:g} min limit")
    cards = _playing_cards(device)

    project_hit, baseline_hit = project["first_at_target"], baseline["first_at_target"]
    lower_bound = baseline_hit is None
    ratio = None
    if project_hit is not None:
        baseline_seconds = baseline_hit[1] if baseline_hit is not None else baseline["seconds_total"]
        ratio = round(baseline_seconds / project_hit[1], 2)
    for name, run in (("project", project), ("ultralytics defaults", baseline)):
        hit = run["first_at_target"]
        reached = f"epoch {hit[0]}, {hit[1]:.0f} s" if hit else f"not within {run['epochs_run']} epochs"
        print(f"{name:>22}: mAP50 >= {TARGET_MAP50} at {reached}; final mAP50 {run['final_map50']:.4f}")
    print(f"{'playing cards':>22}: mAP50 {cards['map50']:.4f} on the test split after {cards['epochs_run']} epochs")
    summary = {
        "benchmark": "train",
        "device": device,
        "imgsz": imgsz,
        "model": hp.model_name,
        "project": _public(project),
        "ultralytics_defaults": _public(baseline),
        "time_to_map50_0_9_ratio": ratio,
        "ratio_is_lower_bound": lower_bound,
        "project_final_map50": project["final_map50"],
        "playing_cards_map50": cards["map50"],
        "playing_cards": cards,
        "seconds": round(time.perf_counter() - started, 1),
        "targets": {"time_to_map50_0_9_ratio": ">= 1.5", "project_final_map50": ">= 0.95"},
    }
    print(json.dumps(summary), flush=True)
    return 0


def _standard_dataset(channel: Path) -> Dataset:
    """130 photos from one seed: the first 100 (by position) train, the last 30 validate."""
    write_training_channel(
        channel, n_images=TRAIN_IMAGES + VAL_IMAGES, seed=2026, image_size=IMAGE_SIZE, brand_id="bench"
    )
    dataset = read_channel(channel, min_images_per_class=1)
    order = {item.pair_id: index for index, item in enumerate(dataset.manifest.items)}
    samples = tuple(sorted(dataset.samples, key=lambda s: order[s.pair_id]))
    return Dataset(dataset.manifest, dataset.categories, samples, dataset.rejected)


def _layout(dataset: Dataset, split: Split, root: Path) -> YoloLayout:
    return write_yolo_layout(dataset, split, root)


def _run(
    name: str, args: dict[str, Any], layout: YoloLayout, *, imgsz: int, stop_at_target: bool, max_epochs: int
) -> dict[str, Any]:
    curve = Curve(name, [], stop_at_target)

    def on_epoch(report: EpochReport, trainer: Any) -> None:
        curve.points.append((report.epoch, report.seconds, report.map50))
        print(f"  {name}: epoch {report.epoch:3d}  {report.seconds:7.1f} s  mAP50 {report.map50:.4f}", flush=True)
        if (stop_at_target and report.map50 >= TARGET_MAP50) or report.epoch >= max_epochs:
            trainer.stop = True

    result = run_training(args, checkpoints_dir=OUT / f"{name}-run", on_epoch=on_epoch, resume=False)
    final = evaluate_model(
        result.best, data_yaml=layout.data_yaml, imgsz=imgsz, work_dir=OUT / f"{name}-eval", names=layout.names
    )
    return {
        "first_at_target": curve.first_at_target(),
        "epochs_run": result.epochs_run,
        "seconds_total": round(result.seconds, 1),
        "final_map50": round(final.map50, 4),
        "final_map50_95": round(final.map50_95, 4),
        "curve": [[e, round(s, 1), round(m, 4)] for e, s, m in curve.points],
    }


def _public(run: dict[str, Any]) -> dict[str, Any]:
    hit = run["first_at_target"]
    return {
        "epochs_to_map50_0_9": hit[0] if hit else None,
        "seconds_to_map50_0_9": round(hit[1], 1) if hit else None,
        "final_map50": run["final_map50"],
        "final_map50_95": run["final_map50_95"],
        "epochs_run": run["epochs_run"],
        "seconds_total": run["seconds_total"],
        "curve": run["curve"],
    }


def _cards_entries(split: str, categories: list[Category]) -> Iterator[tuple[str, bytes, Annotation]]:
    for image_path in sorted((CARDS / "images" / split).iterdir()):
        label = CARDS / "labels" / split / f"{image_path.stem}.txt"
        with Image.open(image_path) as image:
            width, height = image.size
            if image.getexif().get(0x0112, 1) in {5, 6, 7, 8}:
                width, height = height, width
        boxes: list[Box] = []
        for line in label.read_text().splitlines() if label.is_file() else []:
            if line.strip():
                cls, cx, cy, w, h = line.split()
                bw, bh = float(w) * width, float(h) * height
                boxes.append(Box(int(cls), float(cx) * width - bw / 2, float(cy) * height - bh / 2, bw, bh))
        pair_id = f"{split}-{image_path.stem}".lower().replace(" ", "_")
        yield (
            pair_id,
            image_path.read_bytes(),
            Annotation(image_path.name, ImageSize(width, height), tuple(boxes), tuple(categories)),
        )


def _playing_cards(device: str) -> dict[str, Any]:
    names = [n.strip() for n in (CARDS / "classes.txt").read_text().splitlines() if n.strip()]
    categories = [Category(i, name) for i, name in enumerate(names)]
    channel = OUT / "cards-channel"
    entries = [*_cards_entries("train", categories), *_cards_entries("test", categories)]
    write_channel(channel, entries, brand_id="cards", categories=categories, extension="jpg")
    dataset = read_channel(channel, min_images_per_class=1)
    train = tuple(sorted(s.pair_id for s in dataset.samples if s.pair_id.startswith("train-")))
    test = tuple(sorted(s.pair_id for s in dataset.samples if s.pair_id.startswith("test-")))
    layout = _layout(dataset, Split(train, test, 0, len(test) / (len(train) + len(test))), OUT / "cards-yolo")
    hp = Hyperparameters(imgsz=CARDS_IMGSZ, time_limit_minutes=CARDS_MINUTES)
    args = train_args(
        hp,
        data_yaml=layout.data_yaml,
        imgsz=CARDS_IMGSZ,
        device=device,
        project=OUT,
        name="cards",
        weights=None,
        train_images=layout.train_images,
    )

    def on_epoch(report: Any, _trainer: Any) -> None:
        print(f"  cards: epoch {report.epoch:3d}  {report.seconds:7.1f} s  mAP50 {report.map50:.4f}", flush=True)

    started = time.perf_counter()
    result = run_training(args, checkpoints_dir=OUT / "cards-run", on_epoch=on_epoch, resume=False)
    final = evaluate_model(
        result.best, data_yaml=layout.data_yaml, imgsz=CARDS_IMGSZ, work_dir=OUT / "cards-eval", names=layout.names
    )
    return {
        "map50": round(final.map50, 4),
        "map50_95": round(final.map50_95, 4),
        "per_class_map50": {name: round(m.map50, 4) for name, m in final.per_class.items()},
        "train_images": len(train),
        "test_images": len(test),
        "epochs_run": result.epochs_run,
        "seconds": round(time.perf_counter() - started, 1),
        "imgsz": CARDS_IMGSZ,
    }


if __name__ == "__main__":
    sys.exit(main())
