"""In-memory fakes of our own ports (`authentic.aws.ports`). Each behaves as the port's contract says, and
`tests/aws/test_contracts.py` runs the same contract against the fake and against the boto3 adapter on moto.

Where moto cannot play the part at all (its training jobs complete at once and it accepts duplicate job names,
which SageMaker refuses), the fake is what the handler tests inject.
"""

from __future__ import annotations

import io
import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import IO, Any, cast

from authentic.aws.ports import (
    BrandPolicy,
    ClassRule,
    Contribution,
    DatasetEntry,
    DatasetSummary,
    GtinChanges,
    GtinCoverage,
    GtinEntry,
    JobEnd,
    JobRecord,
    JobStart,
    LivePointer,
    ObjectInfo,
    ObjectStore,
    Outcome,
    PairRecord,
    PromotionEntry,
    StoredObject,
    TrainingJob,
    UploadKind,
    VersionRecord,
)
from authentic.errors import (
    CategoryConflict,
    ModelNotReady,
    ModelRejectedInput,
    ObjectMissing,
    TrainingJobAlreadyExists,
    TrainingJobMissing,
)

_SEQ_WIDTH = 40


class FakeObjectStore:
    """Versioned buckets in memory; every bucket named in `buckets` exists."""

    def __init__(self, buckets: tuple[str, ...] = ()) -> None:
        self.objects: dict[tuple[str, str], list[tuple[str, bytes, str | None]]] = {}
        self.buckets = set(buckets)
        self._versions = itertools.count(1)
        self._lock = threading.Lock()

    def _bucket(self, bucket: str) -> None:
        if bucket not in self.buckets:
            raise ObjectMissing(f"no bucket {bucket}")

    def _find(self, bucket: str, key: str, version_id: str | None) -> tuple[str, bytes, str | None]:
        self._bucket(bucket)
        versions = self.objects.get((bucket, key), [])
        if version_id is None:
            if versions:
                return versions[-1]
        else:
            for found in versions:
                if found[0] == version_id:
                    return found
        raise ObjectMissing(f"s3://{bucket}/{key}")

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        version, body, content_type = self._find(bucket, key, version_id)
        return ObjectInfo(bucket, key, len(body), version, content_type)

    def get(
        self, bucket: str, key: str, version_id: str | None = None, *, byte_range: str | None = None
    ) -> StoredObject:
        version, body, content_type = self._find(bucket, key, version_id)
        if byte_range:
            first, _, last = byte_range.removeprefix("bytes=").partition("-")
            body = body[int(first) : int(last) + 1 if last else None]
        return StoredObject(ObjectInfo(bucket, key, len(body), version, content_type), body)

    def stream(self, bucket: str, key: str) -> IO[bytes]:
        return io.BytesIO(self.get(bucket, key).body)

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.head(bucket, key)
        except ObjectMissing:
            return False
        return True

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str) -> ObjectInfo:
        self._bucket(bucket)
        with self._lock:
            version = f"v{next(self._versions)}"
            self.objects.setdefault((bucket, key), []).append((version, bytes(body), content_type))
        return ObjectInfo(bucket, key, len(body), version, content_type)

    def put_if_absent(self, bucket: str, key: str, body: bytes, *, content_type: str) -> bool:
        self._bucket(bucket)
        with self._lock:
            if self.objects.get((bucket, key)):
                return False
            self.objects[(bucket, key)] = [(f"v{next(self._versions)}", bytes(body), content_type)]
        return True

    def copy(
        self, source_bucket: str, source_key: str, bucket: str, key: str, *, source_version: str | None = None
    ) -> ObjectInfo:
        _, body, content_type = self._find(source_bucket, source_key, source_version)
        stored = self.put(bucket, key, body, content_type=content_type or "binary/octet-stream")
        return ObjectInfo(bucket, key, -1, stored.version_id)

    def copy_once(self, source_bucket: str, source_key: str, bucket: str, key: str) -> bool:
        with self._lock:
            if self.exists(bucket, key):
                return False
            _, body, content_type = self._find(source_bucket, source_key, None)
            version = f"v{next(self._versions)}"
            self.objects.setdefault((bucket, key), []).append((version, body, content_type))
        return True

    def delete(self, bucket: str, key: str) -> None:
        self._bucket(bucket)
        with self._lock:
            self.objects.pop((bucket, key), None)

    def list_keys(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        self._bucket(bucket)
        return [
            ObjectInfo(bucket, key, len(versions[-1][1]), None)
            for (name, key), versions in sorted(self.objects.items())
            if name == bucket and key.startswith(prefix) and versions
        ]

    def presigned_post(
        self, bucket: str, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        self._bucket(bucket)
        return {
            "url": f"https://{bucket}.s3.amazonaws.com/",
            "fields": {"key": key, "Content-Type": content_type, "policy": f"max={max_bytes};expires={expires_in}"},
        }


class CountingObjectStore:
    """Any object store, with every call it is asked recorded as (method, positional arguments): how many S3
    calls a piece of domain code makes, whatever the data's size."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args))
            return method(*args, **kwargs)

        return counted

    def written(self) -> list[str]:
        """The keys written (put, or copied to), in order."""
        destination = {"put": 1, "put_if_absent": 1, "copy": 3}
        return [str(args[destination[name]]) for name, args in self.calls if name in destination]

    def as_store(self) -> ObjectStore:
        return cast(ObjectStore, self)


class FakeDatasetRecords:
    """The brand's pairs and counters, with the adapter's exactly-once and category rules."""

    def __init__(self) -> None:
        self.pairs_by_key: dict[tuple[str, str], PairRecord] = {}
        self.sequencers: dict[tuple[str, str, str], str] = {}
        self.datasets: dict[str, DatasetSummary] = {}
        self.unscoped: dict[str, str] = {}
        self._lock = threading.Lock()

    def record_arrival(
        self,
        brand_id: str,
        pair_id: str,
        kind: UploadKind,
        *,
        version_id: str | None,
        size: int,
        sequencer: str,
        now: float | None = None,
    ) -> PairRecord:
        stamp = round(now if now is not None else time.time(), 3)
        seq = sequencer.rjust(_SEQ_WIDTH, "0")
        with self._lock:
            pair = self.pairs_by_key.get((brand_id, pair_id)) or PairRecord(brand_id, pair_id)
            recorded = self.sequencers.get((brand_id, pair_id, kind))
            if recorded is not None and recorded > seq:
                return pair
            self.sequencers[(brand_id, pair_id, kind)] = seq
            fields: dict[str, Any] = {
                f"{kind}_version": version_id or "null",
                f"{kind}_size": size,
                f"{kind}_arrived_at": stamp,
            }
            pair = replace(pair, **fields)
            self.pairs_by_key[(brand_id, pair_id)] = pair
            return pair

    def get_pair(self, brand_id: str, pair_id: str) -> PairRecord | None:
        return self.pairs_by_key.get((brand_id, pair_id))

    def commit_outcome(self, brand_id: str, pair_id: str, previous: PairRecord, outcome: Outcome) -> bool:
        with self._lock:
            current = self.pairs_by_key.get((brand_id, pair_id)) or PairRecord(brand_id, pair_id)
            same_upload = (current.image_version, current.annotation_version) == (
                previous.image_version,
                previous.annotation_version,
            )
            if not same_upload:
                return False
            if previous.fingerprint:
                if current.fingerprint != previous.fingerprint or current.fingerprint == outcome.fingerprint:
                    return False
            elif current.fingerprint is not None:
                return False
            dataset = self.datasets.get(brand_id, DatasetSummary())
            clashes = [
                f"class {cid} is {dataset.categories[cid]!r} in this brand's dataset but {name!r} here"
                for cid, name in sorted(outcome.categories.items())
                if cid in dataset.categories and dataset.categories[cid] != name
            ]
            if clashes:
                raise CategoryConflict("; ".join(clashes))
            self.datasets[brand_id] = _moved(dataset, previous.contribution, outcome.contribution, outcome.categories)
            self.pairs_by_key[(brand_id, pair_id)] = replace(
                current,
                status=outcome.status,
                fingerprint=outcome.fingerprint,
                reason=outcome.reason,
                problems=tuple(dict(p) for p in outcome.problems),
                contribution=outcome.contribution,
                files=outcome.files,
                revision=current.revision + 1,
            )
            return True

    def summary(self, brand_id: str) -> DatasetSummary:
        return self.datasets.get(brand_id, DatasetSummary())

    def pairs(self, brand_id: str) -> list[PairRecord]:
        return [pair for (brand, _), pair in sorted(self.pairs_by_key.items()) if brand == brand_id]

    def entries(self, brand_id: str) -> list[DatasetEntry]:
        return [
            DatasetEntry(p.pair_id, p.files.image_key, p.files.annotation_key, dict(p.contribution.class_boxes))
            for p in self.pairs(brand_id)
            if p.status == "accepted"
        ]

    def record_unscoped(self, key: str, reason: str) -> None:
        self.unscoped[key] = reason


def _moved(
    dataset: DatasetSummary, old: Contribution, new: Contribution, categories: Mapping[int, str]
) -> DatasetSummary:
    def add(counts: Mapping[int, int], before: Mapping[int, int], after: Mapping[int, int]) -> dict[int, int]:
        moved = dict(counts)
        for cid in set(before) | set(after):
            moved[cid] = moved.get(cid, 0) + after.get(cid, 0) - before.get(cid, 0)
        return moved

    return DatasetSummary(
        images=dataset.images + new.images - old.images,
        categories={**dataset.categories, **categories},
        class_images=add(dataset.class_images, old.class_images, new.class_images),
        class_boxes=add(dataset.class_boxes, old.class_boxes, new.class_boxes),
    )


class FakeModelRecords:
    """Jobs, versions, the live pointer and policies, with the adapter's ordering and once-only rules."""

    def __init__(self) -> None:
        self.slots: dict[str, str] = {}
        self.jobs: dict[tuple[str, str], JobRecord] = {}
        self.counters: dict[str, int] = {}
        self.versions_by_key: dict[tuple[str, int], VersionRecord] = {}
        self.pointers: dict[str, LivePointer] = {}
        self.policies: dict[str, BrandPolicy] = {}
        self._lock = threading.RLock()

    def acquire_job_slot(self, brand_id: str, job_name: str) -> str:
        with self._lock:
            return self.slots.setdefault(brand_id, job_name)

    def release_job_slot(self, brand_id: str, job_name: str) -> None:
        with self._lock:
            if self.slots.get(brand_id) == job_name:
                del self.slots[brand_id]

    def record_job_start(self, brand_id: str, job_name: str, start: JobStart) -> None:
        with self._lock:
            current = self.jobs.get((brand_id, job_name)) or JobRecord(brand_id, job_name)
            self.jobs[(brand_id, job_name)] = replace(
                current,
                started=True,
                manifest_id=start.manifest_id,
                manifest_key=start.manifest_key,
                state="InProgress",
                created_at=start.created_at,
                counts=dict(start.counts),
                ended=False,
            )

    def job(self, brand_id: str, job_name: str) -> JobRecord | None:
        return self.jobs.get((brand_id, job_name))

    def finish_job(self, brand_id: str, job_name: str, end: JobEnd) -> JobRecord:
        with self._lock:
            current = self.jobs.get((brand_id, job_name)) or JobRecord(brand_id, job_name)
            if current.ended:
                return current
            finished = replace(
                current,
                state=end.state,
                ended=True,
                ended_at=end.ended_at,
                failure_reason=end.failure_reason or current.failure_reason,
                metrics=dict(end.metrics) or current.metrics,
                version=end.version if end.version is not None else current.version,
                gate=dict(end.gate) or current.gate,
            )
            self.jobs[(brand_id, job_name)] = finished
            return finished

    def allocate_version(self, brand_id: str, job_name: str) -> int:
        with self._lock:
            current = self.jobs.get((brand_id, job_name)) or JobRecord(brand_id, job_name)
            if current.version is not None:
                return current.version
            self.counters[brand_id] = self.counters.get(brand_id, 0) + 1
            self.jobs[(brand_id, job_name)] = replace(current, version=self.counters[brand_id])
            return self.counters[brand_id]

    def put_version(self, record: VersionRecord) -> None:
        with self._lock:
            current = self.versions_by_key.get((record.brand_id, record.version))
            promotions = current.promotions if current else ()
            self.versions_by_key[(record.brand_id, record.version)] = replace(record, promotions=promotions)

    def add_promotion(self, brand_id: str, version: int, entry: PromotionEntry) -> None:
        with self._lock:
            current = self.versions_by_key[(brand_id, version)]
            self.versions_by_key[(brand_id, version)] = replace(current, promotions=(*current.promotions, entry))

    def version(self, brand_id: str, version: int) -> VersionRecord | None:
        return self.versions_by_key.get((brand_id, version))

    def versions(self, brand_id: str) -> list[VersionRecord]:
        return [v for (brand, _), v in sorted(self.versions_by_key.items()) if brand == brand_id]

    def live(self, brand_id: str) -> LivePointer | None:
        return self.pointers.get(brand_id)

    def move_live(self, brand_id: str, version: int, live_key: str, reason: str, *, order: float, manual: bool) -> bool:
        with self._lock:
            current = self.pointers.get(brand_id)
            if not manual and current is not None and not current.order < order:
                return False
            self.pointers[brand_id] = LivePointer(version, live_key, reason, order, manual, round(time.time(), 3))
            return True

    def policy(self, brand_id: str) -> BrandPolicy | None:
        return self.policies.get(brand_id)

    def put_policy(self, brand_id: str, classes: Mapping[str, ClassRule], *, barcode: str | None = None) -> None:
        self.policies[brand_id] = BrandPolicy(dict(classes), round(time.time(), 3), barcode)


class FakeGtinRecords:
    """Each brand's registered GTINs, replaced as the adapter does (writes first, then removals)."""

    def __init__(self) -> None:
        self.lists: dict[str, dict[str, GtinEntry]] = {}
        self.lookups: list[tuple[str, tuple[str, ...]]] = []

    def replace(self, brand_id: str, entries: Sequence[GtinEntry]) -> GtinChanges:
        before = self.lists.get(brand_id, {})
        wanted = {e.gtin: e for e in entries}
        added = sum(g not in before for g in wanted)
        changed = sum(g in before and before[g] != e for g, e in wanted.items())
        removed = sum(g not in wanted for g in before)
        self.lists[brand_id] = wanted
        return GtinChanges(added, changed, removed)

    def entries(self, brand_id: str) -> list[GtinEntry]:
        return sorted(self.lists.get(brand_id, {}).values(), key=lambda e: e.gtin)

    def lookup(self, brand_id: str, gtins: Sequence[str]) -> dict[str, GtinEntry]:
        self.lookups.append((brand_id, tuple(gtins)))
        registered = self.lists.get(brand_id, {})
        return {g: registered[g] for g in gtins if g in registered}

    def coverage(self, brand_id: str) -> GtinCoverage:
        return GtinCoverage.of(self.lists.get(brand_id, {}).values())


class FakeTrainingJobs:
    """SageMaker's training-job control plane as our `TrainingLauncher` port sees it."""

    def __init__(self) -> None:
        self.requests: list[Mapping[str, Any]] = []
        self.jobs: dict[str, TrainingJob] = {}
        self._lock = threading.Lock()

    def create(self, request: Mapping[str, Any]) -> str:
        name = str(request["TrainingJobName"])
        with self._lock:
            self.requests.append(request)
            if name in self.jobs:
                raise TrainingJobAlreadyExists(name)
            self.jobs[name] = TrainingJob(
                name=name,
                status="InProgress",
                secondary_status="Starting",
                failure_reason="",
                artifact_uri="",
                created_at=time.time(),
                ended_at=None,
                hyperparameters=dict(request["HyperParameters"]),
                metrics={},
            )
        return f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"

    def describe(self, name: str) -> TrainingJob:
        try:
            return self.jobs[name]
        except KeyError:
            raise TrainingJobMissing(name) from None

    def finish(self, name: str, status: str = "Completed", *, artifact_uri: str = "", reason: str = "") -> TrainingJob:
        job = self.jobs[name]
        ended = replace(
            job,
            status=status,
            secondary_status=status,
            failure_reason=reason,
            artifact_uri=artifact_uri,
            ended_at=time.time(),
            metrics={"epoch": 3.0, "epochs": 3.0, "validation:map50": 0.9},
        )
        self.jobs[name] = ended
        return ended


class FakeEndpoint:
    """A multi-model endpoint that answers each target model with a canned body: a photo it cannot identify
    (no JPEG, PNG or HEIF signature) is refused as the model container would, and queued errors come first."""

    SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"ftyp")

    def __init__(self, answers: Mapping[str, bytes] | None = None) -> None:
        self.answers = dict(answers or {})
        self.errors: list[Exception] = []
        self.calls: list[tuple[str, str, int, str, str]] = []

    def invoke(
        self, endpoint_name: str, target_model: str, body: bytes, content_type: str, *, custom_attributes: str = ""
    ) -> bytes:
        self.calls.append((endpoint_name, target_model, len(body), content_type, custom_attributes))
        if self.errors:
            raise self.errors.pop(0)
        if target_model not in self.answers:
            raise LookupError(f"Could not find model data for {target_model}")
        if not any(signature in body[:16] for signature in self.SIGNATURES):
            raise ModelRejectedInput("the body is not a photo the model can read", status=400)
        return self.answers[target_model]

    def not_ready(self, times: int) -> None:
        """The next `times` calls find the model still loading."""
        self.errors.extend(ModelNotReady("loading") for _ in range(times))
