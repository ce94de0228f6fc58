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
        scale = 1.0
        if len(body) > self.settings.invoke_max_bytes:
            try:
                body, media, scale = shrink(body, self.settings.invoke_max_bytes)
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
                return self._answer(brand_id, live, inconclusive(f"{PHOTO_UNREADABLE}: {exc}"))
        result = self._invoke(live, body, media, deadline_seconds)
        if "error" in result:
            return self._answer(brand_id, live, inconclusive(f"{PHOTO_UNREADABLE}: {result['error']}"))
        detections = [_rescale(d, scale) for d in result.get("detections", [])]
        verdict = decide(detections, live.classes)
        answer = self._answer(brand_id, live, verdict)
        size = result.get("image_size") or {}
        answer["image_size"] = {k: round(float(v) / scale) for k, v in size.items()} if size else None
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


def shrink(body: bytes, limit: int) -> tuple[bytes, str, float]:
    """Re-encode a too-large photo upright as a JPEG under `limit` bytes; returns (bytes, type, scale)."""
    image = Image.open(io.BytesIO(body))
    full = ImageOps.exif_transpose(image)
    width, height = full.size
    scale = 1.0
    quality = 90
    while True:
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = full.convert("RGB").resize(target, Image.Resampling.BILINEAR) if scale < 1 else full.convert("RGB")
        out = io.BytesIO()
        resized.save(out, "JPEG", quality=quality)
        if out.tell() <= limit:
            return out.getvalue(), "image/jpeg", scale
        scale *= 0.8


def _rescale(detection: dict[str, Any], scale: float) -> dict[str, Any]:
    if scale == 1.0 or "box" not in detection:
        return detection
    box = {k: round(float(v) / scale, 1) for k, v in detection["box"].items()}
    return {**detection, "box": box}


def _model_error_message(exc: ClientError) -> str:
    raw = str(exc.response.get("OriginalMessage") or exc.response.get("Error", {}).get("Message", ""))
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw or "the model could not read the photo"
    return str(parsed.get("message") or parsed.get("error") or raw) if isinstance(parsed, dict) else raw
