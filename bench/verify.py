"""Verify latency: the inference server over HTTP against ultralytics predict, on real phone photos.

For every phone photo of at least 8 MP in ../shared/data/exif, in the same run and interleaved:

- project: `POST /models/{name}/invoke` with the JPEG bytes to the inference container's program
  (`containers/inference/serve.py serve`, a subprocess on 127.0.0.1 with the settings it picks for this host),
  timed at the client from the first byte sent to the parsed JSON answer;
- baseline: `YOLO(weights).predict(path, imgsz=320)` on the same nano model (its PyTorch weights, as trained),
  in this process; the same model's ONNX export through `YOLO(model.onnx).predict` is printed beside it;
- floor: `decode_image` (draft + Exif orientation) and `session.run`, as the server timed them, and alone in
  this process with the server's ONNX Runtime settings.

The nano model is trained here (one epoch of yolo11n from its YAML on generated pictures, exported to ONNX at
320 px): speed does not depend on what the weights learned. Figures (medians over photos of per-photo medians
of REPETITIONS runs):

- speedup_vs_ultralytics_median: baseline ms / project ms (target >= 1.5)
- overhead_vs_floor: project end-to-end ms / (decode ms + session.run ms), the two stages as the server timed
  them on the same requests (target <= 1.3); overhead_vs_isolated_floor divides by the two measured alone in
  this process instead
- a stage breakdown from the server's own timings (queue, decode, preprocess, inference, postprocess) and the
  HTTP remainder.

- quantized_speedup and quantized_map50_drop: the INT8 model beside FP32 (`bench.quantized`).

Prints one line per photo, a summary, and as the last line one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw

from authentic.inference.detector import Detector, RuntimeOptions, decode_image, letterbox
from authentic.inference.server import ServerSettings
from authentic.training.container.offline import prepare_offline

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "exif"
OUT = ROOT / "bench" / "out"
SERVER = ROOT / "containers" / "inference" / "serve.py"
IMGSZ = 320
REPETITIONS = 7
SETTLE_SECONDS = 0.03
MIN_PIXELS = 7_500_000  # the 8-12 MP phone photos
RECIPE = "nano-v1-e1-320"


# ------------------------------------------------------------------------------------- the nano model


@dataclass(frozen=True)
class NanoModel:
    weights: Path  # PyTorch weights, for ultralytics
    model_dir: Path  # model.onnx + labels.json + metrics.json, as SageMaker unpacks the artifact


def prepare_ultralytics(config_dir: Path) -> None:
    """`authentic.training.container.offline.prepare_offline`, tolerating the KeyError it raises after setting
    everything up (it asks ultralytics 8.4 for a "hub" setting that version lacks)."""
    with suppress(KeyError):
        prepare_offline(config_dir)


def nano_model() -> NanoModel:
    """A yolo11n detector for two classes, trained one epoch from scratch and exported at 320 px (cached)."""
    home = OUT / f"{RECIPE}-ultralytics-{version('ultralytics')}"
    model = NanoModel(home / "weights.pt", home / "model")
    prepare_ultralytics(OUT / "yolo-config")
    if (model.model_dir / "model.onnx").is_file() and model.weights.is_file():
        return model
    from ultralytics.models.yolo.model import YOLO  # noqa: PLC0415 - only after prepare_ultralytics

    work = OUT / "nano-work"
    shutil.rmtree(work, ignore_errors=True)
    data = _dataset(work / "data")
    print("training the nano model (one epoch from yolo11n.yaml) ...", flush=True)
    trainer = YOLO("yolo11n.yaml")
    trainer.train(
        data=str(data), epochs=1, imgsz=IMGSZ, batch=8, workers=0, device="cpu", amp=False, plots=False,
        val=False, verbose=False, project=str(work / "runs"), name="nano", exist_ok=True, seed=0,
    )  # fmt: skip
    weights = work / "runs" / "nano" / "weights" / "last.pt"
    exported = Path(YOLO(str(weights)).export(format="onnx", imgsz=IMGSZ, dynamic=False, simplify=False))
    model.model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(exported, model.model_dir / "model.onnx")
    shutil.copyfile(weights, model.weights)
    classes = [{"id": 0, "name": "genuine", "role": "genuine"}, {"id": 1, "name": "counterfeit", "role": "counterfeit"}]
    (model.model_dir / "labels.json").write_text(json.dumps({"classes": classes, "imgsz": IMGSZ}))
    (model.model_dir / "metrics.json").write_text(json.dumps({"threshold": 0.25, "map50": 0.0}))
    shutil.rmtree(work, ignore_errors=True)
    return model


def _dataset(root: Path) -> Path:
    rng = random.Random(0)
    for split, count in (("train", 16), ("val", 4)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for index in range(count):
            image = Image.new("RGB", (IMGSZ, IMGSZ), (rng.randint(0, 80),) * 3)
            pen = ImageDraw.Draw(image)
            w, h = rng.randint(60, 160), rng.randint(60, 160)
            x, y, cls = rng.randint(0, IMGSZ - w), rng.randint(0, IMGSZ - h), rng.randint(0, 1)
            (pen.rectangle if cls == 0 else pen.ellipse)([x, y, x + w, y + h], fill=(220, 40, 40))
            image.save(root / "images" / split / f"{index}.jpg")
            (root / "labels" / split / f"{index}.txt").write_text(
                f"{cls} {(x + w / 2) / IMGSZ} {(y + h / 2) / IMGSZ} {w / IMGSZ} {h / IMGSZ}\n"
            )
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: genuine\n  1: counterfeit\n")
    return data


# ---------------------------------------------------------------------------------- the server process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server_process(**environment: str) -> Any:
    """The container's program (`serve.py serve`) on a free port; yields its base URL and process."""
    port = free_port()
    env = {
        **os.environ,
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
        **environment,
    }
    process = subprocess.Popen([sys.executable, str(SERVER), "serve", "--host", "127.0.0.1"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(httpx.TransportError):
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the inference server did not start")
            time.sleep(0.05)
        yield url, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def host_runtime_options() -> tuple[RuntimeOptions, ServerSettings]:
    """The ONNX Runtime options the server picks for this host (same defaults as `ServerSettings.for_host`)."""
    settings = ServerSettings.for_host()
    return RuntimeOptions(intra_op_threads=settings.intra_op_threads), settings


# ------------------------------------------------------------------------------------------ measuring


@dataclass
class PhotoResult:
    name: str
    megapixels: float
    project_ms: float
    baseline_ms: float
    baseline_onnx_ms: float
    decode_ms: float
    run_ms: float
    stages: dict[str, float]
    detections: int

    @property
    def floor_ms(self) -> float:
        """decode + session.run as the server measured them, on the requests timed end to end."""
        return self.stages["decode"] + self.stages["inference"]

    @property
    def isolated_floor_ms(self) -> float:
        """decode + session.run measured here, alone, with the server's ONNX Runtime settings."""
        return self.decode_ms + self.run_ms


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def measure(
    path: Path, http: httpx.Client, name: str, baseline: Any, baseline_onnx: Any, detector: Detector
) -> PhotoResult:
    data = path.read_bytes()
    headers = {"content-type": "image/jpeg"}
    project: list[float] = []
    reference: list[float] = []
    reference_onnx: list[float] = []
    decode: list[float] = []
    run: list[float] = []
    stages: dict[str, list[float]] = {}
    answer: dict[str, Any] = {}
    for repetition in range(REPETITIONS + 1):  # the first round warms caches and is dropped
        # Each measurement starts from a quiet machine: the spinning threads of the previous one (ORT's and
        # torch's in this process) park first.
        time.sleep(SETTLE_SECONDS)
        started = time.perf_counter()
        decoded = decode_image(data, "image/jpeg", fit=detector.input_size)
        decoded_at = time.perf_counter()
        tensor, _ = letterbox(decoded.pixels, detector.input_size)
        run_started = time.perf_counter()
        detector.run(tensor)
        run_elapsed = time.perf_counter() - run_started
        decode_elapsed = decoded_at - started

        time.sleep(SETTLE_SECONDS)
        started = time.perf_counter()
        response = http.post(f"/models/{name}/invoke", content=data, headers=headers)
        answer = response.json()
        elapsed = time.perf_counter() - started
        response.raise_for_status()

        time.sleep(SETTLE_SECONDS)
        started = time.perf_counter()
        baseline.predict(str(path), imgsz=IMGSZ, verbose=False)
        reference_elapsed = time.perf_counter() - started

        time.sleep(SETTLE_SECONDS)
        started = time.perf_counter()
        baseline_onnx.predict(str(path), imgsz=IMGSZ, verbose=False)
        onnx_elapsed = time.perf_counter() - started
        if repetition == 0:
            continue
        project.append(elapsed)
        reference.append(reference_elapsed)
        reference_onnx.append(onnx_elapsed)
        decode.append(decode_elapsed)
        run.append(run_elapsed)
        for stage, value in answer["timings_ms"].items():
            stages.setdefault(stage, []).append(value / 1e3)
    size = answer["image_size"]
    return PhotoResult(
        name=path.name,
        megapixels=size["width"] * size["height"] / 1e6,
        project_ms=_median_ms(project),
        baseline_ms=_median_ms(reference),
        baseline_onnx_ms=_median_ms(reference_onnx),
        decode_ms=_median_ms(decode),
        run_ms=_median_ms(run),
        stages={stage: _median_ms(values) for stage, values in stages.items()},
        detections=len(answer["detections"]),
    )


def _photos() -> list[Path]:
    chosen = []
    for path in sorted(DATA.glob("phone-*.jpg")):
        with Image.open(path) as image:
            if image.width * image.height >= MIN_PIXELS:
                chosen.append(path)
    return chosen


def main() -> int:
    photos = _photos()
    if not photos:
        print(f"no phone photos of 8 MP or more under {DATA}")
        return 1
    started_load = os.getloadavg()[0]  # other jobs on the machine compete for the same cores
    model = nano_model()
    from ultralytics.models.yolo.model import YOLO  # noqa: PLC0415 - only after prepare_ultralytics

    options, settings = host_runtime_options()
    detector = Detector.load(model.model_dir, options)
    baseline = YOLO(str(model.weights), task="detect")
    baseline_onnx = YOLO(str(model.model_dir / "model.onnx"), task="detect")
    print(
        f"{len(photos)} phone photos >= 8 MP; nano model at {IMGSZ} px; server: {settings.workers} workers x "
        f"{settings.intra_op_threads} ONNX Runtime threads; {REPETITIONS} runs each, interleaved",
        flush=True,
    )
    results: list[PhotoResult] = []
    with server_process() as (url, _), httpx.Client(base_url=url, timeout=60) as http:
        loaded = http.post("/models", json={"model_name": "brand-bench", "url": str(model.model_dir)})
        loaded.raise_for_status()
        for path in photos:
            result = measure(path, http, "brand-bench", baseline, baseline_onnx, detector)
            results.append(result)
            s = result.stages
            print(
                f"{result.name:<46} {result.megapixels:4.1f} MP  project {result.project_ms:6.1f} ms  "
                f"ultralytics {result.baseline_ms:6.1f} ms (onnx {result.baseline_onnx_ms:6.1f})  "
                f"speedup {result.baseline_ms / result.project_ms:4.2f}x  floor {result.floor_ms:5.1f} ms "
                f"(alone: decode {result.decode_ms:5.1f} + run {result.run_ms:4.1f})  "
                f"overhead {result.project_ms / result.floor_ms:4.2f}  server: decode {s['decode']:5.1f} "
                f"pre {s['preprocess']:4.1f} infer {s['inference']:4.1f} post {s['postprocess']:4.1f} "
                f"queue {s['queue']:4.1f} total {s['total']:5.1f}",
                flush=True,
            )

    from bench.quantized import map50_drop, quantized_pair, session_speedup  # noqa: PLC0415

    fp32, int8, source = quantized_pair(model.model_dir, OUT)
    quantized = {
        **session_speedup(fp32, int8, settings.intra_op_threads),
        **map50_drop(fp32, int8, OUT / "verify-quantized-eval"),
        "quantized_source": source,
    }
    print(
        f"quantized (int8, {source}): session speedup {quantized['quantized_speedup']}x (target >= 1.6), "
        f"mAP50 drop {quantized['quantized_map50_drop']} (target <= 0.015)",
        flush=True,
    )

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    stage_names = ["queue", "decode", "preprocess", "inference", "postprocess", "total"]
    breakdown = {stage: med([r.stages[stage] for r in results]) for stage in stage_names}
    breakdown["http_and_json"] = med([r.project_ms - r.stages["total"] - r.stages["queue"] for r in results])
    summary = {
        "benchmark": "verify",
        "speedup_vs_ultralytics_median": med([r.baseline_ms / r.project_ms for r in results]),
        "overhead_vs_floor": med([r.project_ms / r.floor_ms for r in results]),
        "project_ms_median": med([r.project_ms for r in results]),
        "ultralytics_ms_median": med([r.baseline_ms for r in results]),
        "ultralytics_onnx_ms_median": med([r.baseline_onnx_ms for r in results]),
        "speedup_vs_ultralytics_onnx_median": med([r.baseline_onnx_ms / r.project_ms for r in results]),
        "overhead_vs_isolated_floor": med([r.project_ms / r.isolated_floor_ms for r in results]),
        "floor_ms_median": med([r.floor_ms for r in results]),
        "isolated_floor_ms_median": med([r.isolated_floor_ms for r in results]),
        "isolated_decode_ms_median": med([r.decode_ms for r in results]),
        "isolated_session_run_ms_median": med([r.run_ms for r in results]),
        "server_stages_ms_median": breakdown,
        **quantized,
        "photos": len(results),
        "repetitions": REPETITIONS,
        "imgsz": IMGSZ,
        "workers": settings.workers,
        "intra_op_threads": settings.intra_op_threads,
        "cpus": os.cpu_count(),
        "load_average_at_start_and_end": [round(started_load, 2), round(os.getloadavg()[0], 2)],
        "targets": {
            "speedup_vs_ultralytics_median": ">= 1.5",
            "overhead_vs_floor": "<= 1.3",
            "quantized_speedup": ">= 1.6",
            "quantized_map50_drop": "<= 0.015",
        },
    }
    print(
        f"\nspeedup vs ultralytics: median {summary['speedup_vs_ultralytics_median']}x (target >= 1.5); "
        f"overhead vs decode + session.run: median {summary['overhead_vs_floor']} (target <= 1.3)"
    )
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
