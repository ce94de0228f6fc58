"""The ports between the domain and AWS: small `Protocol`s the domain services are typed on, and the typed
records the adapters hand back. The boto3 adapters beside this module implement them; `tests/fakes.py` holds
in-memory fakes, and one contract test per port runs against both.

No storage encoding leaks through a port: the DynamoDB attribute names (`cat_{id}`, `img_c{id}`, ...) and the
S3 error codes are the adapters' business; the domain sees the records below and the errors of
`authentic.errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal, Protocol

from authentic.contracts import JOB_END_STATES
from authentic.keys import UploadKind

__all__ = [
    "BrandPolicy",
    "ClassRule",
    "Contribution",
    "DatasetEntry",
    "DatasetRecords",
    "DatasetSummary",
    "Endpoint",
    "GtinChanges",
    "GtinEntry",
    "GtinRecords",
    "JobEnd",
    "JobRecord",
    "JobStart",
    "LivePointer",
    "ModelRecords",
    "ObjectInfo",
    "ObjectStore",
    "Outcome",
    "PairFiles",
    "PairRecord",
    "PairStatus",
    "PromotionEntry",
    "StoredObject",
    "TrainingJob",
    "TrainingLauncher",
    "UploadKind",
    "VersionRecord",
]

# -- the object store (S3) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    version_id: str | None
    content_type: str | None = None


@dataclass(frozen=True)
class StoredObject:
    info: ObjectInfo
    body: bytes


class ObjectStore(Protocol):
    """Buckets of versioned objects. A missing object or version raises `authentic.errors.ObjectMissing`."""

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo: ...

    def get(
        self, bucket: str, key: str, version_id: str | None = None, *, byte_range: str | None = None
    ) -> StoredObject: ...

    def stream(self, bucket: str, key: str) -> IO[bytes]:
        """A reader over the object's body, for reading only as much as needed."""
        ...

    def exists(self, bucket: str, key: str) -> bool: ...

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str) -> ObjectInfo: ...

    def put_if_absent(self, bucket: str, key: str, body: bytes, *, content_type: str) -> bool:
        """Create the object unless the key exists (S3's conditional write, `If-None-Match: *`), for immutable
        keys; returns whether this call created it. An existing object is left exactly as it is."""
        ...

    def copy(
        self, source_bucket: str, source_key: str, bucket: str, key: str, *, source_version: str | None = None
    ) -> ObjectInfo: ...

    def copy_once(self, source_bucket: str, source_key: str, bucket: str, key: str) -> bool:
        """Copy unless the destination key exists (atomically: a conditional write); whether it copied."""
        ...

    def delete(self, bucket: str, key: str) -> None: ...

    def list_keys(self, bucket: str, prefix: str) -> list[ObjectInfo]: ...

    def presigned_post(
        self, bucket: str, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        """A POST form that can upload exactly this key, with this content type, up to `max_bytes`."""
        ...


# -- dataset records (DynamoDB) ----------------------------------------------------------------------------

PairStatus = Literal["pending", "accepted", "rejected"]


@dataclass(frozen=True)
class Contribution:
    """What an accepted pair adds to the brand's counters."""

    images: int = 0
    class_images: Mapping[int, int] = field(default_factory=dict)
    class_boxes: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PairFiles:
    """Where a processed pair's normalised files are, and what they hold (only `source_file` when rejected).
    Both keys are immutable content-addressed objects (`authentic.keys`): the key pins the bytes, so no object
    version is recorded."""

    source_file: str = ""
    image_key: str = ""
    annotation_key: str = ""
    sha256: str = ""
    width: int = 0
    height: int = 0
    orientation: int = 1
    boxes: int = 0


@dataclass(frozen=True)
class Outcome:
    """The result of processing one pair at one (image version, annotation version)."""

    status: Literal["accepted", "rejected"]
    fingerprint: str
    reason: str = ""
    problems: tuple[Mapping[str, Any], ...] = ()
    contribution: Contribution = field(default_factory=Contribution)
    categories: Mapping[int, str] = field(default_factory=dict)
    files: PairFiles = field(default_factory=PairFiles)


@dataclass(frozen=True)
class PairRecord:
    """One upload pair as recorded: which versions of its two halves arrived, and its outcome."""

    brand_id: str
    pair_id: str
    status: PairStatus = "pending"
    image_version: str | None = None
    annotation_version: str | None = None
    image_size: int = 0
    annotation_size: int = 0
    image_arrived_at: float = 0.0
    annotation_arrived_at: float = 0.0
    fingerprint: str | None = None
    reason: str = ""
    problems: tuple[Mapping[str, Any], ...] = ()
    contribution: Contribution = field(default_factory=Contribution)
    files: PairFiles = field(default_factory=PairFiles)
    revision: int = 0  # outcomes committed so far (the adapter keeps its compact dataset entries with it)

    @property
    def complete(self) -> bool:
        """Both halves have arrived."""
        return self.image_version is not None and self.annotation_version is not None

    def version(self, kind: UploadKind) -> str | None:
        return self.image_version if kind == "image" else self.annotation_version

    def size(self, kind: UploadKind) -> int:
        return self.image_size if kind == "image" else self.annotation_size

    @property
    def last_arrival(self) -> float:
        return max(self.image_arrived_at, self.annotation_arrived_at)


@dataclass(frozen=True)
class DatasetSummary:
    """A brand's dataset counters: images, each class's name (fixed by its first accepted upload), the images
    holding each class and its boxes."""

    images: int = 0
    categories: Mapping[int, str] = field(default_factory=dict)
    class_images: Mapping[int, int] = field(default_factory=dict)
    class_boxes: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetEntry:
    """One accepted pair as a freeze needs it, and no more: its two immutable objects and its boxes per class
    (the classes it holds images of are the keys). Kept apart from the pair records, compact, so that a brand's
    whole dataset is read in one or two queries whatever its size."""

    pair_id: str
    image_key: str
    annotation_key: str
    class_boxes: Mapping[int, int] = field(default_factory=dict)


class DatasetRecords(Protocol):
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
        """Record that one half of a pair arrived; returns the pair as it stands afterwards. An event older
        than what is recorded (by S3's sequencer) does not overwrite the newer arrival."""
        ...

    def get_pair(self, brand_id: str, pair_id: str) -> PairRecord | None: ...

    def commit_outcome(self, brand_id: str, pair_id: str, previous: PairRecord, outcome: Outcome) -> bool:
        """Write a pair's outcome and move the brand's counters by the difference, exactly once. Returns False
        when this outcome (or a newer upload) is already there; raises `CategoryConflict` when a class id
        would get a second name."""
        ...

    def summary(self, brand_id: str) -> DatasetSummary: ...

    def pairs(self, brand_id: str) -> list[PairRecord]: ...

    def entries(self, brand_id: str) -> list[DatasetEntry]:
        """Every accepted pair of the brand, as committed with its outcome (same transaction), by pair id."""
        ...

    def record_unscoped(self, key: str, reason: str) -> None:
        """An object that landed outside any brand's upload prefix."""
        ...


# -- model records (DynamoDB) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStart:
    manifest_id: str
    manifest_key: str
    created_at: float
    counts: Mapping[str, Any]


@dataclass(frozen=True)
class JobEnd:
    state: str  # one of JOB_END_STATES
    ended_at: float
    failure_reason: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    version: int | None = None
    gate: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state not in JOB_END_STATES:
            raise ValueError(f"a job ends in one of {JOB_END_STATES}, not {self.state!r}")


@dataclass(frozen=True)
class JobRecord:
    brand_id: str
    job_name: str
    started: bool = False  # CreateTrainingJob was called for it
    manifest_id: str = ""
    manifest_key: str = ""
    state: str = "InProgress"
    created_at: float | None = None
    counts: Mapping[str, Any] | None = None
    ended: bool = False
    ended_at: float | None = None
    failure_reason: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    version: int | None = None
    gate: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PromotionEntry:
    at: float
    reason: str
    forced: bool


@dataclass(frozen=True)
class VersionRecord:
    brand_id: str
    version: int
    job_name: str
    artifact_uri: str
    live_key: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, Any] = field(default_factory=dict)
    gate: Mapping[str, Any] = field(default_factory=dict)
    job_created_at: float | None = None
    recorded_at: float | None = None
    promotions: tuple[PromotionEntry, ...] = ()

    @property
    def passed(self) -> bool:
        return bool(self.gate.get("passed"))


