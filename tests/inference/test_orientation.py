"""A photo stored sideways with an Exif orientation is answered in upright coordinates: the same boxes as the
same photo stored upright."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from authentic.inference.detector import Detector
from authentic.media.exif import ORIENTATION_TAG
from tests.support.scenes import Shape, draw_scene, encode

# How each orientation stores an upright photo: the inverse of what a viewer does to show it upright.
STORE = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # stored turned 90 degrees anticlockwise; tag 6 says "rotate 90 clockwise"
    8: Image.Transpose.ROTATE_270,
}


def _sideways_jpeg(upright: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    return encode(upright.transpose(STORE[orientation]), "JPEG", quality=95, exif=exif.tobytes())


def _boxes(result: Any) -> list[tuple[int, list[float], float]]:
    return [(d.class_id, [d.left, d.top, d.left + d.width, d.top + d.height], d.confidence) for d in result.detections]


def _gap(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def detector(inference_model_dir: Path) -> Detector:
    return Detector.load(inference_model_dir)


@pytest.mark.parametrize("orientation", [6, 3, 8])
@pytest.mark.parametrize("size", [(256, 192), (1600, 1200)])  # the large one is JPEG-drafted at 1/8
def test_a_sideways_photo_with_exif_orientation_yields_upright_boxes(
    detector: Detector, orientation: int, size: tuple[int, int]
) -> None:
    width, height = size
    k = width / 256
    shapes = [Shape(0, round(28 * k), round(40 * k), round(70 * k), round(56 * k))]
    shapes.append(Shape(1, round(150 * k), round(90 * k), round(72 * k), round(64 * k)))
    upright = draw_scene(width, height, shapes)
    straight = detector.detect(encode(upright, "JPEG", quality=95), "image/jpeg", conf=0.2)
    turned = detector.detect(_sideways_jpeg(upright, orientation), "image/jpeg", conf=0.2)

    assert (turned.image.width, turned.image.height) == (width, height)
    assert turned.image.orientation == orientation
    expected, got = _boxes(straight), _boxes(turned)
    assert {c for c, _, _ in expected} == {0, 1}  # the model finds both objects
    # Same classes in the same places, to within the JPEG re-encoding of rotated pixels (~1 px at 128 px input).
    for class_id, box, confidence in expected:
        match = min((g for g in got if g[0] == class_id), key=lambda g: _gap(g[1], box))
        assert _gap(match[1], box) <= 2.5 * k, (class_id, box, match)
        assert abs(match[2] - confidence) < 0.08
    for shape in shapes:  # and upright means on the drawn object, not on its rotated position
        best = next(g for g in got if g[0] == shape.class_id)
        assert abs(best[1][0] - shape.left) < 12 * k
        assert abs(best[1][1] - shape.top) < 12 * k


def test_the_server_reports_the_upright_size_of_a_sideways_phone_photo(detector: Detector, shared_data: Path) -> None:
    photo = (shared_data / "exif" / "phone-apple-iphone-4s-o6.jpg").read_bytes()  # stored 3264x2448, Exif 6
    result = detector.detect(photo, "image/jpeg", conf=0.01)
    assert (result.image.width, result.image.height) == (2448, 3264)
    assert result.image.pixels.size == (306, 408)  # drafted at 1/8, then turned upright
    for detection in result.detections:
        assert 0 <= detection.left <= detection.left + detection.width <= 2448 + 1e-3
        assert 0 <= detection.top <= detection.top + detection.height <= 3264 + 1e-3
