"""The shopper's verify route: photo → the brand's live model on the multi-model endpoint → a verdict.

Photos are never stored. A body over the `invoke_endpoint` limit is shrunk first; boxes are reported in the
upright photo's own pixels either way.
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from PIL import Image, ImageOps, UnidentifiedImageError

from authentic import layout
from authentic.adapters.sagemaker import Endpoint, ModelNotReady
from authentic.errors import DomainError, ServiceUnavailable
from authentic.registry import LiveModel, Registry
from authentic.settings import Settings
from authentic.verdict import NO_LIVE_MODEL, PHOTO_UNREADABLE, Verdict, decide, inconclusive

log = logging.getLogger(__name__)

ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/heic", "image/heif")


class UnsupportedPhoto(DomainError):
    status = 415
    code = "unsupported_media_type"


@dataclass
class Verify:
    registry: Registry
    endpoint: Endpoint
    settings: Settings
    clock: Any = time.monotonic
    sleep: Any = time.sleep
    _live_cache: dict[str, tuple[float, LiveModel | None]] = field(default_factory=dict)

    def __call__(
        self, brand_id: str, body: bytes, content_type: str | None, *, deadline_seconds: float = 20.0
    ) -> dict[str, Any]:
        layout.check_brand_id(brand_id)
        media = (content_type or "").split(";")[0].strip().lower()
        if media not in ACCEPTED_TYPES:
            raise UnsupportedPhoto(
                f"content type {content_type!r} is not a photo this route reads; "
                f"send one of {', '.join(ACCEPTED_TYPES)}"
            )
        if not body:
            return self._answer(brand_id, None, inconclusive(f"{PHOTO_UNREADABLE}: the body is empty"))
        live = self._live(brand_id)
        if live is None:
            return self._answer(brand_id, None, inconclusive(NO_LIVE_MODEL))
        shrunk: Shrunk | None = None
        if len(body) > self.settings.invoke_max_bytes:
            try:
                shrunk = shrink(body, self.settings.invoke_max_bytes)
                body, media = shrunk.body, "image/jpeg"
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
                return self._answer(brand_id, live, inconclusive(f"{PHOTO_UNREADABLE}: {exc}"))
        result = self._invoke(live, body, media, deadline_seconds)
        if "error" in result:
            return self._answer(brand_id, live, inconclusive(f"{PHOTO_UNREADABLE}: {result['error']}"))
        detections = [shrunk.to_original(d) if shrunk else d for d in result.get("detections", [])]
        verdict = decide(detections, live.classes)
        answer = self._answer(brand_id, live, verdict)
        answer["image_size"] = shrunk.original_size if shrunk else result.get("image_size")
        answer["timings_ms"] = result.get("timings_ms") or result.get("timings")
        return answer

    def _live(self, brand_id: str) -> LiveModel | None:
        now = self.clock()
        cached = self._live_cache.get(brand_id)
        if cached and cached[0] > now:
            return cached[1]
        live = self.registry.live_model(brand_id)
        self._live_cache[brand_id] = (now + self.settings.live_key_cache_seconds, live)
        return live

    def _invoke(self, live: LiveModel, body: bytes, media: str, deadline_seconds: float) -> dict[str, Any]:
        """Invoke with TargetModel; a cold model load is retried until the deadline, then 503."""
        started = self.clock()
        delay = 0.5
        while True:
            try:
                payload = self.endpoint.invoke(
                    self.settings.endpoint_name,
                    live.key,
                    body,
                    media,
                    custom_attributes=f"conf={self.settings.detection_floor},max_det={self.settings.max_detections}",
                )
                loaded: dict[str, Any] = json.loads(payload)
                return loaded
            except ModelNotReady:
                remaining = deadline_seconds - (self.clock() - started)
                if remaining <= delay:
                    raise ServiceUnavailable(
                        "the brand's model is loading; try again in a few seconds", retry_after=5
                    ) from None
                self.sleep(delay)
                delay = min(delay * 2, 4.0)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                if error.get("Code") == "ModelError" and int(exc.response.get("OriginalStatusCode", 0) or 0) in (
                    400,
                    413,
                    415,
                ):
                    return {"error": _model_error_message(exc)}
                raise

    def _answer(self, brand_id: str, live: LiveModel | None, verdict: Verdict) -> dict[str, Any]:
        log.info("verdict", extra={"brand_id": brand_id, "verdict": verdict.verdict, "reason": verdict.reason})
        return {"brand_id": brand_id, "model_version": live.version if live else None, **verdict.to_json()}


@dataclass(frozen=True)
class Shrunk:
    """A photo re-encoded smaller for the endpoint, and how to map its boxes back to the original pixels."""

    body: bytes
    original_size: dict[str, int]
    scale_x: float
    scale_y: float

    def to_original(self, detection: dict[str, Any]) -> dict[str, Any]:
        box = detection.get("box")
        if not box:
            return detection
        mapped = {
            "left": round(float(box["left"]) / self.scale_x, 1),
            "top": round(float(box["top"]) / self.scale_y, 1),
            "width": round(float(box["width"]) / self.scale_x, 1),
            "height": round(float(box["height"]) / self.scale_y, 1),
        }
        return {**detection, "box": mapped}


def shrink(body: bytes, limit: int) -> Shrunk:
    """Re-encode a too-large photo upright as a JPEG under `limit` bytes."""
    with Image.open(io.BytesIO(body)) as image:
        image.draft("RGB", (image.width // 2, image.height // 2))  # JPEG: decode at half scale when that is enough
        full = ImageOps.exif_transpose(image).convert("RGB")
    upright = _upright_size(body)
    factor = min(1.0, full.width / upright[0])
    while True:
        target = (max(1, round(upright[0] * factor)), max(1, round(upright[1] * factor)))
        resized = full if target == full.size else full.resize(target, Image.Resampling.BILINEAR)
        out = io.BytesIO()
        resized.save(out, "JPEG", quality=90)
        if out.tell() <= limit:
            return Shrunk(
                out.getvalue(),
                {"width": upright[0], "height": upright[1]},
                target[0] / upright[0],
                target[1] / upright[1],
            )
        factor *= 0.8


def _upright_size(body: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(body)) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _model_error_message(exc: ClientError) -> str:
    raw = str(exc.response.get("OriginalMessage") or exc.response.get("Error", {}).get("Message", ""))
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw or "the model could not read the photo"
    return str(parsed.get("message") or parsed.get("error") or raw) if isinstance(parsed, dict) else raw
