"""The verify routes' service: photo → the brand's live model on the multi-model endpoint → a verdict, as an
`Answer` that each route shapes for its caller (`authentic.verify.answer`).

Photos are never stored. A body over the `invoke_endpoint` limit is shrunk first; boxes are reported in the
upright photo's own pixels either way. Beside the endpoint call, the barcodes in the photo as it came are read
and checked against the brand's registered GTINs (`barcodes`), and weighed into the verdict under the brand's
barcode setting (`barcode_verdict`).
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image, UnidentifiedImageError

from authentic import keys
from authentic.aws.ports import Endpoint
from authentic.contracts import JPEG, MAX_VERIFY_PHOTO_BYTES, MAX_VERIFY_PIXELS, PHOTO_MEDIA_TYPES
from authentic.errors import (
    ModelNotReady,
    ModelRejectedInput,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from authentic.models.policy import BarcodeMode, LiveModel, Policy
from authentic.settings import Settings
from authentic.verify.answer import Answer
from authentic.verify.barcode_verdict import combine
from authentic.verify.barcodes import BarcodeCheck, Pending
from authentic.verify.shrink import Shrunk, shrink
from authentic.verify.verdict import NO_LIVE_MODEL, PHOTO_UNREADABLE, Verdict, decide, inconclusive

log = logging.getLogger(__name__)


def check_size(body: bytes) -> None:
    """Refuse (413) a photo over the route's byte or pixel limit, from its header, saying how to meet it."""
    advice = "downscale it (1600 px on the long side, as the shopper's page sends, is plenty)"
    if len(body) > MAX_VERIFY_PHOTO_BYTES:
        raise PayloadTooLarge(
            f"the photo is {len(body) / 1e6:.1f} MB; this route reads photos of at most "
            f"{MAX_VERIFY_PHOTO_BYTES / 1e6:.1f} MB: {advice}"
        )
    try:
        with Image.open(io.BytesIO(body)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return  # not a photo Pillow can read: the model's answer says so
    if width * height > MAX_VERIFY_PIXELS:
        raise PayloadTooLarge(
            f"the photo is {width}x{height} ({width * height / 1e6:.1f} megapixels); this route reads at most "
            f"{MAX_VERIFY_PIXELS / 1e6:.1f} megapixels, all a 640 px model can use: {advice}"
        )


@dataclass
class Verify:
    policy: Policy
    endpoint: Endpoint
    settings: Settings
    clock: Any = time.monotonic
    sleep: Any = time.sleep
    barcodes: BarcodeCheck | None = None  # None: no barcode reading
    _live_cache: dict[str, tuple[float, LiveModel | None]] = field(default_factory=dict)
    _mode_cache: dict[str, tuple[float, BarcodeMode]] = field(default_factory=dict)

    def __call__(
        self, brand_id: str, body: bytes, content_type: str | None, *, deadline_seconds: float = 20.0
    ) -> Answer:
        keys.check_brand_id(brand_id)
        media = (content_type or "").split(";")[0].strip().lower()
        if media not in PHOTO_MEDIA_TYPES:
            raise UnsupportedMediaType(
                f"content type {content_type!r} is not a photo this route reads; "
                f"send one of {', '.join(PHOTO_MEDIA_TYPES)}"
            )
        if not body:
            return self._answer(brand_id, None, inconclusive(f"{PHOTO_UNREADABLE}: the body is empty"))
        check_size(body)
        live = self._live(brand_id)
        mode = self._barcode_mode(brand_id)
        pending = self.barcodes.start(brand_id, body, mode) if self.barcodes else None  # the photo as it came
        if live is None:
            return self._weighed(brand_id, None, inconclusive(NO_LIVE_MODEL), pending, after_answer=False)
        shrunk: Shrunk | None = None
        if len(body) > self.settings.invoke_max_bytes:
            try:
                shrunk = shrink(body, self.settings.invoke_max_bytes)
                body, media = shrunk.body, JPEG
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
                return self._weighed(brand_id, live, inconclusive(f"{PHOTO_UNREADABLE}: {exc}"), pending)
        result = self._invoke(live, body, media, deadline_seconds)
        if "error" in result:
            return self._weighed(brand_id, live, inconclusive(f"{PHOTO_UNREADABLE}: {result['error']}"), pending)
        detections = [shrunk.to_original(d) if shrunk else d for d in result.get("detections", [])]
        verdict = decide(detections, live.classes)
        answer = self._weighed(brand_id, live, verdict, pending)
        return replace(
            answer,
            image_size=shrunk.original_size if shrunk else result.get("image_size"),
            timings_ms=result.get("timings_ms") or result.get("timings") or {},
        )

    def _live(self, brand_id: str) -> LiveModel | None:
        now = self.clock()
        cached = self._live_cache.get(brand_id)
        if cached and cached[0] > now:
            return cached[1]
        live = self.policy.live_model(brand_id)
        self._live_cache[brand_id] = (now + self.settings.live_key_cache_seconds, live)
        return live

    def _barcode_mode(self, brand_id: str) -> BarcodeMode:
        now = self.clock()
        cached = self._mode_cache.get(brand_id)
        if cached and cached[0] > now:
            return cached[1]
        mode = self.policy.barcode_mode(brand_id) if self.barcodes else "off"
        self._mode_cache[brand_id] = (now + self.settings.live_key_cache_seconds, mode)
        return mode

    def _weighed(
        self,
        brand_id: str,
        live: LiveModel | None,
        verdict: Verdict,
        pending: Pending | None,
        *,
        after_answer: bool = True,
    ) -> Answer:
        """The answer with the barcodes read in the photo, weighed into the verdict under the brand's setting."""
        if pending is None:
            return self._answer(brand_id, live, verdict)
        found = pending.result(after_answer=after_answer)
        answer = self._answer(brand_id, live, combine(verdict, found, pending.mode))
        return replace(answer, barcodes=tuple(b.to_json() for b in found))

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
            except ModelRejectedInput as exc:
                return {"error": exc.message}

    def _answer(
        self,
        brand_id: str,
        live: LiveModel | None,
        verdict: Verdict,
        *,
        image_size: dict[str, int] | None = None,
        timings_ms: dict[str, Any] | None = None,
    ) -> Answer:
        log.info("verdict", extra={"brand_id": brand_id, "verdict": verdict.verdict, "reason": verdict.reason})
        return Answer(brand_id, live.version if live else None, verdict, image_size, timings_ms)
