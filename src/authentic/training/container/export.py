"""ONNX export with a fixed input size, the project's metadata, and a check with onnxruntime before success.

Output contract (what the inference container decodes), checked here on every export:
- input `images`: float32 [1, 3, imgsz, imgsz], RGB, 0-1, letterboxed (aspect kept, centred, padded with 114/255);
- output `output0`: float32 [1, 4 + nc, anchors]: per anchor cx, cy, w, h in input pixels, then one score
  (0-1) per class; non-maximum suppression is left to the caller.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from authentic.errors import TrainingError

LOGGER = logging.getLogger(__name__)
STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class OnnxCheck:
    input_name: str
    input_shape: tuple[int, ...]
    output_name: str
    output_shape: tuple[int, ...]
    providers: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input_name,
            "input_shape": list(self.input_shape),
            "output": self.output_name,
            "output_shape": list(self.output_shape),
        }


def expected_anchors(imgsz: int) -> int:
    return sum((imgsz // s) ** 2 for s in STRIDES)


def export_onnx(checkpoint: Path, *, imgsz: int, target: Path) -> Path:
    """Export `checkpoint` (.pt) to `target` (ONNX, static batch 1 and imgsz, simplified), on the CPU."""
    from ultralytics.models.yolo.model import YOLO  # noqa: PLC0415

    try:
        exported = YOLO(str(checkpoint), task="detect").export(
            format="onnx", imgsz=imgsz, dynamic=False, simplify=True, batch=1, device="cpu", verbose=False
        )
    except Exception as exc:
        raise TrainingError(f"ONNX export failed: {exc}") from exc
    if not exported or not Path(exported).is_file():
        raise TrainingError("ONNX export produced no file")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(exported), target)
    return target


def add_metadata(path: Path, metadata: Mapping[str, Any]) -> None:
    """Set (or replace) string metadata entries of an ONNX file; non-strings are written as JSON."""
    import onnx  # noqa: PLC0415

    model = onnx.load(str(path))
    values = {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in metadata.items()}
    kept = [p for p in model.metadata_props if p.key not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in values.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.save(model, str(path))


def read_metadata(path: Path) -> dict[str, str]:
    import onnx  # noqa: PLC0415

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def check_onnx(path: Path, *, imgsz: int, num_classes: int) -> OnnxCheck:
    """Load the file with onnxruntime, run it on a real-looking input, and check the output contract."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort  # noqa: PLC0415

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise TrainingError(f"the exported model does not load in onnxruntime: {exc}") from exc
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise TrainingError(f"the exported model has {len(inputs)} inputs, expected 1")
    shape = tuple(inputs[0].shape)
    if shape != (1, 3, imgsz, imgsz):
        raise TrainingError(f"the exported model's input shape is {shape}, expected (1, 3, {imgsz}, {imgsz})")
    rng = np.random.default_rng(0)
    batch = np.full((1, 3, imgsz, imgsz), 114 / 255, dtype=np.float32)
    batch[:, :, imgsz // 4 : 3 * imgsz // 4, imgsz // 4 : 3 * imgsz // 4] = rng.random(
        (1, 3, imgsz // 2, imgsz // 2), dtype=np.float32
    )
    try:
        result = session.run(None, {inputs[0].name: batch})
    except Exception as exc:
        raise TrainingError(f"the exported model fails to run in onnxruntime: {exc}") from exc
    output = np.asarray(result[0])
    expected = (1, 4 + num_classes, expected_anchors(imgsz))
    if output.shape != expected:
        raise TrainingError(f"the exported model's output shape is {output.shape}, expected {expected}")
    if not np.isfinite(output).all():
        raise TrainingError("the exported model returns non-finite values")
    scores = output[0, 4:, :]
    if scores.size and (scores.min() < -1e-4 or scores.max() > 1 + 1e-4):
        raise TrainingError("the exported model's class scores are not probabilities (0-1)")
    return OnnxCheck(
        inputs[0].name, shape, outputs[0].name, tuple(int(d) for d in output.shape), tuple(session.get_providers())
    )
