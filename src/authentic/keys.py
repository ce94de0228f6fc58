"""Where every object lives. Keys are made here and only here; nothing a client sends becomes a path.

uploads bucket (versioned, raw, never changed):
    {brand}/{pair_id}/image            one photo, as uploaded
    {brand}/{pair_id}/annotation.json  its annotation JSON, as uploaded
dataset bucket (versioned), one prefix per brand, which is also the training channel's root:
    {brand}/objects/{sha256}.jpg|.png       a normalised, upright, metadata-free image, named by the SHA-256 of
                                            its bytes: written once (create-if-absent), never overwritten or
                                            deleted, shared by every pair that uploaded the same photo
    {brand}/objects/{sha256}.json           a canonical annotation (seed format, upright pixels), likewise
    {brand}/manifests/{manifest_id}.json    a frozen dataset (`authentic.training.manifest`): the exact objects
    {brand}/manifests/{manifest_id}.channel.json
                                            the same list as SageMaker's ManifestFile: the training channel
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


OBJECTS = "objects"  # the brand's immutable, content-addressed objects (images and annotations)
MANIFESTS = "manifests"  # the brand's frozen datasets
ANNOTATION_EXTENSION = "json"
_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


def dataset_prefix(brand_id: str) -> str:
    """The brand's prefix of the dataset bucket: the root its object paths and the training channel are
    relative to."""
    return f"{brand_id}/"


def object_path(sha256: str, extension: str) -> str:
    """An immutable object's path relative to its brand's prefix, and in the training channel."""
    if not _DIGEST_RE.fullmatch(sha256):
        raise ValueError(f"an object is named by a lowercase hex SHA-256, not {sha256!r}")
    return f"{OBJECTS}/{sha256}.{extension}"


def dataset_object_key(brand_id: str, sha256: str, extension: str) -> str:
    return dataset_prefix(brand_id) + object_path(sha256, extension)


def object_digest(path: str) -> str:
    """The SHA-256 an object's key or path names (its content's)."""
    name = path.rsplit("/", 1)[-1].split(".", 1)[0]
    if not _DIGEST_RE.fullmatch(name):
        raise ValueError(f"{path!r} is not a content-addressed object")
    return name


def manifest_path(manifest_id: str) -> str:
    """The frozen dataset's path relative to its brand's prefix, and in the training channel."""
    return f"{MANIFESTS}/{manifest_id}.json"


def manifest_key(brand_id: str, manifest_id: str) -> str:
    return dataset_prefix(brand_id) + manifest_path(manifest_id)


def channel_manifest_key(brand_id: str, manifest_id: str) -> str:
    """SageMaker's ManifestFile for the frozen dataset (not itself part of the channel)."""
    return f"{dataset_prefix(brand_id)}{MANIFESTS}/{manifest_id}.channel.json"


def relative_to_brand(brand_id: str, key: str) -> str:
    """A dataset key as a path relative to its brand's prefix (and in the training channel)."""
    prefix = dataset_prefix(brand_id)
    if not key.startswith(prefix):
        raise ValueError(f"{key!r} is not under brand {brand_id!r}'s prefix")
    return key[len(prefix) :]


def live_model_key(brand_id: str, version: int) -> str:
    return f"{brand_id}/v{version:05d}.tar.gz"


# -- the table -----------------------------------------------------------------------------------------------------
# Every item of a brand lives in the partition `BRAND#{brand}` (the adapters in `authentic.aws` write them); the
# verify function's IAM policy is limited to these partitions by `dynamodb:LeadingKeys`.
BRAND_PARTITION_PREFIX = "BRAND#"


def brand_partition(brand_id: str) -> str:
    """The partition key of a brand's items in the table."""
    return f"{BRAND_PARTITION_PREFIX}{brand_id}"
