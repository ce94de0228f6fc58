"""Honest error rates of the exported model, as shoppers would meet them, and the background check.

The verdict is the verify route's own policy (`authentic.verdict.policy.decide`) applied to what the model finds in each
photo at the threshold the artifact ships. What `decide` needs of a photo is, per class, its best detection's
confidence: a class counts when that reaches its threshold. So each photo is scored once (letterboxed as the
inference server does, best class per anchor as its decoding does), and any threshold can then be tried without
running the model again.

- On the validation split, per photo: truth is `counterfeit` when it shows a counterfeit-role box, `genuine`
  when it shows only genuine-role boxes. False-counterfeit rate: counterfeit answers among genuine photos;
  false-genuine rate: genuine answers among counterfeit photos; inconclusive rate: among all photos with a
  product. Each with its count and a Wilson 95% interval.
- Background check: photos that show none of the brand's products (`backgrounds`); the share answered other
  than inconclusive. `background_threshold` raises the threshold, where needed, until that share is at most the
  bar.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from authentic.verdict.policy import Decision, decide

PAD_VALUE = 114
Z95 = 1.959964
THRESHOLD_STEP = 1e-4  # thresholds are written rounded up to this
MAX_THRESHOLD = 0.99  # a brand policy's threshold must stay below 1


@dataclass(frozen=True)
class Rate:
    count: int
    total: int

    @property
    def rate(self) -> float:
        return self.count / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        low, high = wilson_interval(self.count, self.total)
        return {"rate": round(self.rate, 4), "count": self.count, "total": self.total, "ci95": [low, high]}


def wilson_interval(count: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion; (0, 1) when there is nothing to count."""
    if total <= 0:
        return 0.0, 1.0
    p = count / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


class Scorer:
    """The exported model in onnxruntime: per photo, each class's best confidence (0 when no anchor's best class
    is that class)."""

    def __init__(self, model_path: Path, *, threads: int = 0) -> None:
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime as ort  # noqa: PLC0415

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        shape = self.session.get_inputs()[0].shape
        self.imgsz = (int(shape[2]), int(shape[3]))
        self.input_name = self.session.get_inputs()[0].name

    def class_scores(self, image: Image.Image) -> np.ndarray:
        output = np.asarray(self.session.run(None, {self.input_name: letterbox(image, self.imgsz)})[0])
        scores = output[0, 4:, :]
        best = scores.argmax(axis=0)
        result = np.zeros(scores.shape[0], dtype=np.float64)
        for class_index in np.unique(best):
            result[class_index] = float(scores[class_index, best == class_index].max())
        return result


def letterbox(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """NCHW float32 0-1 input: aspect kept, centred on grey, as the inference server prepares a photo."""
    height, width = size
    ratio = min(height / image.height, width / image.width)
    scaled = (max(round(image.width * ratio), 1), max(round(image.height * ratio), 1))
    resized = image.convert("RGB").resize(scaled, Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (width, height), (PAD_VALUE,) * 3)
    canvas.paste(resized, (round((width - scaled[0]) / 2 - 0.1), round((height - scaled[1]) / 2 - 0.1)))
    return (np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1)[None] / 255.0).astype(np.float32)


def verdict(scores: np.ndarray, classes: Sequence[dict[str, Any]], threshold: float) -> Decision:
    """The verify route's verdict for a photo whose classes scored `scores`, every class at `threshold`."""
    detections = [
        {"class_id": int(c["id"]), "name": c["name"], "confidence": float(scores[int(c["id"])])}
        for c in classes
        if scores[int(c["id"])] > 0
    ]
    policy = [{**c, "threshold": threshold} for c in classes]
    return decide(detections, policy).verdict


@dataclass(frozen=True)
class ScoredPhoto:
    name: str
    scores: np.ndarray  # per class
    truth: str  # "genuine", "counterfeit" or "background"


def truth_of(class_indexes: Iterable[int], classes: Sequence[dict[str, Any]]) -> str:
    roles = {int(c["id"]): c["role"] for c in classes}
    shown = {roles.get(i, "genuine") for i in class_indexes}
    if not shown:
        return "background"
    return "counterfeit" if "counterfeit" in shown else "genuine"


def verdict_rates(photos: Sequence[ScoredPhoto], classes: Sequence[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """False-counterfeit, false-genuine and inconclusive rates over the photos that show a product."""
    genuine = [p for p in photos if p.truth == "genuine"]
    counterfeit = [p for p in photos if p.truth == "counterfeit"]
    answers = {id(p): verdict(p.scores, classes, threshold) for p in [*genuine, *counterfeit]}
    false_counterfeit = Rate(sum(answers[id(p)] == "counterfeit" for p in genuine), len(genuine))
    false_genuine = Rate(sum(answers[id(p)] == "genuine" for p in counterfeit), len(counterfeit))
    inconclusive = Rate(sum(a == "inconclusive" for a in answers.values()), len(answers))
    return {
        "threshold": round(threshold, 4),
        "photos": len(answers),
        "genuine_photos": len(genuine),
        "counterfeit_photos": len(counterfeit),
        "false_counterfeit": false_counterfeit.to_json(),
        "false_genuine": false_genuine.to_json(),
        "inconclusive": inconclusive.to_json(),
    }


def background_rate(photos: Sequence[ScoredPhoto], classes: Sequence[dict[str, Any]], threshold: float) -> Rate:
    """Photos without a product answered other than inconclusive."""
    return Rate(sum(verdict(p.scores, classes, threshold) != "inconclusive" for p in photos), len(photos))


def background_threshold(photos: Sequence[ScoredPhoto], base: float, max_rate: float) -> float:
    """The lowest threshold at or above `base` at which at most `max_rate` of the photos have a class scoring at
    or above it (at most `MAX_THRESHOLD`; the check then reports what is left)."""
    if not photos:
        return base
    best = np.sort(np.array([float(p.scores.max()) if p.scores.size else 0.0 for p in photos]))[::-1]
    allowed = math.floor(max_rate * len(best) + 1e-9)
    if allowed >= len(best) or best[allowed] < base:
        return base
    raised = math.floor(best[allowed] / THRESHOLD_STEP + 1) * THRESHOLD_STEP  # just above the first one not allowed
    return float(min(MAX_THRESHOLD, round(raised, 4)))
