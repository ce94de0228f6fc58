"""Hyperparameters arrive as strings: parsed, defaulted, validated, unknown keys refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from authentic.errors import InvalidInput
from authentic.training.container.recipe import auto_batch, close_mosaic_epochs, train_args, ultralytics_default_args
from authentic.training.hyperparameters import Hyperparameters, parse_hyperparameters


def test_defaults() -> None:
    hp = parse_hyperparameters({})
    assert hp == Hyperparameters()
    assert hp.model_yaml == "yolo11n.yaml"
    assert hp.device == "auto" and hp.imgsz == 0 and hp.batch == 0 and hp.weights == ""


def test_strings_are_parsed_into_types() -> None:
    hp = parse_hyperparameters(
        {
            "model": "yolov8s.yaml",
            "epochs": "12",
            "patience": "0",
            "imgsz": "320",
            "batch": "8",
            "seed": "42",
            "val_fraction": "0.25",
            "min_images_per_class": "5",
            "device": "CPU",
            "time_limit_minutes": "7.5",
            "brand_id": "acme",
            "manifest_key": "acme/manifests/m1.json",
        }
    )
    assert hp.model == "yolov8s" and hp.model_yaml == "yolov8s.yaml"
    assert (hp.epochs, hp.patience, hp.imgsz, hp.batch, hp.seed) == (12, 0, 320, 8, 42)
    assert hp.val_fraction == 0.25 and hp.min_images_per_class == 5
    assert hp.device == "cpu" and hp.time_limit_minutes == 7.5
    assert hp.brand_id == "acme" and hp.manifest_key == "acme/manifests/m1.json"


def test_json_values_and_quoted_strings_are_accepted() -> None:
    hp = parse_hyperparameters({"epochs": 3, "model": '"yolo26n"', "imgsz": "auto", "val_fraction": 0.1})
    assert (hp.epochs, hp.model, hp.imgsz, hp.val_fraction) == (3, "yolo26n", 0, 0.1)


def test_sagemaker_own_keys_are_ignored() -> None:
    hp = parse_hyperparameters({"sagemaker_program": "x", "_tuning_objective_metric": "validation:map50"})
    assert hp == Hyperparameters()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"epoch": "3"}, "unknown hyperparameter 'epoch'"),
        ({"epochs": "0"}, "epochs='0': must be between 1 and 1000"),
        ({"epochs": "2.5"}, "epochs='2.5': expected an integer"),
        ({"epochs": "true"}, "epochs='true': expected an integer"),
        ({"batch": "-1"}, "batch='-1': must be between 0 and 512"),
        ({"imgsz": "100"}, "imgsz='100': expected 'auto' or a multiple of 32"),
        ({"val_fraction": "0"}, "val_fraction='0': must be greater than 0"),
        ({"val_fraction": "nan"}, "val_fraction='nan': expected a finite number"),
        ({"min_images_per_class": "1"}, "min_images_per_class='1': must be between 2"),
        ({"model": "resnet50"}, "model='resnet50': expected a YOLO detection model YAML"),
        ({"model": "yolo11n.pt"}, "weights go in 'weights'"),
        ({"weights": "weights.bin"}, "weights='weights.bin': expected a path to a .pt checkpoint"),
        ({"device": "tpu"}, "device='tpu': expected auto, cpu, cuda"),
    ],
)
def test_malformed_values_are_refused_with_a_clear_message(raw: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_hyperparameters(raw)
    assert message in caught.value.message


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_hyperparameters({"epochs": "x", "colour": "red"})
    assert len(caught.value.details) == 2


def test_recipe_turns_off_accumulation_and_closes_mosaic_for_the_last_quarter(tmp_path) -> None:  # type: ignore[no-untyped-def]
    hp = parse_hyperparameters({"epochs": "40", "batch": "8", "patience": "0"})
    args = train_args(
        hp,
        data_yaml=tmp_path / "d.yaml",
        imgsz=320,
        device="cpu",
        project=tmp_path,
        name="r",
        weights=None,
        train_images=1000,
    )
    assert args["nbs"] == args["batch"] == 8
    assert args["close_mosaic"] == 20
    assert args["hsv_s"] < 0.7 and args["hsv_h"] < 0.015 and args["cls"] > 0.5
    assert args["patience"] == 41  # 0: never stop early
    assert args["pretrained"] is False and args["model"] == "yolo11n.yaml"
    assert args["amp"] is False and args["device"] == "cpu"
    baseline = ultralytics_default_args(
        model_yaml="yolo11n.yaml", data_yaml=tmp_path / "d.yaml", imgsz=320, device="cpu", project=tmp_path, name="b"
    )
    assert "nbs" not in baseline and "optimizer" not in baseline and baseline["epochs"] == 100


@pytest.mark.parametrize(("images", "batch"), [(1, 4), (15, 4), (100, 4), (199, 4), (200, 8), (400, 16), (9000, 16)])
def test_auto_batch_gives_about_25_steps_per_epoch(images: int, batch: int) -> None:
    assert auto_batch(images) == batch
    assert (
        train_args(
            Hyperparameters(),
            data_yaml=Path("d.yaml"),
            imgsz=320,
            device="cpu",
            project=Path("p"),
            name="n",
            weights=None,
            train_images=images,
        )["batch"]
        == batch
    )


@pytest.mark.parametrize(("epochs", "closed"), [(1, 0), (2, 1), (4, 3), (5, 3), (10, 5), (40, 20), (100, 50)])
def test_close_mosaic_epochs(epochs: int, closed: int) -> None:
    assert close_mosaic_epochs(epochs) == closed


def test_background_images_the_background_bar_and_quantization_are_validated() -> None:
    from authentic.errors import InvalidInput
    from authentic.training.hyperparameters import parse_hyperparameters

    hp = parse_hyperparameters({"background_fraction": "0", "max_background_rate": "0.05", "quantize": "FP16"})
    assert (hp.background_fraction, hp.max_background_rate, hp.quantize) == (0.0, 0.05, "fp16")
    defaults = parse_hyperparameters({})
    assert (defaults.background_fraction, defaults.max_background_rate, defaults.quantize) == (0.2, 0.01, "auto")
    for bad in ({"quantize": "int4"}, {"background_fraction": "1.5"}, {"max_background_rate": "-0.1"}):
        with pytest.raises(InvalidInput, match=next(iter(bad))):
            parse_hyperparameters(bad)
