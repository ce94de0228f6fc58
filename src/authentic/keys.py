"""Where every object lives. Keys are made here and only here; nothing a client sends becomes a path.

uploads bucket (versioned, raw, never changed):
    {brand}/{pair_id}/image            one photo, as uploaded
    {brand}/{pair_id}/annotation.json  its annotation JSON, as uploaded
dataset bucket (versioned):
    {brand}/images/{pair_id}.jpg|.png       the normalised, upright, metadata-free image
    {brand}/annotations/{pair_id}.json      its canonical annotation (seed format, upright pixels)
    {brand}/manifests/{manifest_id}.json    a frozen dataset: exact object versions
    snapshots/{brand}/{manifest_id}/...     the training channel materialised from a manifest
artifacts bucket:
    {brand}/{job_name}/output/model.tar.gz  SageMaker's training output
live-models bucket:
    {brand}/{version}.tar.gz                one never-reused key per promoted version
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

from authentic.errors import InvalidInput

BRAND_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
_BRAND_RE = re.compile(BRAND_ID_PATTERN)
_PAIR_RE = re.compile(r"^[0-9a-f]{32}$")

UploadKind = Literal["image", "annotation"]

IMAGE_NAME = "image"
ANNOTATION_NAME = "annotation.json"


# Top-level key prefixes of the buckets that are not a brand's: a brand of that name would share them.
RESERVED_BRAND_IDS = frozenset({"snapshots"})


def check_brand_id(brand_id: str) -> str:
    """Brand ids are 1-32 lowercase letters, digits and inner hyphens: safe in S3 keys, job names and tags."""
    if not isinstance(brand_id, str) or not _BRAND_RE.fullmatch(brand_id):
        raise InvalidInput(
            f"brandId {brand_id!r} is not valid: use 1-32 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    if brand_id in RESERVED_BRAND_IDS:
        raise InvalidInput(f"brandId {brand_id!r} is reserved (the platform's own key prefix); choose another")
    return brand_id


def new_pair_id() -> str:
    return uuid.uuid4().hex


def is_pair_id(value: str) -> bool:
    return bool(_PAIR_RE.fullmatch(value))


def upload_image_key(brand_id: str, pair_id: str) -> str:
    return f"{brand_id}/{pair_id}/{IMAGE_NAME}"


def upload_annotation_key(brand_id: str, pair_id: str) -> str:
    return f"{brand_id}/{pair_id}/{ANNOTATION_NAME}"


@dataclass(frozen=True)
class UploadKey:
    """A parsed key of the uploads bucket."""

    brand_id: str
    pair_id: str
    kind: UploadKind

    @property
    def image_key(self) -> str:
        return upload_image_key(self.brand_id, self.pair_id)

    @property
    def annotation_key(self) -> str:
        return upload_annotation_key(self.brand_id, self.pair_id)


def parse_upload_key(key: str) -> UploadKey:
    """Parse an uploads-bucket key, refusing anything the upload route would not have made."""
    parts = key.split("/")
    if len(parts) != 3:
        raise InvalidInput(f"key {key!r} is not under a brand's upload prefix ({{brand}}/{{pair}}/{{file}})")
    brand_id, pair_id, name = parts
    check_brand_id(brand_id)
    if not _PAIR_RE.fullmatch(pair_id):
        raise InvalidInput(f"key {key!r} has no valid upload pair id")
    if name == IMAGE_NAME:
        return UploadKey(brand_id, pair_id, "image")
    if name == ANNOTATION_NAME:
        return UploadKey(brand_id, pair_id, "annotation")
    raise InvalidInput(f"key {key!r} is neither an image nor an annotation upload")


def dataset_image_key(brand_id: str, pair_id: str, extension: str) -> str:
    return f"{brand_id}/images/{pair_id}.{extension}"


def dataset_annotation_key(brand_id: str, pair_id: str) -> str:
    return f"{brand_id}/annotations/{pair_id}.json"


def dataset_prefix(brand_id: str) -> str:
    return f"{brand_id}/"


def manifest_key(brand_id: str, manifest_id: str) -> str:
    return f"{brand_id}/manifests/{manifest_id}.json"


def snapshot_prefix(brand_id: str, manifest_id: str) -> str:
    return f"snapshots/{brand_id}/{manifest_id}/"


def live_model_key(brand_id: str, version: int) -> str:
    return f"{brand_id}/v{version:05d}.tar.gz"


# -- the table -----------------------------------------------------------------------------------------------------
# Every item of a brand lives in the partition `BRAND#{brand}` (the adapters in `authentic.aws` write them); the
# verify function's IAM policy is limited to these partitions by `dynamodb:LeadingKeys`.
BRAND_PARTITION_PREFIX = "BRAND#"


def brand_partition(brand_id: str) -> str:
    """The partition key of a brand's items in the table."""
    return f"{BRAND_PARTITION_PREFIX}{brand_id}"