@dataclass(frozen=True)
class LivePointer:
    version: int
    live_key: str
    reason: str
    order: float
    manual: bool
    moved_at: float


@dataclass(frozen=True)
class ClassRule:
    """A brand's override for one class of its detector: its role, its confidence threshold."""

    role: str | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class BrandPolicy:
    classes: Mapping[str, ClassRule] = field(default_factory=dict)
    updated_at: float | None = None
    barcode: str | None = None  # how barcodes in the photo weigh in the verdict: off, advisory, required


class ModelRecords(Protocol):
    def acquire_job_slot(self, brand_id: str, job_name: str) -> str:
        """Take the brand's one job slot for `job_name`; returns the job that holds it afterwards (`job_name`
        when taken, another job's name when that one holds it)."""
        ...

    def release_job_slot(self, brand_id: str, job_name: str) -> None:
        """Free the slot if `job_name` holds it."""
        ...

    def record_job_start(self, brand_id: str, job_name: str, start: JobStart) -> None: ...

    def job(self, brand_id: str, job_name: str) -> JobRecord | None: ...

    def finish_job(self, brand_id: str, job_name: str, end: JobEnd) -> JobRecord:
        """Record a job's end; a job already recorded as ended keeps its first end. Returns the record."""
        ...

    def allocate_version(self, brand_id: str, job_name: str) -> int:
        """The job's version number: allocated once per job, never reused, safe under duplicate events."""
        ...

    def put_version(self, record: VersionRecord) -> None: ...

    def add_promotion(self, brand_id: str, version: int, entry: PromotionEntry) -> None: ...

    def version(self, brand_id: str, version: int) -> VersionRecord | None: ...

    def versions(self, brand_id: str) -> list[VersionRecord]: ...

    def live(self, brand_id: str) -> LivePointer | None: ...

    def move_live(self, brand_id: str, version: int, live_key: str, reason: str, *, order: float, manual: bool) -> bool:
        """Point the brand at a version. Automatic moves only go forwards (by `order`, the job's creation
        time); a manual promotion always applies and becomes the new floor. Returns whether it moved."""
        ...

    def policy(self, brand_id: str) -> BrandPolicy | None: ...

    def put_policy(self, brand_id: str, classes: Mapping[str, ClassRule], *, barcode: str | None = None) -> None: ...


