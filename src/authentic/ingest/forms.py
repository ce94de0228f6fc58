"""Upload forms: presigned S3 POST forms for image/annotation pairs, keys made by the server."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from authentic import keys
from authentic.aws.ports import ObjectStore
from authentic.contracts import JPEG, PHOTO_MEDIA_TYPES
from authentic.errors import InvalidInput
from authentic.settings import MAX_PAIRS_PER_REQUEST, Settings

ANNOTATION_CONTENT_TYPE = "application/json"


class PairRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: str = JPEG
    name: str | None = Field(None, max_length=255, description="echoed back to match forms to files; never a path")


class UploadRequest(BaseModel):
    """Either `count` pairs of one content type, or one entry per pair in `pairs`."""

    model_config = ConfigDict(extra="forbid")

    # Bounded before anything is built from them (the deployment's own limit, at most this, is checked after).
    count: int | None = Field(None, ge=1, le=MAX_PAIRS_PER_REQUEST)
    content_type: str = JPEG
    pairs: list[PairRequest] | None = Field(None, max_length=MAX_PAIRS_PER_REQUEST)


@dataclass(frozen=True)
class UploadForms:
    store: ObjectStore
    settings: Settings

    def create(self, brand_id: str, body: dict[str, Any] | None) -> dict[str, Any]:
        keys.check_brand_id(brand_id)
        request = _parse(body or {})
        pairs = request.pairs or [PairRequest(content_type=request.content_type, name=None)] * (request.count or 0)
        if not pairs:
            raise InvalidInput("ask for at least one pair: {'count': N} or {'pairs': [...]}")
        if len(pairs) > self.settings.max_pairs_per_request:
            raise InvalidInput(
                f"{len(pairs)} pairs requested; at most {self.settings.max_pairs_per_request} per request"
            )
        for index, pair in enumerate(pairs):
            if pair.content_type not in PHOTO_MEDIA_TYPES:
                raise InvalidInput(
                    f"pair {index}: content type {pair.content_type!r} is not accepted; "
                    f"use one of {', '.join(PHOTO_MEDIA_TYPES)}"
                )
        expires = self.settings.upload_url_seconds
        forms = []
        for pair in pairs:
            pair_id = keys.new_pair_id()
            forms.append(
                {
                    "pair_id": pair_id,
                    "name": pair.name,
                    "image": self.store.presigned_post(
                        self.settings.uploads_bucket,
                        keys.upload_image_key(brand_id, pair_id),
                        content_type=pair.content_type,
                        max_bytes=self.settings.max_image_bytes,
                        expires_in=expires,
                    ),
                    "annotation": self.store.presigned_post(
                        self.settings.uploads_bucket,
                        keys.upload_annotation_key(brand_id, pair_id),
                        content_type=ANNOTATION_CONTENT_TYPE,
                        max_bytes=self.settings.max_annotation_bytes,
                        expires_in=expires,
                    ),
                }
            )
        return {
            "brand_id": brand_id,
            "expires_at": int(time.time()) + expires,
            "limits": {
                "image_bytes": self.settings.max_image_bytes,
                "annotation_bytes": self.settings.max_annotation_bytes,
            },
            "pairs": forms,
        }


def _parse(body: dict[str, Any]) -> UploadRequest:
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    try:
        request = UploadRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(
            "the upload request is invalid: "
            + "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        ) from exc
    if request.count is not None and request.pairs is not None:
        raise InvalidInput("give either 'count' or 'pairs', not both")
    return request
