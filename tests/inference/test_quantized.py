"""The training program's cheaper models (INT8 static QDQ, FP16) load in the inference server like the FP32 one
and find the same objects."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import httpx
import onnx
import pytest
from PIL import Image

from authentic.inference.detector import Detector
from authentic.inference.server import ServerSettings, create_app
from authentic.local.background import BackgroundServer
from authentic.training.container.quantize import (
    calibration_tensors,
    convert_fp16,
    head_float_nodes,
    quantize_int8,
)
from tests.support.scenes import IMGSZ, encode, random_scene

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smaller_models(inference_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("quantized")
    photos = work / "calibration"
    photos.mkdir()
    rng = random.Random(1)
    for index in range(24):
        random_scene(rng)[0].save(photos / f"{index}.png")
    tensors = calibration_tensors(sorted(photos.iterdir()), IMGSZ)
    dirs = {}
    for precision in ("int8", "fp16"):
        target = work / precision
        shutil.copytree(inference_model_dir, target)
        made = target / "made.onnx"
        if precision == "int8":
            quantize_int8(inference_model_dir / "model.onnx", made, calibration=tensors)
        else:
            convert_fp16(inference_model_dir / "model.onnx", made)
        made.replace(target / "model.onnx")
        dirs[precision] = target
    return dirs


def _found(detector: Detector, photo: bytes) -> dict[int, Any]:
    """The best detection of each class found."""
    best: dict[int, Any] = {}
    for detection in detector.detect(photo, "image/jpeg").detections:
        if detection.class_id not in best or detection.confidence > best[detection.class_id].confidence:
            best[detection.class_id] = detection
    return best


def test_int8_keeps_the_head_in_float_and_is_smaller(
    inference_model_dir: Path, smaller_models: dict[str, Path]
) -> None:
    fp32 = inference_model_dir / "model.onnx"
    int8 = smaller_models["int8"] / "model.onnx"
    assert int8.stat().st_size < 0.5 * fp32.stat().st_size
    model = onnx.load(str(int8))
    ops = {n.op_type for n in model.graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    kept = set(head_float_nodes(onnx.load(str(fp32))))
    assert kept and any("Sigmoid" in name or "Concat" in name for name in kept)
    producers = {out: n for n in model.graph.node for out in n.output}
    last = producers[model.graph.output[0].name]  # the decode's final concatenation of boxes and scores
    assert last.name in kept
    assert all(producers[i].op_type != "DequantizeLinear" for i in last.input if i in producers)
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


@pytest.mark.parametrize("precision", ["int8", "fp16"])
def test_the_detector_loads_the_smaller_model_and_finds_the_same_objects(
    inference_model_dir: Path, smaller_models: dict[str, Path], scene: tuple[Image.Image, Any], precision: str
) -> None:
    photo = encode(scene[0], "JPEG", quality=95)
    reference = Detector.load(inference_model_dir)
    smaller = Detector.load(smaller_models[precision])
    expected, found = _found(reference, photo), _found(smaller, photo)
    assert sorted(found) == sorted(expected) == [0, 1]
    for class_id, a in expected.items():
        b = found[class_id]
        assert abs(a.confidence - b.confidence) < 0.15
        edges = zip((a.left, a.top, a.width, a.height), (b.left, b.top, b.width, b.height), strict=True)
        assert max(abs(x - y) for x, y in edges) < 8


def test_the_server_loads_and_serves_the_int8_model(
    smaller_models: dict[str, Path], scene: tuple[Image.Image, Any]
) -> None:
    settings = ServerSettings(workers=1, memory_budget_bytes=256 * 1024 * 1024)
    photo = encode(scene[0], "JPEG", quality=95)
    with BackgroundServer(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        loaded = http.post("/models", json={"model_name": "acme/v00002.tar.gz", "url": str(smaller_models["int8"])})
        assert loaded.status_code == 200, loaded.text
        headers = {"content-type": "image/jpeg", "x-amzn-sagemaker-target-model": "acme/v00002.tar.gz"}
        answer = http.post("/models/acme%2Fv00002.tar.gz/invoke", content=photo, headers=headers)
        assert answer.status_code == 200, answer.text
        assert {d["class_id"] for d in answer.json()["detections"]} >= {0, 1}
