"""Correctness against the reference: on the same image and model, the server's boxes match ultralytics'
`YOLO(model).predict` within 1 px and 0.01 confidence after the same preprocessing.

ultralytics is given exactly the pixels our decoder produced (for a drafted JPEG, the reduced upright image),
and its boxes are scaled by the same draft factor; everything after that (letterbox, ONNX Runtime, NMS, box
mapping) is compared end to end.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from authentic.inference.detector import Detector, decode_image
from tests.support.scenes import Shape, draw_scene, encode, prepare_ultralytics, random_scene

CONF = 0.1
MARGIN = 0.02  # detections this close to the floor may fall on either side of it; they are not compared


@pytest.fixture(scope="module")
def detector(inference_model_dir: Path) -> Detector:
    return Detector.load(inference_model_dir)


@pytest.fixture(scope="module")
def reference(inference_model_dir: Path) -> Any:
    prepare_ultralytics()
    from ultralytics.models.yolo.model import YOLO

    return YOLO(str(inference_model_dir / "model.onnx"), task="detect")


def _ours(detector: Detector, data: bytes, content_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    result = detector.detect(data, content_type, conf=CONF)
    boxes = np.array([[d.left, d.top, d.left + d.width, d.top + d.height] for d in result.detections])
    return (
        boxes.reshape(-1, 4),
        np.array([d.confidence for d in result.detections]),
        np.array([d.class_id for d in result.detections]),
    )


def _theirs(reference: Any, pixels: Image.Image, scale: tuple[float, float]) -> tuple[np.ndarray, ...]:
    bgr = np.ascontiguousarray(np.asarray(pixels)[..., ::-1])
    (result,) = reference.predict(bgr, imgsz=128, conf=CONF, iou=0.7, verbose=False)
    boxes = result.boxes.xyxy.numpy().astype(np.float64) * np.array([*scale, *scale])
    return boxes, result.boxes.conf.numpy(), result.boxes.cls.numpy().astype(int)


def _assert_same(ours: tuple[np.ndarray, ...], theirs: tuple[np.ndarray, ...], label: str) -> int:
    """Every detection clearly above the floor on one side has its twin on the other: same class, corners
    within 1 px, confidence within 0.01. Returns how many were compared."""
    compared = 0
    for (a_boxes, a_conf, a_cls), (b_boxes, b_conf, b_cls) in ((ours, theirs), (theirs, ours)):
        for box, conf, cls in zip(a_boxes, a_conf, a_cls, strict=True):
            if conf < CONF + MARGIN:
                continue
            candidates = [i for i in range(len(b_boxes)) if b_cls[i] == cls]
            assert candidates, f"{label}: class {cls} at {conf:.3f} {box.round(1)} has no twin"
            twin = min(candidates, key=lambda i: float(np.abs(b_boxes[i] - box).max()))
            assert np.abs(b_boxes[twin] - box).max() <= 1.0, f"{label}: {box.round(2)} vs {b_boxes[twin].round(2)}"
            assert abs(b_conf[twin] - conf) <= 0.01, f"{label}: confidence {conf:.4f} vs {b_conf[twin]:.4f}"
            compared += 1
    return compared


def test_boxes_match_ultralytics_predict_on_letterboxed_sizes(detector: Detector, reference: Any) -> None:
    rng = random.Random(7)
    compared = 0
    for index, size in enumerate([(128, 128), (200, 150), (96, 128), (300, 260), (64, 80), (511, 97)]):
        scene, _ = random_scene(rng)
        image = scene.resize(size, Image.Resampling.BILINEAR)
        data = encode(image)
        decoded = decode_image(data, "image/png", fit=detector.input_size)
        compared += _assert_same(
            _ours(detector, data, "image/png"), _theirs(reference, decoded.pixels, decoded.scale), f"#{index} {size}"
        )
    assert compared >= 10  # the comparison is not vacuous


def test_boxes_match_ultralytics_predict_on_a_drafted_jpeg(detector: Detector, reference: Any) -> None:
    image = draw_scene(1600, 1200, [Shape(0, 175, 250, 440, 350), Shape(1, 940, 560, 450, 400)])
    data = encode(image, "JPEG", quality=92)
    decoded = decode_image(data, "image/jpeg", fit=detector.input_size)
    assert decoded.scale == (8.0, 8.0)  # 1600x1200 decoded at 200x150 for a 128 px model
    assert _assert_same(_ours(detector, data, "image/jpeg"), _theirs(reference, decoded.pixels, decoded.scale), "jpeg")


def test_boxes_match_ultralytics_predict_on_a_12_mp_phone_photo(
    detector: Detector, reference: Any, shared_data: Path
) -> None:
    with Image.open(shared_data / "exif" / "phone-samsung-sm-g935l-galaxy-s7-edge-o1.jpg") as photo:
        scene = photo.convert("RGB")
    # The products the model knows, photographed in a real 12 MP scene (a phone photo with the shapes on it),
    # so that both sides have detections to compare, not only the scene's background.
    width, height = scene.size
    pen = ImageDraw.Draw(scene)
    pen.rectangle([width // 10, height // 5, width // 10 + width // 4, height // 5 + height // 3], fill=(230, 40, 40))
    pen.ellipse([width // 2, height // 2, width // 2 + width // 4, height // 2 + height // 3], fill=(40, 40, 230))
    data = encode(scene, "JPEG", quality=92)
    decoded = decode_image(data, "image/jpeg", fit=detector.input_size)
    assert decoded.pixels.width < width / 4  # decoded at a reduced scale, as real phone photos are
    ours = _ours(detector, data, "image/jpeg")
    theirs = _theirs(reference, decoded.pixels, decoded.scale)
    assert _assert_same(ours, theirs, "phone") >= 2  # at least the two products, compared on both sides
