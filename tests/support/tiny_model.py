"""Fixtures for the inference container's tests: a tiny real detector, trained here from scratch and exported
to ONNX the way the training container does, plus photos drawn to match what it learned.

The model learns two shapes on a dark background: red rectangles (class 0, "genuine") and blue ellipses
(class 1, "counterfeit"). About 60 s on two cores; the result is cached in pytest's cache directory keyed by
the recipe and the ultralytics version, so repeated local runs skip the training.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from PIL import Image

from tests.support.scenes import IMGSZ, Shape, draw_scene, prepare_ultralytics, random_scene

RECIPE = "v2-rect-ellipse-128-n48-e60-sgd"
THRESHOLD = 0.3


def _write_dataset(root: Path) -> Path:
    rng = random.Random(0)
    for split, count in (("train", 48), ("val", 8)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for index in range(count):
            image, shapes = random_scene(rng)
            image.save(root / "images" / split / f"{index}.png")
            lines = [
                f"{s.class_id} {(s.left + s.width / 2) / IMGSZ} {(s.top + s.height / 2) / IMGSZ} "
                f"{s.width / IMGSZ} {s.height / IMGSZ}"
                for s in shapes
            ]
            (root / "labels" / split / f"{index}.txt").write_text("\n".join(lines))
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: genuine\n  1: counterfeit\n")
    return data


def _train(work: Path, target: Path) -> None:
    prepare_ultralytics(work / "yolo-config")
    from ultralytics.models.yolo.model import YOLO

    data = _write_dataset(work / "dataset")
    model = YOLO("yolo11n.yaml")
    model.train(
        data=str(data),
        epochs=60,
        imgsz=IMGSZ,
        batch=8,
        lr0=0.01,
        optimizer="SGD",
        warmup_epochs=0,
        mosaic=0.0,
        workers=0,
        device="cpu",
        seed=0,
        deterministic=True,
        amp=False,
        val=False,
        plots=False,
        verbose=False,
        project=str(work / "runs"),
        name="tiny",
        exist_ok=True,
    )
    weights = work / "runs" / "tiny" / "weights" / "last.pt"
    exported = Path(YOLO(str(weights)).export(format="onnx", imgsz=IMGSZ, dynamic=False, simplify=False))
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(exported, target / "model.onnx")
    shutil.copyfile(weights, target / "weights.pt")
    classes = [
        {"id": 0, "name": "genuine", "role": "genuine"},
        {"id": 1, "name": "counterfeit", "role": "counterfeit"},
    ]
    (target / "labels.json").write_text(json.dumps({"classes": classes, "imgsz": IMGSZ}))
    (target / "metrics.json").write_text(json.dumps({"threshold": THRESHOLD, "map50": 0.5}))


@pytest.fixture(scope="session")
def inference_model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory as SageMaker unpacks the artifact: model.onnx, labels.json, metrics.json (and the
    PyTorch weights, for comparisons)."""
    cache = getattr(request.config, "cache", None)  # absent under `-p no:cacheprovider`
    key = f"authentic-inference-{RECIPE}-ultralytics-{version('ultralytics')}"
    cached = Path(cache.mkdir(key)) / "model" if cache is not None else tmp_path_factory.mktemp("uncached") / "model"
    if not (cached / "model.onnx").is_file():
        work = tmp_path_factory.mktemp("tiny-train")
        _train(work, work / "model")
        if cached.exists():
            shutil.rmtree(cached)
        shutil.copytree(work / "model", cached)
    model_dir = tmp_path_factory.mktemp("model") / "model"
    shutil.copytree(cached, model_dir)
    return model_dir


@pytest.fixture(scope="session")
def scene() -> tuple[Image.Image, list[Shape]]:
    """A 256x192 photo-like scene with one object of each class, well inside the frame."""
    shapes = [Shape(0, 28, 40, 70, 56), Shape(1, 150, 90, 72, 64)]
    return draw_scene(256, 192, shapes), shapes


@pytest.fixture
def model_copies(inference_model_dir: Path, tmp_path: Path) -> Iterator[list[Path]]:
    """Five directories holding the same model, as five brands' models would sit on an instance."""
    copies = []
    for index in range(5):
        target = tmp_path / f"brand-{index}"
        target.mkdir()
        for member in inference_model_dir.iterdir():
            (target / member.name).hardlink_to(member)
        copies.append(target)
    yield copies
