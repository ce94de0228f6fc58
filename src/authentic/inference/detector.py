"""The detection core: photo bytes in, detections in the upright photo's pixels out. No web stack.

Shared by the inference container (`containers/inference/server.py`), the local runtime and the tests. Each
step is a plain function so it can be measured and tested alone:

1. `decode_image`: sniff-checked decode of a JPEG, PNG or HEIC body with a pixel limit against decompression
   bombs. JPEGs are decoded at the smallest DCT scale (1/2, 1/4, 1/8) that still covers the model's input
   (Pillow's `draft`), then the Exif orientation is applied, so the pixels are upright.
2. `letterbox`: the ultralytics predict transform (aspect-preserving resize with cv2 `INTER_LINEAR` semantics,
   here Pillow's non-antialiased bilinear affine, then grey 114 padding), as a float32 NCHW tensor in 0..1.
3. `Detector.run`: one ONNX Runtime session per model, created with explicit thread settings.
4. `postprocess`: best-class scores, confidence floor, class-aware greedy NMS in NumPy (the torchvision
   algorithm ultralytics uses), and the boxes mapped back through the letterbox and the JPEG draft scale to
   the upright full-resolution photo.

A model directory is the training artifact unpacked: `model.onnx` (ultralytics export, raw YOLOv8/11 head of
shape (1, 4 + classes, anchors)), `labels.json` (classes with roles, imgsz) and `metrics.json` (threshold).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from authentic.annotations.model import ROLES, Role, default_role
from authentic.contracts import (
    DEFAULT_CONFIDENCE,
    HEIC,
    HEIF,
    JPEG,
    LABELS_FILE,
    MAX_PHOTO_PIXELS,
    METRICS_FILE,
    MODEL_FILE,
    PNG,
)
from authentic.errors import InvalidImage, ModelArtifactError, UnsupportedMediaType
from authentic.inference.decoding import DecodeBudget, decode_cost
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import TRANSPOSE

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort  # telemetry is off before the import

LOG = logging.getLogger(__name__)


#: Content types the invoke route accepts, and the Pillow format each must decode as.
CONTENT_TYPES: Mapping[str, str] = {JPEG: "JPEG", PNG: "PNG", HEIC: "HEIF", HEIF: "HEIF"}
DEFAULT_CONF = DEFAULT_CONFIDENCE  # ultralytics predict's default floor
DEFAULT_IOU = 0.7  # ultralytics predict's default NMS IoU
DEFAULT_MAX_DET = 300
PAD_VALUE = 114
_MAX_NMS = 30_000
_CLASS_OFFSET = 7680.0  # ultralytics' max_wh: separates classes for class-aware NMS


# ----------------------------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image, possibly decoded at a reduced JPEG scale, and the upright full-resolution size."""

    pixels: Image.Image
    width: int
    height: int
    orientation: int
    format: str

    @property
    def scale(self) -> tuple[float, float]:
        """Full-resolution pixels per decoded pixel, along x and y."""
        return self.width / self.pixels.width, self.height / self.pixels.height