# -- the brand's registered GTINs (DynamoDB) ----------------------------------------------------------------


@dataclass(frozen=True)
class GtinEntry:
    """One registered GTIN (14 digits), optionally tied to one of the brand's classes (the product it is on)."""

    gtin: str
    class_name: str | None = None


@dataclass(frozen=True)
class GtinCoverage:
    """Which of the brand's products its registered GTINs speak for. A barcode the brand did not register is
    evidence against a product only when the brand registered that product's barcodes: a brand that registered
    none, or none of this class, has not said what its barcodes are."""

    classes: frozenset[str] = frozenset()  # classes with at least one GTIN tied to them
    untied: bool = False  # GTINs registered without a class: they may be any of the brand's products'

    def covers(self, class_name: str | None) -> bool:
        return self.untied or (class_name is not None and class_name in self.classes)

    @classmethod
    def of(cls, entries: Iterable[GtinEntry]) -> GtinCoverage:
        listed = list(entries)
        return cls(frozenset(e.class_name for e in listed if e.class_name), any(e.class_name is None for e in listed))


@dataclass(frozen=True)
class GtinChanges:
    added: int = 0
    changed: int = 0
    removed: int = 0


class GtinRecords(Protocol):
    def replace(self, brand_id: str, entries: Sequence[GtinEntry]) -> GtinChanges:
        """Make the brand's list exactly `entries` (distinct GTINs). New and changed entries are written before
        those no longer listed are removed, so a GTIN in both the old and the new list is never missing."""
        ...

    def entries(self, brand_id: str) -> list[GtinEntry]:
        """The brand's list, by GTIN."""
        ...

    def lookup(self, brand_id: str, gtins: Sequence[str]) -> dict[str, GtinEntry]:
        """Which of `gtins` the brand registered (one read per GTIN: a photo shows one or two)."""
        ...

    def coverage(self, brand_id: str) -> GtinCoverage:
        """Which products the brand's list speaks for (one read), as of its last replacement."""
        ...


# -- SageMaker ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingJob:
    name: str
    status: str  # InProgress | Completed | Failed | Stopping | Stopped
    secondary_status: str
    failure_reason: str
    artifact_uri: str
    created_at: float
    ended_at: float | None
    hyperparameters: Mapping[str, str]
    metrics: Mapping[str, float]

    @property
    def finished(self) -> bool:
        return self.status in JOB_END_STATES


class TrainingLauncher(Protocol):
    def create(self, request: Mapping[str, Any]) -> str:
        """Start a training job (CreateTrainingJob's request); its ARN. An existing name raises
        `TrainingJobAlreadyExists`."""
        ...

    def describe(self, name: str) -> TrainingJob:
        """The job's state; an unknown name raises `TrainingJobMissing`."""
        ...


class Endpoint(Protocol):
    def invoke(
        self, endpoint_name: str, target_model: str, body: bytes, content_type: str, *, custom_attributes: str = ""
    ) -> bytes:
        """The model's answer. A model still loading raises `ModelNotReady`; a photo the model container
        refuses raises `ModelRejectedInput` with its message."""
        ...
