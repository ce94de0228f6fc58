"""What the verify routes answer. Both call the same service; `Answer.to_json` is the brand's full answer (every
detection with its threshold and whether it counts, near misses included, the reason that names them, timings) and
`public_answer` is the one function that makes the shopper's answer from it: the verdict, a reason without
thresholds or near misses, and only the counting detections with their confidences rounded to two decimals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authentic.verify.verdict import Verdict

PUBLIC_CONFIDENCE_DECIMALS = 2
PUBLIC_DETECTION_FIELDS = ("class_id", "name", "role", "confidence", "box")


@dataclass(frozen=True)
class Answer:
    brand_id: str
    model_version: int | None  # None: the brand has no live model
    verdict: Verdict
    image_size: dict[str, int] | None = None  # the upright photo's size, when the photo was read
    timings_ms: dict[str, Any] | None = None  # the endpoint's own timings
    barcodes: tuple[dict[str, Any], ...] = ()  # every symbol read in the photo (`verify.barcodes`)

    def to_json(self) -> dict[str, Any]:
        """The brand's answer (POST /brands/{brandId}/verify)."""
        answer = {"brand_id": self.brand_id, "model_version": self.model_version, **self.verdict.to_json()}
        answer["barcodes"] = list(self.barcodes)
        answer["image_size"] = self.image_size
        if self.timings_ms is not None:
            answer["timings_ms"] = self.timings_ms
        return answer


def public_answer(answer: Answer) -> dict[str, Any]:
    """The shopper's answer (POST /verify?brand=): what the verdict rests on, nothing that shows how near a miss was."""
    return {
        "brand_id": answer.brand_id,
        "model_version": answer.model_version,
        "verdict": answer.verdict.verdict,
        "reason": answer.verdict.shopper_reason,
        "detections": [_public_detection(d) for d in answer.verdict.detections if d.get("counts")],
        "barcodes": list(answer.barcodes),  # what the shopper's own package carries, read from the photo
        "image_size": answer.image_size,
    }


def _public_detection(detection: dict[str, Any]) -> dict[str, Any]:
    public = {name: detection.get(name) for name in PUBLIC_DETECTION_FIELDS}
    public["confidence"] = round(float(detection["confidence"]), PUBLIC_CONFIDENCE_DECIMALS)
    return public
