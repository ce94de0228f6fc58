"""The detection core's pure steps: decoding (formats, draft scale, Exif orientation, limits), the letterbox,
NMS and the mapping of boxes back to the upright photo."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from authentic.errors import InvalidImage, ModelArtifactError, UnsupportedMediaType
from authentic.inference.detector import (
    Letterbox,
    decode_image,
    letterbox,
    letterbox_geometry,
    media_format,
    nms,
    postprocess,
)
from tests.support.scenes import encode, prepare_ultralytics


def test_content_types_map_to_formats_and_others_are_refused() -> None:
    assert media_format("image/jpeg") == "JPEG"
    assert media_format("IMAGE/PNG; charset=binary") == "PNG"
    assert media_format("image/heic") == "HEIF"
    for bad in ("image/gif", "application/octet-stream", "", None):
        with pytest.raises(UnsupportedMediaType) as caught:
            media_format(bad)
        assert caught.value.status == 415
        assert "image/jpeg" in caught.value.message


def test_undecodable_and_mismatched_bodies_say_why() -> None:
    png = encode(Image.new("RGB", (8, 8)))
    with pytest.raises(InvalidImage, match="empty"):
        decode_image(b"", "image/png")
    with pytest.raises(InvalidImage, match="not a JPEG image"):
        decode_image(png, "image/jpeg")  # a PNG sent as a JPEG
    with pytest.raises(InvalidImage, match="not a PNG image"):
        decode_image(b"\x89PNG but not really", "image/png")
    truncated = encode(Image.effect_noise((256, 256), 64).convert("RGB"), "JPEG")[:2000]
    with pytest.raises(InvalidImage, match="could not be decoded"):
        decode_image(truncated, "image/jpeg")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_is_refused_before_decoding() -> None:
    # A 10000x10000 PNG of one colour compresses to a few hundred kB but would decode to 300 MB.
    bomb = encode(Image.new("L", (10_000, 10_000)), optimize=True)
    assert len(bomb) < 1_000_000
    with pytest.raises(InvalidImage, match="100000000 pixels; the limit is 50000000"):
        decode_image(bomb, "image/png")
    with pytest.raises(InvalidImage, match="limit is 1000"):
        decode_image(encode(Image.new("RGB", (40, 40))), "image/png", max_pixels=1000)


def test_heic_decodes() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), (200, 10, 10))).save(buffer, quality=90)
    decoded = decode_image(buffer.getvalue(), "image/heic")
    assert (decoded.width, decoded.height, decoded.format) == (64, 48, "HEIC")
    assert decoded.pixels.getpixel((32, 24))[0] > 150  # type: ignore[index]


def test_jpeg_is_drafted_to_the_smallest_scale_that_covers_the_model_input(shared_data: Path) -> None:
    data = (shared_data / "exif" / "phone-issue-525-o1.jpg").read_bytes()  # 4032x3024
    decoded = decode_image(data, "image/jpeg", fit=(320, 320))
    assert (decoded.width, decoded.height) == (4032, 3024)
    assert decoded.pixels.size == (504, 378)  # 1/8 scale: 504 >= 320
    assert decoded.scale == (8.0, 8.0)
    nearly = decode_image(data, "image/jpeg", fit=(640, 640))
    assert nearly.pixels.size == (1008, 756)  # 1/4: 1/8 would be 504 < 640
    full = decode_image(data, "image/jpeg")
    assert full.pixels.size == (4032, 3024)


def _manifest(shared_data: Path) -> list[dict[str, str]]:
    with (shared_data / "exif" / "manifest.tsv").open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_every_exif_orientation_decodes_upright(shared_data: Path) -> None:
    rows = _manifest(shared_data)
    assert len(rows) >= 16
    references: dict[str, np.ndarray] = {}
    for row in rows:
        data = (shared_data / "exif" / row["file"]).read_bytes()
        decoded = decode_image(data, "image/jpeg", fit=(160, 160))
        width, height = (int(v) for v in row["upright_WxH"].split("x"))
        assert (decoded.width, decoded.height) == (width, height), row["file"]
        assert decoded.orientation == int(row["orientation"]), row["file"]
        w, h = decoded.pixels.size
        assert (w > h) == (width > height), row["file"]
        if row["file"].startswith("synthetic-"):
            # One scene tagged with each orientation: once upright, every copy shows the same picture.
            kind = row["file"].split("-")[1]
            small = np.asarray(decoded.pixels.resize((40, 30) if kind == "landscape" else (30, 40)), dtype=float)
            small -= small.mean()  # the copies differ a little in brightness
            reference = references.setdefault(kind, small)
            assert np.corrcoef(small.ravel(), reference.ravel())[0, 1] > 0.97, row["file"]
            assert np.abs(small - reference).mean() * 4 < np.abs(small[::-1] - reference).mean(), row["file"]


def test_letterbox_geometry_matches_ultralytics() -> None:
    from ultralytics.data.augment import LetterBox

    for width, height in [(4032, 3024), (3024, 4032), (128, 96), (100, 300), (1, 2000), (640, 640), (77, 33)]:
        for target in [(320, 320), (128, 128), (256, 320)]:
            params = LetterBox(target, auto=False).get_params({"img": np.zeros((height, width, 3), np.uint8)})
            ours = letterbox_geometry((width, height), target)
            assert (ours.scaled_width, ours.scaled_height) == params["new_unpad"]
            assert (ours.left, ours.top) == (params["left"], params["top"])


def test_letterbox_tensor_matches_ultralytics_preprocessing() -> None:
    """Same pixels in, same tensor out (to one 8-bit level, from bilinear rounding) as LetterBox + /255."""
    from ultralytics.data.augment import LetterBox

    rng = np.random.default_rng(0)
    for width, height in [(200, 150), (96, 128), (300, 260), (64, 80), (128, 128)]:
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        smooth = Image.fromarray(pixels).resize((width // 4 or 1, height // 4 or 1)).resize((width, height))
        tensor, _ = letterbox(smooth, (128, 128))
        boxed = np.asarray(LetterBox((128, 128), auto=False)(image=np.asarray(smooth)[..., ::-1].copy()))
        expected = boxed[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255
        assert tensor.shape == (1, 3, 128, 128)
        assert tensor.dtype == np.float32
        assert np.abs(tensor - expected).max() <= 1.5 / 255


def test_nms_matches_torchvision() -> None:
    import torch
    import torchvision

    rng = np.random.default_rng(1)
    for _ in range(20):
        xy = rng.uniform(0, 100, (60, 2)).astype(np.float32)
        wh = rng.uniform(5, 40, (60, 2)).astype(np.float32)
        boxes = np.concatenate([xy, xy + wh], axis=1)
        scores = rng.uniform(0, 1, 60).astype(np.float32)
        expected = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.5).numpy()
        assert nms(boxes, scores, 0.5).tolist() == expected.tolist()
        assert nms(boxes, scores, 0.5, limit=3).tolist() == expected[:3].tolist()


def test_postprocess_maps_boxes_through_letterbox_and_draft_scale() -> None:
    # A 400x300 decoded image (a 3200x2400 photo drafted at 1/8) letterboxed into 128x128: 128x96 at top 16.
    geometry = letterbox_geometry((400, 300), (128, 128))
    assert geometry == Letterbox(400, 300, 128, 96, 0, 16)
    head = np.zeros((1, 6, 3), np.float32)
    head[0, :4, 0] = [64, 64, 32, 32]  # input x 48..80, y 48..80 -> decoded 150..250, 100..200 -> full x 8
    head[0, 4, 0] = 0.9
    head[0, :4, 1] = [65, 64, 32, 32]  # overlaps the first, same class: suppressed
    head[0, 4, 1] = 0.8
    head[0, :4, 2] = [65, 64, 32, 32]  # same place, other class: kept (class-aware NMS)
    head[0, 5, 2] = 0.7
    raw = postprocess(head, geometry, scale=(8.0, 8.0), conf=0.25)
    assert raw.classes.tolist() == [0, 1]
    assert np.allclose(raw.scores, [0.9, 0.7])
    assert np.allclose(raw.boxes[0], [1200, 800, 2000, 1600])
    assert len(postprocess(head, geometry, conf=0.95)) == 0
    assert len(postprocess(head, geometry, conf=0.25, max_det=1)) == 1


def test_postprocess_clips_to_the_image() -> None:
    geometry = letterbox_geometry((128, 96), (128, 128))
    head = np.zeros((1, 5, 1), np.float32)
    head[0, :, 0] = [4, 20, 20, 20, 0.9]  # reaches above the image, into the top padding
    raw = postprocess(head, geometry, conf=0.25)
    assert raw.boxes[0].tolist() == [0.0, 0.0, 14.0, 14.0]


def test_model_directory_errors_name_the_problem(tmp_path: Path, inference_model_dir: Path) -> None:
    from authentic.inference.detector import Detector

    with pytest.raises(ModelArtifactError, match=r"has no model\.onnx"):
        Detector.load(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelArtifactError, match="not a loadable ONNX model"):
        Detector.load(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").hardlink_to(inference_model_dir / "model.onnx")
    (broken / "labels.json").write_text('{"classes": [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}, {"id": 2}]}')
    with pytest.raises(ModelArtifactError, match="integer id and a name"):
        Detector.load(broken)
    (broken / "labels.json").write_text('{"classes": [{"id": 0, "name": "only-one"}]}')
    with pytest.raises(ModelArtifactError, match="not a YOLO detect head for 1 classes"):
        Detector.load(broken)


def test_names_and_imgsz_fall_back_to_onnx_metadata(tmp_path: Path, inference_model_dir: Path) -> None:
    from authentic.inference.detector import Detector

    (tmp_path / "model.onnx").hardlink_to(inference_model_dir / "model.onnx")
    detector = Detector.load(tmp_path)
    assert [c.name for c in detector.info.classes] == ["genuine", "counterfeit"]
    assert [c.role for c in detector.info.classes] == ["genuine", "counterfeit"]  # from the names
    assert detector.input_size == (128, 128)
    assert (detector.info.threshold, detector.info.threshold_source) == (0.25, "default")


def test_thresholds_and_roles_come_from_the_artifact(tmp_path: Path, inference_model_dir: Path) -> None:
    from authentic.inference.detector import Detector

    (tmp_path / "model.onnx").hardlink_to(inference_model_dir / "model.onnx")
    (tmp_path / "labels.json").write_text(
        '{"classes": [{"id": 0, "name": "logo", "role": "genuine"}, {"id": 1, "name": "stitch", "role": "counterfeit"}]}'
    )
    (tmp_path / "metrics.json").write_text('{"threshold": 0.4, "per_class": {"stitch": {"threshold": 0.6}}}')
    info = Detector.load(tmp_path).info
    assert [(c.name, c.role, c.threshold) for c in info.classes] == [
        ("logo", "genuine", 0.4),
        ("stitch", "counterfeit", 0.6),
    ]
    assert info.threshold_source == "metrics"


def test_unidentifiable_bytes_are_invalid_even_after_ultralytics_patched_pillow() -> None:
    prepare_ultralytics()
    import ultralytics.utils.patches  # noqa: F401 - replaces PIL.Image.open with a HEIF-plugin-fetching wrapper

    with pytest.raises(InvalidImage, match="not a JPEG image"):
        decode_image(b"\xff\xd8\xff garbage", "image/jpeg")
