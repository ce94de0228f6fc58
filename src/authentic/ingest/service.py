"""Ingest: an uploaded photo and its annotation become a clean, upright, metadata-free training example,
or a rejected record with a reason. The raw upload is never changed.

Whichever half of a pair arrives second triggers processing. Processing is idempotent: outputs are immutable
objects named by the SHA-256 of their bytes (written only if absent, never overwritten, never deleted: pairs
that uploaded the same photo share its object, and every frozen dataset stays readable), and the outcome is
committed together with the brand's counters in one conditional transaction, so a duplicate or racing event
never counts twice. A pair rejected after it was accepted leaves the dataset by its record alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authentic import keys
from authentic.annotations.checks import check_annotation
from authentic.annotations.model import Annotation, Category, Problem
from authentic.annotations.seed import parse_seed
from authentic.aws.ports import Contribution, DatasetRecords, ObjectStore, Outcome, PairFiles, PairRecord, UploadKind
from authentic.contracts import MAX_CLASSES_PER_BRAND
from authentic.errors import CategoryConflict, InvalidInput, ObjectMissing, RecordRefused, RejectedFile
from authentic.media.normalise import normalise_image
from authentic.settings import Settings

log = logging.getLogger(__name__)

# What a pair's record keeps (DynamoDB items hold 400 KB; an upload's file names and reasons are unbounded).
MAX_NAME_CHARS = 255
MAX_REASON_CHARS = 1000
MAX_PROBLEMS = 100


@dataclass(frozen=True)
class ObjectCreated:
    """One S3 object-created notification, as much of it as ingest needs."""

    bucket: str
    key: str
    size: int
    version_id: str | None
    sequencer: str


@dataclass(frozen=True)
class Ingest:
    store: ObjectStore
    records: DatasetRecords
    settings: Settings

    def object_created(self, event: ObjectCreated) -> str:
        """Handle one notification; returns what happened ("pending", "accepted", "rejected", ...)."""
        if event.bucket != self.settings.uploads_bucket:
            log.warning("ignoring a notification for bucket %s", event.bucket)
            return "ignored"
        try:
            upload = keys.parse_upload_key(event.key)
        except InvalidInput as exc:
            self.records.record_unscoped(event.key, exc.message)
            log.warning("rejected an object outside any brand's upload prefix", extra={"key": event.key})
            return "unscoped"
        pair = self.records.record_arrival(
            upload.brand_id,
            upload.pair_id,
            upload.kind,
            version_id=event.version_id,
            size=event.size,
            sequencer=event.sequencer,
        )
        if not pair.complete:
            return "pending"
        return self.process_pair(upload.brand_id, upload.pair_id, pair)

    def process_pair(self, brand_id: str, pair_id: str, pair: PairRecord) -> str:
        fingerprint = f"{pair.image_version}|{pair.annotation_version}"
        if pair.fingerprint == fingerprint:
            return "duplicate"
        outcome = self._evaluate(brand_id, pair_id, pair, fingerprint)
        try:
            committed = self.records.commit_outcome(brand_id, pair_id, pair, outcome)
        except (CategoryConflict, RecordRefused) as exc:
            # Not retried: recorded as the pair's rejection with its reason (a retry could not succeed).
            reason = str(exc) if isinstance(exc, CategoryConflict) else f"the pair's record was refused: {exc}"
            outcome = _rejected(fingerprint, reason, source=outcome.files.source_file or pair_id)
            committed = self.records.commit_outcome(brand_id, pair_id, pair, outcome)
        if not committed:
            return "duplicate"
        log.info(
            "pair processed",
            extra={
                "brand_id": brand_id,
                "pair_id": pair_id,
                "status": outcome.status,
                "reason": outcome.reason,
            },
        )
        return outcome.status

    # -- evaluation -----------------------------------------------------------------------------------------
    def _evaluate(self, brand_id: str, pair_id: str, pair: PairRecord, fingerprint: str) -> Outcome:
        upload = keys.UploadKey(brand_id, pair_id, "image")
        source = f"upload {pair_id}"
        try:
            limit = self.settings.max_annotation_bytes
            annotation_bytes = self._fetch(upload.annotation_key, pair, "annotation", limit)
            annotation = parse_seed(annotation_bytes, source=source)
            source = annotation.file or source
            image_bytes = self._fetch(upload.image_key, pair, "image", self.settings.max_image_bytes)
            image = normalise_image(
                image_bytes, max_bytes=self.settings.max_image_bytes, max_pixels=self.settings.max_pixels
            )
            categories = self._categories(brand_id, annotation, source)
            annotation = dataclasses.replace(annotation, categories=categories)
            checked = check_annotation(
                annotation, stored=image.stored_size, orientation=image.orientation, source=source
            )
        except RejectedFile as exc:
            return _rejected(fingerprint, exc.message, source=source, problems=exc.details)
        image_key = keys.dataset_object_key(brand_id, image.sha256, image.extension)
        canonical = Annotation(
            file=image_key.rsplit("/", 1)[-1],  # the object it annotates
            size=image.size,
            boxes=checked.annotation.boxes,
            categories=categories,
        )
        self.store.put_if_absent(self.settings.dataset_bucket, image_key, image.data, content_type=image.content_type)
        document = canonical.to_seed_json() | {
            "source": {
                "file": annotation.file,
                "image_version": pair.image_version,
                "annotation_version": pair.annotation_version,
                "orientation": image.orientation,
                "lossless": image.lossless,
            },
            "sha256": image.sha256,
        }
        body = json.dumps(document, sort_keys=True).encode()
        annotation_key = keys.dataset_object_key(brand_id, hashlib.sha256(body).hexdigest(), keys.ANNOTATION_EXTENSION)
        self.store.put_if_absent(self.settings.dataset_bucket, annotation_key, body, content_type="application/json")
        boxes_per_class = Counter(b.class_id for b in canonical.boxes)
        return Outcome(
            status="accepted",
            fingerprint=fingerprint,
            problems=_bounded(tuple(p.to_json() for p in checked.problems)),
            contribution=Contribution(
                images=1,
                class_images={cid: 1 for cid in boxes_per_class},
                class_boxes=dict(boxes_per_class),
            ),
            categories={c.class_id: c.name for c in categories},
            files=PairFiles(
                source_file=_clip(source, MAX_NAME_CHARS),
                image_key=image_key,
                annotation_key=annotation_key,
                sha256=image.sha256,
                width=image.size.width,
                height=image.size.height,
                orientation=image.orientation,
                boxes=len(canonical.boxes),
            ),
        )

    def _fetch(self, key: str, pair: PairRecord, kind: UploadKind, limit: int) -> bytes:
        size = pair.size(kind)
        if size > limit:
            raise RejectedFile(f"the {kind} is {_mb(size)}; the limit is {_mb(limit)}")
        if size == 0:
            raise RejectedFile(f"the {kind} file is empty")
        version = pair.version(kind)
        try:
            return self.store.get(
                self.settings.uploads_bucket, key, None if version in (None, "null") else version
            ).body
        except ObjectMissing as exc:
            raise RejectedFile(f"the {kind} upload is no longer in the uploads bucket") from exc

    def _categories(self, brand_id: str, annotation: Annotation, source: str) -> tuple[Category, ...]:
        if len(annotation.categories) > MAX_CLASSES_PER_BRAND:
            raise RejectedFile(
                f"{source}: names {len(annotation.categories)} classes; a brand may have at most "
                f"{MAX_CLASSES_PER_BRAND} (its class counters are updated in one DynamoDB write, whose condition "
                "expression holds 4 KB)"
            )
        if annotation.categories:
            return annotation.categories
        known = self.records.summary(brand_id).categories
        if not known:
            raise RejectedFile(
                f"{source}: the annotation has no 'categories' and the brand has no known classes yet; "
                "name the classes in the first uploads"
            )
        return tuple(Category(cid, name) for cid, name in sorted(known.items()))


def _rejected(fingerprint: str, reason: str, *, source: str, problems: Any = None) -> Outcome:
    listed = tuple(p.to_json() if isinstance(p, Problem) else dict(p) for p in problems or ())
    return Outcome(
        status="rejected",
        fingerprint=fingerprint,
        reason=_clip(reason, MAX_REASON_CHARS),
        problems=_bounded(listed or ({"file": source, "box": None, "reason": reason},)),
        files=PairFiles(source_file=_clip(source, MAX_NAME_CHARS)),
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bounded(problems: tuple[Mapping[str, Any], ...]) -> tuple[Mapping[str, Any], ...]:
    """Problems as the pair's record keeps them: at most MAX_PROBLEMS, each with a bounded file name and
    reason, so the record stays far below DynamoDB's 400 KB item limit whatever the upload says."""
    kept = [
        {**p, "file": _clip(str(p.get("file", "")), MAX_NAME_CHARS), "reason": _clip(str(p.get("reason", "")), 300)}
        for p in problems[:MAX_PROBLEMS]
    ]
    if len(problems) > MAX_PROBLEMS:
        kept.append({"file": kept[0]["file"], "box": None, "reason": f"and {len(problems) - MAX_PROBLEMS} more"})
    return tuple(kept)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
