"""A cheaper model to serve: static INT8 (onnxruntime.quantization, calibrated on training photos) or FP16, made
from the FP32 export and evaluated on the validation split like it; the caller serves it only when its mAP50 is
within `MAX_MAP50_DROP` of FP32's.

INT8 recipe (measured on the playing cards, docs/training.md): QDQ, weights signed 8-bit per channel, activations
unsigned 8-bit with `reduce_range` (7-bit weights: no overflow in the u8 x s8 dot products of CPUs without VNNI),
MinMax calibration on letterboxed training photos, and the detection head's decode kept in float: the box
distribution (DFL softmax), the anchor arithmetic, the sigmoid and the concatenation of boxes (pixels, up to the
input size) with scores (0-1) cannot share one 8-bit scale. Quantizing everything collapses mAP50 to 0; signed
activations keep the accuracy but run slower than FP32 on x86; unsigned without reduce_range drops 0.04.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from authentic.errors import TrainingError
from authentic.training.container.rates import letterbox

LOGGER = logging.getLogger(__name__)
MAX_MAP50_DROP = 0.015  # the served model is the smaller one only within this of FP32's validation mAP50
CALIBRATION_PHOTOS = 64
_BRANCH_CONV = re.compile(r"/cv[234]\.\d+/")
_LAST_CONV = re.compile(r"/cv[23]\.\d+/cv[23]\.\d+\.2/Conv$")


@dataclass(frozen=True)
class Quantized:
    path: Path
    precision: str  # "int8" or "fp16"
    seconds: float


def head_float_nodes(model: Any) -> list[str]:
    """Node names of the detection head's decode, kept in float: every node of the last module except its
    branch convolutions, plus the last 1x1 convolution of each branch (raw box distribution and class logits),
    plus any node outside the numbered modules."""
    numbered = [n for n in model.graph.node if n.name.startswith("/model.")]
    if not numbered:
        return [n.name for n in model.graph.node]
    last = max(int(n.name.split("/")[1].split(".")[1]) for n in numbered)
    prefix = f"/model.{last}/"
    head = [n for n in model.graph.node if n.name.startswith(prefix) or not n.name.startswith("/model.")]
    return [n.name for n in head if not _BRANCH_CONV.search(n.name) or _LAST_CONV.search(n.name)]


def calibration_tensors(photos: Sequence[Path], imgsz: int, limit: int = CALIBRATION_PHOTOS) -> list[np.ndarray]:
    """Letterboxed training photos, spread over the set (background images included: they are served too)."""
    chosen = list(photos)[:: max(1, len(photos) // limit)][:limit]
    tensors = []
    for path in chosen:
        with Image.open(path) as image:
            tensors.append(letterbox(image.convert("RGB"), (imgsz, imgsz)))
    if not tensors:
        raise TrainingError("no training photos to calibrate the INT8 model on")
    return tensors


def quantize_int8(source: Path, target: Path, *, calibration: Sequence[np.ndarray]) -> Quantized:
    """Static INT8 QDQ model of `source` (FP32 ONNX), calibrated on `calibration` (NCHW inputs)."""
    import onnx  # noqa: PLC0415
    from onnxruntime.quantization import (  # noqa: PLC0415
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process  # noqa: PLC0415

    started = time.monotonic()
    prepared = target.with_name(target.stem + "-prepared.onnx")
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    model = onnx.load(str(prepared))
    input_name = model.graph.input[0].name

    class _Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._items = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self._items, None)
            return None if item is None else {input_name: item}

    try:
        quantize_static(
            str(prepared),
            str(target),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=head_float_nodes(model),
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
    except Exception as exc:
        raise TrainingError(f"INT8 quantization failed: {exc}") from exc
    finally:
        prepared.unlink(missing_ok=True)
    _copy_metadata(source, target)
    return Quantized(target, "int8", time.monotonic() - started)


def convert_fp16(source: Path, target: Path) -> Quantized:
    """FP16 weights and compute, float32 input and output (the serving contract stays)."""
    import onnx  # noqa: PLC0415
    from onnxruntime.transformers.float16 import convert_float_to_float16  # noqa: PLC0415

    started = time.monotonic()
    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))
    _copy_metadata(source, target)
    return Quantized(target, "fp16", time.monotonic() - started)


def choose_served(fp32_map50: float, candidate_map50: float | None, precision: str) -> tuple[str, str]:
    """("fp32" or the candidate's precision, the reason)."""
    if candidate_map50 is None:
        return "fp32", "no smaller model was made"
    drop = fp32_map50 - candidate_map50
    if drop <= MAX_MAP50_DROP:
        return precision, (
            f"{precision} validation mAP50 {candidate_map50:.4f} is within {MAX_MAP50_DROP} of fp32's "
            f"{fp32_map50:.4f} (drop {drop:.4f})"
        )
    return "fp32", (
        f"{precision} validation mAP50 {candidate_map50:.4f} dropped {drop:.4f} from fp32's {fp32_map50:.4f}, "
        f"more than {MAX_MAP50_DROP}: serving fp32"
    )


def file_bytes(path: Path) -> int:
    return os.path.getsize(path)


def _copy_metadata(source: Path, target: Path) -> None:
    import onnx  # noqa: PLC0415

    original, made = onnx.load(str(source)), onnx.load(str(target))
    del made.metadata_props[:]
    made.metadata_props.extend(original.metadata_props)
    onnx.save(made, str(target))