def media_format(content_type: str | None) -> str:
    """The Pillow format for a request's content type; `UnsupportedMediaType` for anything else."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        return CONTENT_TYPES[media]
    except KeyError:
        accepted = ", ".join(sorted(CONTENT_TYPES))
        raise UnsupportedMediaType(
            f"content type {media or '(none)'!r} is not supported; send one of {accepted}"
        ) from None


def decode_image(
    data: bytes,
    content_type: str | None,
    *,
    fit: tuple[int, int] | None = None,
    max_pixels: int = MAX_PHOTO_PIXELS,
) -> DecodedImage:
    """Decode a photo body into upright RGB pixels.

    `fit` is the model input (height, width): a JPEG is decoded at the smallest DCT scale whose letterboxed
    content still covers it, so a 12 MP photo for a 320 px model decodes at 1/8 scale. The returned
    `width`/`height` are always the upright full-resolution size, which boxes are reported in.
    """
    fmt = media_format(content_type)
    if not data:
        raise InvalidImage("the request body is empty; send the photo's bytes")
    if fmt == "HEIF":
        _register_heif()
    label = "HEIC" if fmt == "HEIF" else fmt
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise InvalidImage(f"the {label} image is too large to decode safely: {exc}") from exc
    except (UnidentifiedImageError, ImportError):
        # ImportError: in a process that imported ultralytics, Image.open is patched to fetch a HEIF plugin
        # (pi_heif) when Pillow cannot identify the bytes; the bytes are just as unidentifiable.
        raise InvalidImage(f"the body is not a {label} image (its bytes do not start like one)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"the body is not a decodable {label} image: {exc}") from exc
    with image:
        stored_w, stored_h = image.size
        if stored_w < 1 or stored_h < 1:
            raise InvalidImage(f"the {label} image has no pixels ({stored_w}x{stored_h})")
        if stored_w * stored_h > max_pixels:
            raise InvalidImage(
                f"the {label} image is {stored_w}x{stored_h} = {stored_w * stored_h} pixels; "
                f"the limit is {max_pixels} (downsize the photo before sending it)"
            )
        orientation = _orientation(image)
        upright_w, upright_h = (stored_h, stored_w) if orientation >= 5 else (stored_w, stored_h)
        if fmt == "JPEG" and fit is not None:
            ratio = min(fit[0] / upright_h, fit[1] / upright_w)
            if ratio < 1.0:
                need = (max(1, math.ceil(stored_w * ratio)), max(1, math.ceil(stored_h * ratio)))
                image.draft("RGB", need)
        try:
            image.load()
            pixels = image if image.mode == "RGB" else image.convert("RGB")
        except (OSError, SyntaxError, ValueError) as exc:
            raise InvalidImage(f"the {label} image could not be decoded: {exc}") from exc
    if orientation in TRANSPOSE:
        pixels = pixels.transpose(TRANSPOSE[orientation])
    return DecodedImage(pixels, upright_w, upright_h, orientation, label)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except (OSError, SyntaxError, ValueError):  # a broken Exif block: treat the photo as stored upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


@cache
def _register_heif() -> None:
    from pillow_heif import register_heif_opener  # noqa: PLC0415 - only HEIC bodies need libheif

    register_heif_opener()


# ---------------------------------------------------------------------------------------------- letterbox


@dataclass(frozen=True)
class Letterbox:
    """Where the decoded image sits inside the model input: ultralytics `LetterBox` geometry."""

    source_width: int
    source_height: int
    scaled_width: int
    scaled_height: int
    left: int
    top: int


def letterbox_geometry(source: tuple[int, int], target: tuple[int, int]) -> Letterbox:
    """Geometry for a (width, height) source in a (height, width) model input, rounded as ultralytics does."""
    width, height = source
    target_h, target_w = target
    ratio = min(target_h / height, target_w / width)
    scaled_w, scaled_h = max(round(width * ratio), 1), max(round(height * ratio), 1)
    left = round((target_w - scaled_w) / 2 - 0.1)
    top = round((target_h - scaled_h) / 2 - 0.1)
    return Letterbox(width, height, scaled_w, scaled_h, left, top)


def letterbox(image: Image.Image, target: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """The model input for an RGB image: resized keeping aspect, padded grey, NCHW float32 in 0..1.

    The resize samples bilinearly without antialiasing, as cv2 `INTER_LINEAR` does in ultralytics predict;
    JPEG draft decoding already did the large reduction, so what is left is less than 2x.
    """
    geometry = letterbox_geometry(image.size, target)
    if image.size != (geometry.scaled_width, geometry.scaled_height):
        sx = image.width / geometry.scaled_width
        sy = image.height / geometry.scaled_height
        image = image.transform(
            (geometry.scaled_width, geometry.scaled_height),
            Image.Transform.AFFINE,
            (sx, 0.0, 0.0, 0.0, sy, 0.0),
            resample=Image.Resampling.BILINEAR,
        )
    canvas = Image.new("RGB", (target[1], target[0]), (PAD_VALUE, PAD_VALUE, PAD_VALUE))
    canvas.paste(image, (geometry.left, geometry.top))
    hwc = np.asarray(canvas)
    tensor = np.empty((1, 3, target[0], target[1]), dtype=np.float32)
    np.divide(hwc.transpose(2, 0, 1), 255.0, out=tensor[0], dtype=np.float32)
    return tensor, geometry


# -------------------------------------------------------------------------------------------- postprocess


@dataclass(frozen=True)
class RawDetections:
    """Kept detections as arrays: xyxy boxes in upright full-resolution pixels, confidences, class ids."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, limit: int | None = None) -> np.ndarray:
    """Greedy NMS (torchvision's): indices of kept boxes, highest score first. Boxes are xyxy."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if limit is not None and len(keep) >= limit:
            break
        rest = order[1:]
        inter_w = np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0.0, None)
        inter_h = np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0.0, None)
        inter = inter_w * inter_h
        iou = inter / (areas[best] + areas[rest] - inter)
        order = rest[~(iou > iou_threshold)]
    return np.asarray(keep, dtype=np.int64)


def postprocess(
    output: np.ndarray,
    geometry: Letterbox,
    *,
    scale: tuple[float, float] = (1.0, 1.0),
    conf: float = DEFAULT_CONF,
    iou: float = DEFAULT_IOU,
    max_det: int = DEFAULT_MAX_DET,
) -> RawDetections:
    """Raw head output (1, 4 + classes, anchors) to kept detections in the upright full-resolution photo.

    Mirrors ultralytics `non_max_suppression` (best class per anchor, strict `> conf`, class-aware NMS, then
    `max_det`) and `scale_boxes` (remove padding, divide by the letterbox gain, clip), then multiplies by the
    JPEG draft `scale` (full-resolution pixels per decoded pixel).
    """
    preds = output[0]
    class_scores = preds[4:]
    classes = class_scores.argmax(axis=0)
    scores = np.take_along_axis(class_scores, classes[None, :], axis=0)[0]
    keep = scores > conf
    if not keep.any():
        return _empty()
    xywh = preds[:4, keep].T.astype(np.float32)
    scores, classes = scores[keep], classes[keep]
    if scores.shape[0] > _MAX_NMS:
        top = np.argsort(-scores, kind="stable")[:_MAX_NMS]
        xywh, scores, classes = xywh[top], scores[top], classes[top]
    boxes = np.empty_like(xywh)
    half_w, half_h = xywh[:, 2] / 2, xywh[:, 3] / 2
    boxes[:, 0] = xywh[:, 0] - half_w
    boxes[:, 1] = xywh[:, 1] - half_h
    boxes[:, 2] = xywh[:, 0] + half_w
    boxes[:, 3] = xywh[:, 1] + half_h
    offsets = classes.astype(np.float32)[:, None] * _CLASS_OFFSET
    kept = nms(boxes + offsets, scores, iou, limit=max_det)
    boxes, scores, classes = boxes[kept], scores[kept], classes[kept]
    gain_x = geometry.scaled_width / geometry.source_width
    gain_y = geometry.scaled_height / geometry.source_height
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - geometry.left) / gain_x
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - geometry.top) / gain_y
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, geometry.source_width) * scale[0]
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, geometry.source_height) * scale[1]
    return RawDetections(boxes, scores.astype(np.float32), classes.astype(np.int64))


def _empty() -> RawDetections:
    return RawDetections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


# ---------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    role: Role
    threshold: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "threshold": self.threshold}


@dataclass(frozen=True)
class ModelInfo:
    """What the artifact says about the model: classes with roles and thresholds, and the input size."""

    classes: tuple[ClassInfo, ...]
    input_size: tuple[int, int]  # (height, width)
    threshold: float
    threshold_source: str  # "metrics" or "default"
    metrics: Mapping[str, Any] = field(default_factory=dict)

    def class_info(self, class_id: int) -> ClassInfo:
        return self.classes[class_id]


@dataclass(frozen=True)
class RuntimeOptions:
    """ONNX Runtime settings, chosen from the host's cores by the caller, never ORT's defaults."""

    intra_op_threads: int = 1
    shared_arena: bool = True  # one CPU arena for every session instead of one per model
    # Intra-op threads spin after a run instead of sleeping: 1.8 ms less per nano inference with two threads
    # (6.0 against 7.8 ms), but the spinning steals the cores that other requests' decoding needs: on 2 cores
    # bench/mme.py measured 27 requests/s sequential and 28 concurrent with it, 33 and 55 without. Off by
    # default; AUTHENTIC_ORT_SPINNING=true for a latency-first endpoint with cores to spare.
    spinning: bool = False


_ARENA_LOCK = threading.Lock()
_ARENA_REGISTERED = False


def _register_shared_arena() -> None:
    """One process-wide CPU arena that every session allocates activations from (ORT env allocator)."""
    global _ARENA_REGISTERED  # noqa: PLW0603 - a process-wide ORT registration, done once
    with _ARENA_LOCK:
        if _ARENA_REGISTERED:
            return
        memory_info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        ort.create_and_register_allocator(memory_info, ort.OrtArenaCfg(0, -1, -1, -1))
        _ARENA_REGISTERED = True


def create_session(model_path: Path, options: RuntimeOptions) -> Any:
    """An ONNX Runtime CPU session with explicit threads, full graph optimisation and chosen spinning."""
    session_options = ort.SessionOptions()
    session_options.intra_op_num_threads = max(1, options.intra_op_threads)
    session_options.inter_op_num_threads = 1
    session_options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session_options.log_severity_level = 3
    session_options.add_session_config_entry("session.intra_op.allow_spinning", "1" if options.spinning else "0")
    if options.shared_arena:
        _register_shared_arena()
        session_options.add_session_config_entry("session.use_env_allocators", "1")
    try:
        return ort.InferenceSession(str(model_path), session_options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types (Fail, InvalidGraph, NoSuchFile, ...)
        if isinstance(exc, MemoryError) or "bad_alloc" in str(exc):
            raise MemoryError(f"ONNX Runtime ran out of memory loading {model_path}") from exc
        raise ModelArtifactError(f"{model_path} is not a loadable ONNX model: {exc}") from exc


def read_model_info(model_dir: Path, session: Any, *, default_threshold: float = DEFAULT_CONF) -> ModelInfo:
    """Classes, roles, input size and thresholds from `labels.json`/`metrics.json`, falling back to the
    ONNX metadata (`names`, `imgsz`) the ultralytics exporter writes."""
    labels = _read_json(model_dir / LABELS_FILE)
    metrics = _read_json(model_dir / METRICS_FILE)
    metadata = dict(session.get_modelmeta().custom_metadata_map)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise ModelArtifactError(f"{model_dir / MODEL_FILE} must take one NCHW image input")
    input_size = _input_size(model_dir, inputs[0].shape, labels, metadata)
    names = _class_names(model_dir, labels, metadata)
    head = outputs[0].shape if outputs else []
    if len(head) != 3 or (isinstance(head[1], int) and head[1] != 4 + len(names)):
        raise ModelArtifactError(
            f"{model_dir / MODEL_FILE} output {head} is not a YOLO detect head for {len(names)} classes "
            "(expected (1, 4 + classes, anchors))"
        )
    threshold, source = _threshold(metrics, default_threshold)
    per_class = _per_class_thresholds(metrics)
    roles = _roles(labels)
    classes = tuple(
        ClassInfo(
            class_id,
            name,
            roles.get(class_id) or default_role(name),
            per_class.get(class_id, per_class.get(name, threshold)),
        )
        for class_id, name in enumerate(names)
    )
    return ModelInfo(classes, input_size, threshold, source, metrics)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelArtifactError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ModelArtifactError(f"{path} must hold a JSON object")
    return value


def _metadata_literal(metadata: Mapping[str, str], key: str) -> Any:
    raw = metadata.get(key)
    if raw is None:
        return None
    try:
        return ast.literal_eval(raw)  # the exporter writes Python reprs: "{0: 'a'}", "[320, 320]"
    except (ValueError, SyntaxError):
        return None


def _input_size(
    model_dir: Path, shape: list[Any], labels: Mapping[str, Any], metadata: Mapping[str, str]
) -> tuple[int, int]:
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
        return height, width  # a fixed-shape export: the session decides
    declared = labels.get("imgsz")
    if declared is None:
        declared = _metadata_literal(metadata, "imgsz")
    if isinstance(declared, int) and declared > 0:
        return declared, declared
    if (
        isinstance(declared, list | tuple)
        and len(declared) == 2
        and all(isinstance(v, int) and v > 0 for v in declared)
    ):
        return int(declared[0]), int(declared[1])
    raise ModelArtifactError(
        f"{model_dir}: the model input size is dynamic and neither labels.json nor the ONNX metadata give imgsz"
    )


def _class_names(model_dir: Path, labels: Mapping[str, Any], metadata: Mapping[str, str]) -> list[str]:
    entries = labels.get("classes")
    if isinstance(entries, list) and entries:
        by_id: dict[int, str] = {}
        for entry in entries:
            if not (
                isinstance(entry, dict) and isinstance(entry.get("id"), int) and isinstance(entry.get("name"), str)
            ):
                raise ModelArtifactError(f"{model_dir / LABELS_FILE}: every class needs an integer id and a name")
            by_id[entry["id"]] = entry["name"]
        if sorted(by_id) != list(range(len(by_id))):
            raise ModelArtifactError(f"{model_dir / LABELS_FILE}: class ids must be 0..{len(by_id) - 1}")
        return [by_id[i] for i in range(len(by_id))]
    names = _metadata_literal(metadata, "names")
    if isinstance(names, dict) and names and sorted(names) == list(range(len(names))):
        return [str(names[i]) for i in range(len(names))]
    raise ModelArtifactError(f"{model_dir}: no class names in labels.json or in the ONNX metadata")


def _roles(labels: Mapping[str, Any]) -> dict[int, Role]:
    roles: dict[int, Role] = {}
    for entry in labels.get("classes") or []:
        role = entry.get("role") if isinstance(entry, dict) else None
        if role in ROLES and isinstance(entry.get("id"), int):
            roles[entry["id"]] = role
    return roles


def _threshold(metrics: Mapping[str, Any], default: float) -> tuple[float, str]:
    value = metrics.get("threshold")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value), "metrics"
    return default, "default"


def _per_class_thresholds(metrics: Mapping[str, Any]) -> dict[int | str, float]:
    """Optional per-class thresholds: `per_class` as {name: {...}} or [{"class_id"|"id", "name", ...}]."""
    per_class = metrics.get("per_class")
    items: list[tuple[Any, Any]] = []
    if isinstance(per_class, dict):
        items = list(per_class.items())
    elif isinstance(per_class, list):
        for entry in per_class:
            if isinstance(entry, dict):
                key = entry.get("class_id", entry.get("id", entry.get("name")))
                items.append((key, entry))
    out: dict[int | str, float] = {}
    for key, entry in items:
        value = entry.get("threshold") if isinstance(entry, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
            out[key] = float(value)
    return out


# ----------------------------------------------------------------------------------------------- detector


@dataclass(frozen=True)
class Detection:
    class_id: int
    name: str
    role: Role
    confidence: float
    left: float
    top: float
    width: float
    height: float

    def to_json(self, image_width: int, image_height: int) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "name": self.name,
            "role": self.role,
            "confidence": round(self.confidence, 5),
            "box": {
                "left": round(self.left, 2),
                "top": round(self.top, 2),
                "width": round(self.width, 2),
                "height": round(self.height, 2),
            },
            "box_normalized": {
                "left": round(self.left / image_width, 6),
                "top": round(self.top / image_height, 6),
                "width": round(self.width / image_width, 6),
                "height": round(self.height / image_height, 6),
            },
        }


@dataclass(frozen=True)
class DetectionResult:
    image: DecodedImage
    detections: tuple[Detection, ...]
    conf: float
    max_det: int
    timings_ms: Mapping[str, float]


class Detector:
    """One loaded model: its ONNX Runtime session and what its artifact says. Safe to share across threads
    (ONNX Runtime sessions are thread-safe for `run`)."""

    def __init__(self, session: Any, info: ModelInfo, model_dir: Path) -> None:
        self.session = session
        self.info = info
        self.model_dir = model_dir
        self.input_name: str = session.get_inputs()[0].name
        self.output_name: str = session.get_outputs()[0].name

    @classmethod
    def load(cls, model_dir: Path, options: RuntimeOptions | None = None) -> Detector:
        """Load a model directory; `ModelArtifactError` names what is missing or wrong."""
        model_path = model_dir / MODEL_FILE
        if not model_path.is_file():
            raise ModelArtifactError(f"{model_dir} has no {MODEL_FILE}")
        session = create_session(model_path, options or RuntimeOptions())
        return cls(session, read_model_info(model_dir, session), model_dir)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.info.input_size

    def run(self, tensor: np.ndarray) -> np.ndarray:
        output: np.ndarray = self.session.run([self.output_name], {self.input_name: tensor})[0]
        return output

    def default_conf(self) -> float:
        """The floor when the caller gives none: ultralytics' 0.25, lowered to the lowest class threshold."""
        return min([DEFAULT_CONF, *(c.threshold for c in self.info.classes)])

    def detect(
        self,
        data: bytes,
        content_type: str | None,
        *,
        conf: float | None = None,
        iou: float = DEFAULT_IOU,
        max_det: int = DEFAULT_MAX_DET,
        max_pixels: int = MAX_PHOTO_PIXELS,
        budget: DecodeBudget | None = None,
    ) -> DetectionResult:
        """Photo bytes to detections in the upright photo's pixels, with the time each stage took. With a
        `budget`, the decoding's memory (estimated from the header) is reserved from it until the pixels are
        letterboxed into the model's input."""
        floor = self.default_conf() if conf is None else conf
        started = time.perf_counter()
        cost = decode_cost(data, media_format(content_type), self.input_size) if budget is not None else 0
        with budget.reserve(cost) if budget is not None else contextlib.nullcontext():
            image = decode_image(data, content_type, fit=self.input_size, max_pixels=max_pixels)
            decoded = time.perf_counter()
            tensor, geometry = letterbox(image.pixels, self.input_size)
        prepared = time.perf_counter()
        output = self.run(tensor)
        inferred = time.perf_counter()
        raw = postprocess(output, geometry, scale=image.scale, conf=floor, iou=iou, max_det=max_det)
        detections = self.to_detections(raw)
        finished = time.perf_counter()
        timings = {
            "decode": (decoded - started) * 1e3,
            "preprocess": (prepared - decoded) * 1e3,
            "inference": (inferred - prepared) * 1e3,
            "postprocess": (finished - inferred) * 1e3,
            "total": (finished - started) * 1e3,
        }
        return DetectionResult(image, detections, floor, max_det, timings)

    def to_detections(self, raw: RawDetections) -> tuple[Detection, ...]:
        out = []
        for (x1, y1, x2, y2), score, class_id in zip(
            raw.boxes.tolist(), raw.scores.tolist(), raw.classes.tolist(), strict=True
        ):
            info = self.info.class_info(class_id)
            out.append(Detection(class_id, info.name, info.role, score, x1, y1, x2 - x1, y2 - y1))
        return tuple(out)
