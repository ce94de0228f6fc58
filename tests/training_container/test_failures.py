"""Every bad input ends the job with a short reason in /opt/ml/output/failure and a non-zero exit code.

None of these gets as far as training: the checks run first, so each test takes well under a second.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from authentic.training.container.channel import manifest_file
from authentic.training.container.program import main
from authentic.training.manifest import Manifest
from tests.support.training import TINY_HYPERPARAMETERS, make_ml_root


def run_failing(ml_root: Path) -> str:
    code = main([], ml_root=ml_root)
    assert code != 0
    failure = ml_root / "output" / "failure"
    assert failure.is_file()
    assert not (ml_root / "model" / "model.onnx").exists()
    return failure.read_text().strip()


@pytest.fixture
def ml_root(tmp_path: Path) -> Path:
    return make_ml_root(tmp_path / "ml", {**TINY_HYPERPARAMETERS, "min_images_per_class": "3"})


def channel(ml_root: Path) -> Path:
    return ml_root / "input" / "data" / "training"


def rewrite_annotations(ml_root: Path, change: object) -> None:
    manifest = Manifest.load(manifest_file(channel(ml_root)))
    for index, item in enumerate(manifest.items):
        path = channel(ml_root) / item.annotation
        doc = json.loads(path.read_text())
        doc["annotations"] = change(index, doc)  # type: ignore[operator]
        path.write_text(json.dumps(doc))


def test_empty_channel(ml_root: Path) -> None:
    shutil.rmtree(channel(ml_root))
    channel(ml_root).mkdir()
    assert run_failing(ml_root).startswith("the training channel is empty")


def test_missing_channel(ml_root: Path) -> None:
    shutil.rmtree(channel(ml_root))
    assert run_failing(ml_root).startswith("the training channel is empty")


def test_manifest_without_items(ml_root: Path) -> None:
    manifest = Manifest.load(manifest_file(channel(ml_root)))
    Manifest(manifest.brand_id, manifest.manifest_id, manifest.categories, ()).dump(manifest_file(channel(ml_root)))
    assert run_failing(ml_root) == "the dataset is empty: the manifest lists no images"


def test_class_with_too_few_images(ml_root: Path) -> None:
    (ml_root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({**TINY_HYPERPARAMETERS, "min_images_per_class": "10"})
    )

    def keep_counterfeit_in_three(index: int, doc: dict[str, Any]) -> list[Any]:
        boxes: list[Any] = doc["annotations"]
        if index < 3:
            return boxes
        return [{**b, "class_id": 0} for b in boxes]

    rewrite_annotations(ml_root, keep_counterfeit_in_three)
    counterfeit_images = 0
    manifest = Manifest.load(manifest_file(channel(ml_root)))
    for item in manifest.items:
        boxes = json.loads((channel(ml_root) / item.annotation).read_text())["annotations"]
        counterfeit_images += any(b["class_id"] == 1 for b in boxes)
    assert counterfeit_images < 10
    reason = run_failing(ml_root)
    assert f"class 'counterfeit' has {counterfeit_images} images, at least 10 are needed" in reason


def test_unreadable_image(ml_root: Path) -> None:
    item = Manifest.load(manifest_file(channel(ml_root))).items[4]
    (channel(ml_root) / item.image).write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    reason = run_failing(ml_root)
    assert reason.startswith(f"image {item.image} cannot be read")


def test_truncated_image(ml_root: Path) -> None:
    item = Manifest.load(manifest_file(channel(ml_root))).items[2]
    path = channel(ml_root) / item.image
    path.write_bytes(path.read_bytes()[:300])
    assert run_failing(ml_root).startswith(f"image {item.image} cannot be read")


def test_annotation_referring_to_a_missing_image(ml_root: Path) -> None:
    item = Manifest.load(manifest_file(channel(ml_root))).items[1]
    (channel(ml_root) / item.image).unlink()
    reason = run_failing(ml_root)
    assert reason == f"annotation {item.annotation} refers to image {item.image}, which is not in the training channel"


def test_all_boxes_of_a_class_rejected(ml_root: Path) -> None:
    def push_counterfeits_out(_index: int, doc: dict[str, Any]) -> list[Any]:
        width = doc["image_size"][0]["width"]
        return [{**b, "left": width + 50} if b["class_id"] == 1 else b for b in doc["annotations"]]

    rewrite_annotations(ml_root, push_counterfeits_out)
    reason = run_failing(ml_root)
    assert reason.startswith("all ")
    assert "boxes of class 'counterfeit' were rejected" in reason
    assert "lies outside" in reason


def test_manifest_path_escaping_the_channel(ml_root: Path) -> None:
    path = manifest_file(channel(ml_root))
    data = json.loads(path.read_text())
    data["items"][0]["image"] = "../../../../etc/passwd"
    path.write_text(json.dumps(data))
    assert "is not inside the channel" in run_failing(ml_root)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"epoch": "3"}, "unknown hyperparameter 'epoch'"),
        ({"epochs": "ten"}, "hyperparameter epochs='ten': expected an integer"),
        ({"val_fraction": "0.9"}, "hyperparameter val_fraction='0.9': must be between 0.0 and 0.5"),
        ({"model": "yolo11n.pt"}, "hyperparameter model='yolo11n.pt': expected a YOLO detection model YAML"),
        ({"weights": "/nowhere/yolo11n.pt"}, "weights file /nowhere/yolo11n.pt does not exist"),
    ],
)
def test_bad_hyperparameters(ml_root: Path, params: dict[str, str], expected: str) -> None:
    (ml_root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(params))
    assert expected in run_failing(ml_root)


def test_hyperparameters_file_that_is_not_json(ml_root: Path) -> None:
    (ml_root / "input" / "config" / "hyperparameters.json").write_text("{epochs: 3")
    assert run_failing(ml_root).startswith("hyperparameters.json is not valid JSON")


def test_job_without_a_training_channel(ml_root: Path) -> None:
    (ml_root / "input" / "config" / "inputdataconfig.json").write_text(json.dumps({"train": {}}))
    assert run_failing(ml_root) == "the job has no 'training' input channel (channels: train)"


def test_pipe_mode_is_refused(ml_root: Path) -> None:
    (ml_root / "input" / "config" / "inputdataconfig.json").write_text(
        json.dumps({"training": {"TrainingInputMode": "Pipe"}})
    )
    assert "uses input mode Pipe" in run_failing(ml_root)


def test_a_channel_without_exactly_one_manifest(ml_root: Path) -> None:
    path = manifest_file(channel(ml_root))
    shutil.copy(path, path.with_name("another.json"))
    assert run_failing(ml_root).startswith("the training channel has no usable manifest: 2 files under manifests/")
    path.unlink()
    path.with_name("another.json").unlink()
    assert run_failing(ml_root) == (
        "the training channel has no usable manifest: nothing under manifests/, "
        "where a job's channel holds exactly one manifest"
    )


def test_a_failure_reason_is_short(ml_root: Path) -> None:
    for item in Manifest.load(manifest_file(channel(ml_root))).items:
        (channel(ml_root) / item.image).unlink(missing_ok=True)  # pairs of one photo share its object
    reason = run_failing(ml_root)
    assert len(reason) <= 1000
    assert reason.endswith("more")
