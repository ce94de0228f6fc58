"""The training program end to end, over a temporary /opt/ml: one tiny real run shared by these tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from authentic.training.container.channel import manifest_file
from authentic.training.container.engine import DONE_MARKER
from authentic.training.container.export import expected_anchors, read_metadata
from authentic.training.container.split import SplitItem, split_items
from authentic.training.manifest import Manifest
from authentic.training.progress import METRIC_DEFINITIONS, PROGRESS_PREFIX
from tests.support.training import TINY_DUPLICATES, TINY_IMAGES, TINY_IMGSZ, TrainingRun

pytestmark = pytest.mark.slow


def test_no_socket_is_opened_during_training_export_and_evaluation(tiny_training_run: TrainingRun) -> None:
    assert tiny_training_run.exit_code == 0
    assert tiny_training_run.network_attempts == ()


def test_artifact_layout(tiny_model_dir: Path) -> None:
    for name in ("model.onnx", "labels.json", "metrics.json", "split.json"):
        assert (tiny_model_dir / name).is_file(), name
    report = tiny_model_dir / "report"
    for name in ("training_curves.png", "pr_curve.png", "confusion_matrix.png", "training_results.csv"):
        assert (report / name).is_file(), name
    predictions = list((report / "predictions").glob("*.jpg"))
    assert predictions, "validation images with predicted boxes"
    assert not (tiny_model_dir.parent / "output" / "failure").exists()


def test_model_onnx_runs_in_onnxruntime_with_the_expected_shapes(tiny_model_dir: Path) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(tiny_model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "images"
    assert inp.shape == [1, 3, TINY_IMGSZ, TINY_IMGSZ]
    batch = np.random.default_rng(0).random((1, 3, TINY_IMGSZ, TINY_IMGSZ), dtype=np.float32)
    (output,) = session.run(None, {"images": batch})
    assert output.shape == (1, 4 + 2, expected_anchors(TINY_IMGSZ))
    assert np.isfinite(output).all()
    assert output[0, 4:].min() >= 0.0 and output[0, 4:].max() <= 1.0


def test_onnx_metadata_carries_class_names_image_size_and_roles(tiny_model_dir: Path) -> None:
    metadata = read_metadata(tiny_model_dir / "model.onnx")
    assert metadata["imgsz"] == f"[{TINY_IMGSZ}, {TINY_IMGSZ}]"
    assert "genuine" in metadata["names"] and "counterfeit" in metadata["names"]
    labels = json.loads(metadata["authentic_labels"])
    assert [(c["name"], c["role"]) for c in labels["classes"]] == [
        ("genuine", "genuine"),
        ("counterfeit", "counterfeit"),
    ]


def test_labels_json_schema(tiny_model_dir: Path) -> None:
    labels = json.loads((tiny_model_dir / "labels.json").read_text())
    assert labels["schema"] == 1
    assert labels["imgsz"] == TINY_IMGSZ
    assert labels["input"] == "images"
    assert labels["input_shape"] == [1, 3, TINY_IMGSZ, TINY_IMGSZ]
    assert labels["output_shape"] == [1, 6, expected_anchors(TINY_IMGSZ)]
    assert [c["id"] for c in labels["classes"]] == [0, 1]
    assert {c["role"] for c in labels["classes"]} == {"genuine", "counterfeit"}
    for cls in labels["classes"]:
        assert set(cls) >= {"id", "class_id", "name", "role", "threshold"}
        assert 0.0 < cls["threshold"] <= 1.0
    assert 0.0 < labels["threshold"] <= 1.0
    assert labels["preprocess"]["resize"] == "letterbox"


def test_metrics_json_schema(tiny_model_dir: Path) -> None:
    import ultralytics

    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    for key in ("map50", "map50_95", "precision", "recall", "threshold"):
        assert isinstance(metrics[key], float) and 0.0 <= metrics[key] <= 1.0, key
    assert set(metrics["per_class"]) == {"genuine", "counterfeit"}
    for name, row in metrics["per_class"].items():
        assert set(row) >= {"map50", "map50_95", "precision", "recall", "images", "boxes"}, name
        assert row["images"] >= 1 and row["boxes"] >= row["images"]
    dataset = metrics["dataset"]
    assert dataset["images"] == TINY_IMAGES + TINY_DUPLICATES
    assert dataset["train_images"] + dataset["val_images"] == dataset["images"]
    assert dataset["duplicate_images"] == TINY_DUPLICATES
    for row in dataset["per_class"].values():
        assert row["train_images"] >= 1 and row["val_images"] >= 1
    assert metrics["engine"] == {**metrics["engine"], "name": "ultralytics", "version": ultralytics.__version__}
    assert metrics["training_seconds"] > 0
    assert metrics["epochs_run"] == 1
    assert metrics["imgsz"] == TINY_IMGSZ
    assert metrics["model"] == "yolo11n"
    assert metrics["pretrained"] is None
    assert metrics["brand_id"] == "acme"
    assert metrics["manifest_key"] == "acme/manifests/tiny.json"


def test_split_is_recorded_deterministic_and_keeps_duplicates_together(tiny_training_run: TrainingRun) -> None:
    record = json.loads((tiny_training_run.model_dir / "split.json").read_text())
    metrics = json.loads((tiny_training_run.model_dir / "metrics.json").read_text())
    assert record["digest"] == metrics["split_digest"]
    assert record["seed"] == 7

    channel = tiny_training_run.ml_root / "input" / "data" / "training"
    manifest = Manifest.load(manifest_file(channel))
    val = set(record["val"])
    assert val.isdisjoint(record["train"])
    assert val | set(record["train"]) == {item.pair_id for item in manifest.items}
    by_hash: dict[str, set[bool]] = {}
    for item in manifest.items:
        by_hash.setdefault(item.sha256, set()).add(item.pair_id in val)
    assert all(len(sides) == 1 for sides in by_hash.values()), "a duplicate image sits on both sides"

    items = []
    for item in manifest.items:
        boxes = json.loads((channel / item.annotation).read_text())["annotations"]
        items.append(SplitItem(item.pair_id, item.sha256, frozenset(b["class_id"] for b in boxes)))
    again = split_items(list(reversed(items)), val_fraction=0.2, seed=7)
    assert again.digest == record["digest"]


def test_progress_lines_have_one_stable_format_that_the_metric_definitions_parse(
    tiny_training_run: TrainingRun,
) -> None:
    lines = [line for line in tiny_training_run.stdout.splitlines() if line.startswith(PROGRESS_PREFIX)]
    assert len(lines) == 1  # one epoch
    pattern = re.compile(
        r"^\[authentic\] epoch=\d+/\d+ box_loss=\S+ cls_loss=\S+ dfl_loss=\S+ map50=[0-9.]+ "
        r"map50_95=[0-9.]+ precision=[0-9.]+ recall=[0-9.]+ seconds=[0-9.]+$"
    )
    assert pattern.match(lines[0]), lines[0]
    for definition in METRIC_DEFINITIONS:
        found = re.search(definition["Regex"], lines[0])
        assert found, definition["Name"]
        float(found.group(1))


def test_checkpoints_are_kept_for_spot_resume(tiny_training_run: TrainingRun) -> None:
    run_dir = tiny_training_run.ml_root / "checkpoints" / "yolo"
    assert (run_dir / "weights" / "last.pt").is_file()
    assert (run_dir / "weights" / "best.pt").is_file()
    assert json.loads((run_dir / DONE_MARKER).read_text())["epochs_run"] == 1


def test_a_restarted_job_skips_finished_training_and_rebuilds_the_artifact(
    tiny_training_run: TrainingRun, tmp_path: Path
) -> None:
    import contextlib
    import io
    import shutil

    from authentic.training.container.program import main

    ml_root = tmp_path / "ml"
    shutil.copytree(tiny_training_run.ml_root, ml_root, ignore=shutil.ignore_patterns("model", "work"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["train", "--ml-root", str(ml_root)], ml_root=Path("/nonexistent")) == 0
    assert PROGRESS_PREFIX + " epoch=" not in out.getvalue()
    assert (ml_root / "model" / "model.onnx").is_file()
    metrics = json.loads((ml_root / "model" / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1


def test_metrics_carry_the_verdict_rates_the_background_check_and_what_is_served(tiny_model_dir: Path) -> None:
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    labels = json.loads((tiny_model_dir / "labels.json").read_text())
    rates = metrics["verdict_rates"]
    assert rates["photos"] == rates["genuine_photos"] + rates["counterfeit_photos"] >= 2
    for name in ("false_counterfeit", "false_genuine", "inconclusive"):
        row = rates[name]
        assert set(row) == {"rate", "count", "total", "ci95"}, name
        assert 0 <= row["count"] <= row["total"] and row["ci95"][0] <= row["rate"] <= row["ci95"][1]
    background = metrics["background"]
    assert background["sources"]["generated_scenes"] == 200
    assert background["photos"] == 200 + background["sources"]["folder_photos"]
    assert background["max_rate"] == 0.01
    assert metrics["threshold"] >= metrics["threshold_f1"]
    assert background["within_max_rate"] == (background["answered"]["rate"] <= 0.01)
    assert labels["threshold"] == metrics["threshold"]
    serving = metrics["serving"]
    assert serving["precision"] in {"fp32", "int8"} and labels["precision"] == serving["precision"]
    assert serving["reason"]
    if serving["precision"] == "int8":
        assert serving["int8"]["map50_drop"] <= 0.015
        assert serving["int8"]["bytes"] < serving["fp32"]["bytes"]
    recipe = metrics["recipe"]
    assert recipe["path"] == "cpu-scratch"
    assert recipe["image_size"]["imgsz"] == TINY_IMGSZ and recipe["image_size"]["rule"] == "set"
    added = recipe["training_backgrounds"]
    assert added["crops"] + added["generated"] == round(0.2 * metrics["dataset"]["train_images"])
