"""The quantized model beside FP32, for `bench.mme` and `bench.verify` (one shared measurement).

The pair measured: when `python -m bench.train` has run, the playing-cards model it trained (seed 0), whose FP32
and INT8 exports the training program left in its work folder: a model that learned real photos, evaluated here
on the cards' test split (which training never saw). Otherwise the benches' nano model (one epoch of training,
so no meaningful mAP) quantized here the way the training program does, calibrated on the exif photos: speed and
memory are measured, the mAP50 drop is reported as null.

- quantized_speedup: images per second of `session.run` for INT8 over FP32, with the server's ONNX Runtime
  settings, interleaved rounds (target >= 1.6);
- quantized_map50_drop: FP32 test mAP50 minus INT8 test mAP50 (target <= 0.015).
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from authentic.inference.detector import RuntimeOptions, create_session
from authentic.training.container.quantize import calibration_tensors, quantize_int8

REPO = Path(__file__).resolve().parents[1]
CARDS_EXPORT = REPO / "bench" / "out" / "train" / "cards-ml-0" / "work" / "export"
CARDS_MODEL = REPO / "bench" / "out" / "train" / "cards-ml-0" / "model"
CARDS_TEST = REPO / "bench" / "out" / "train" / "cards-test-yolo"
EXIF = REPO.parent / "shared" / "data" / "exif"
ROUNDS = 8
RUNS_PER_ROUND = 15


def quantized_pair(nano_dir: Path, out: Path) -> tuple[Path, Path, str]:
    """(FP32 model, INT8 model, where they come from)."""
    fp32, int8 = CARDS_EXPORT / "model-fp32.onnx", CARDS_EXPORT / "model-int8.onnx"
    if fp32.is_file() and int8.is_file():
        return fp32, int8, "playing cards (bench.train seed 0)"
    target = out / "nano-int8" / "model.onnx"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        import onnxruntime as ort  # noqa: PLC0415

        shape = ort.InferenceSession(str(nano_dir / "model.onnx"), providers=["CPUExecutionProvider"]).get_inputs()
        imgsz = int(shape[0].shape[2])
        photos = sorted(EXIF.glob("*.jpg"))
        quantize_int8(nano_dir / "model.onnx", target, calibration=calibration_tensors(photos, imgsz))
    return nano_dir / "model.onnx", target, "nano model (untrained: mAP not measured)"


def int8_model_dir(nano_dir: Path, int8: Path, out: Path) -> Path:
    """A model directory serving `int8`, with the labels and metrics of the model it was made from (the cards
    artifact's, or the nano model's)."""
    model_dir = CARDS_MODEL if CARDS_EXPORT in int8.parents else nano_dir
    target = out / "int8-model"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("labels.json", "metrics.json"):  # what the server reads beside the model (no report/)
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, target / name)
    shutil.copyfile(int8, target / "model.onnx")
    return target


def session_speedup(fp32: Path, int8: Path, threads: int) -> dict[str, Any]:
    """Images per second of session.run, FP32 and INT8, interleaved so both meet the same load."""
    options = RuntimeOptions(intra_op_threads=threads)
    sessions = {"fp32": create_session(fp32, options), "int8": create_session(int8, options)}
    shape = sessions["fp32"].get_inputs()[0].shape
    batch = np.random.default_rng(0).random(tuple(int(d) for d in shape), dtype=np.float32)
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for session in sessions.values():
        for _ in range(3):
            session.run(None, {session.get_inputs()[0].name: batch})
    for _ in range(ROUNDS):
        for name, session in sessions.items():
            feed = {session.get_inputs()[0].name: batch}
            for _ in range(RUNS_PER_ROUND):
                started = time.perf_counter()
                session.run(None, feed)
                times[name].append(time.perf_counter() - started)
    per_second = {name: 1 / statistics.median(values) for name, values in times.items()}
    return {
        "quantized_speedup": round(per_second["int8"] / per_second["fp32"], 3),
        "fp32_images_per_second": round(per_second["fp32"], 1),
        "int8_images_per_second": round(per_second["int8"], 1),
        "fp32_bytes": fp32.stat().st_size,
        "int8_bytes": int8.stat().st_size,
        "threads": threads,
    }


def map50_drop(fp32: Path, int8: Path, work: Path) -> dict[str, Any]:
    """Test-split mAP50 of both (the cards pair only)."""
    if not (CARDS_TEST / "data.yaml").is_file() or CARDS_EXPORT not in fp32.parents:
        return {"quantized_map50_drop": None, "map50_note": "no trained model: run python -m bench.train first"}
    import json  # noqa: PLC0415

    from authentic.training.container.evaluate import evaluate_model  # noqa: PLC0415

    names = tuple(json.loads((CARDS_TEST / "data.yaml").read_text())["names"].values())
    imgsz = int(create_session(fp32, RuntimeOptions(intra_op_threads=1)).get_inputs()[0].shape[2])
    scores = {}
    for name, model in (("fp32", fp32), ("int8", int8)):
        result = evaluate_model(model, data_yaml=CARDS_TEST / "data.yaml", imgsz=imgsz, work_dir=work / name,
                                names=names)  # fmt: skip
        scores[name] = round(result.map50, 4)
    return {
        "quantized_map50_drop": round(scores["fp32"] - scores["int8"], 4),
        "fp32_test_map50": scores["fp32"],
        "int8_test_map50": scores["int8"],
    }
