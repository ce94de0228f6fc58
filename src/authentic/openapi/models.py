"""The request and response bodies of the REST API, as pydantic models: the schemas of `docs/openapi.json`.

Request bodies that the handlers already parse with a model (`UploadRequest`, `PolicyRequest`) are those models,
imported from their capability; the others are written here to match the handlers' parsing. Response models
describe what the handlers return; `extra="forbid"` makes an undocumented field fail the API tests, which
validate the handlers' real answers against the document.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from authentic.ingest.forms import PairRequest, UploadRequest
from authentic.models.policy import BarcodeMode, ClassPolicy, PolicyRequest

__all__ = [
    "ClassPolicy",
    "Error",
    "GtinList",
    "GtinsRequest",
    "IngestSummary",
    "ModelsOverview",
    "PairOutcomes",
    "PairRequest",
    "PolicyRequest",
    "PolicyView",
    "PromoteRequest",
    "PublicVerifyAnswer",
    "TrainingJob",
    "TrainingRequest",
    "UploadForms",
    "UploadRequest",
    "VerifyAnswer",
]

Role = Literal["genuine", "counterfeit"]
Verdict = Literal["genuine", "counterfeit", "inconclusive"]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """An object whose documented fields are the stable ones; it may carry more."""

    model_config = ConfigDict(extra="allow")


# -- errors ------------------------------------------------------------------------------------------------------


class Error(Answer):
    """Every error answer. The platform's own errors carry a stable `error` code, a `message` that says what was
    wrong and how to fix it, and sometimes `details`; API Gateway's own answers (403 for a missing or bad
    signature, 429 when throttled, 413 for a body over its limit) carry only `message`."""

    error: str | None = Field(None, description="stable error code, e.g. invalid_input, not_found, unavailable")
    message: str
    details: Any | None = Field(None, description="structured details: the running job for 409, problems for 422")


# -- uploads -----------------------------------------------------------------------------------------------------


class PresignedPost(Answer):
    url: str = Field(description="where to POST the multipart form (the uploads bucket)")
    fields: dict[str, str] = Field(description="form fields to send before the file, exactly as given")


class PairForms(Answer):
    pair_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    name: str | None = Field(description="the name the request gave for this pair, echoed back; never a path")
    image: PresignedPost
    annotation: PresignedPost


class UploadLimits(Answer):
    image_bytes: int
    annotation_bytes: int


class UploadForms(Answer):
    brand_id: str
    expires_at: int = Field(description="Unix time when the forms stop working")
    limits: UploadLimits
    pairs: list[PairForms]


class ClassCount(Answer):
    class_id: int
    name: str
    images: int
    boxes: int


class PairProblem(Answer):
    file: str
    box: int | None = Field(description="the index of the box in the annotation, or null for the whole file")
    reason: str


class PairReport(Answer):
    pair_id: str
    status: Literal["accepted", "rejected", "pending", "stale"]
    file: str | None = Field(None, description="the photo's file name as the brand named it")
    reason: str | None = Field(None, description="why the pair was rejected")
    problems: list[PairProblem] | None = Field(None, description="boxes dropped from an accepted or rejected pair")
    missing: Literal["image", "annotation"] | None = Field(None, description="what a pending or stale pair waits for")


class PairOutcome(Answer):
    pair_id: str
    status: Literal["unknown", "accepted", "rejected", "pending", "stale"] = Field(
        description="unknown while neither of the pair's files has been ingested yet; else as in the summary"
    )
    file: str | None = Field(None, description="the photo's file name as the brand named it")
    reason: str | None = Field(None, description="why the pair was rejected")
    problems: list[PairProblem] | None = Field(None, description="boxes dropped from an accepted or rejected pair")
    missing: Literal["image", "annotation"] | None = Field(None, description="what a pending or stale pair waits for")


class PairOutcomes(Answer):
    """The outcome of each pair named in `?pairs=` (what an uploader waits on), in the order asked."""

    brand_id: str
    pairs: list[PairOutcome]


class IngestSummary(Answer):
    brand_id: str
    images: int = Field(description="accepted images in the dataset")
    classes: list[ClassCount]
    counts: dict[str, int] = Field(description="pairs per status: accepted, rejected, pending, stale")
    rejected: list[PairReport]
    pending: list[PairReport]
    stale: list[PairReport]
    accepted_with_problems: list[PairReport]


# -- training and models -----------------------------------------------------------------------------------------


class TrainingRequest(Answer):
    hyperparameters: dict[str, str | int | float] = Field(
        default_factory=dict,
        description="training overrides, e.g. epochs, imgsz, batch, model (see docs/training.md); values are "
        "passed to the job as strings and checked by the training program",
    )


class Progress(Answer):
    epoch: int
    epochs: int | None
    map50: float | None


class Metrics(Open):
    map50: float | None = None
    map50_95: float | None = None
    precision: float | None = None
    recall: float | None = None
    threshold: float | None = Field(None, description="the confidence threshold chosen on validation")


class GateCheck(Answer):
    name: str = Field(description="map50, or an error rate the deployment set a bar for")
    value: float | None = Field(description="the measured figure; null when the model did not measure it")
    bar: float
    passed: bool


class WeakClass(Answer):
    name: str
    map50: float = Field(description="the class's validation AP50")
    train_images: int
    val_images: int


class GateAdvice(Answer):
    weakest_classes: list[WeakClass]
    suggestions: list[str] = Field(description="what to do, most useful first")
    suggestion: str = Field(description="the suggestions in one sentence")


class Gate(Answer):
    passed: bool
    map50: float
    bar: float
    reason: str
    checks: list[GateCheck] | None = Field(
        None, description="each bar checked (versions trained before 2026-12-01 lack it)"
    )
    advice: GateAdvice | None = Field(None, description="when the gate says no: the weakest classes and what to do")


class TrainingJob(Answer):
    job_name: str
    brand_id: str
    manifest_key: str | None = Field(description="the frozen dataset the job trains on")
    state: str = Field(description="InProgress, Completed, Failed, Stopping or Stopped")
    counts: dict[str, Any] = Field(description="images, and images and boxes per class, in the frozen dataset")
    secondary_status: str | None = Field(None, description="SageMaker's secondary status, e.g. Training")
    progress: Progress | None = None
    failure_reason: str | None = None
    metrics: Metrics | None = None
    version: int | None = Field(None, description="the model version the job became, once it completed")
    gate: Gate | None = None


class PromoteRequest(Answer):
    force: bool = Field(False, description="promote a version that failed the quality gate")
    reason: str = Field("", max_length=1000, description="recorded with the promotion")


class Promotion(Answer):
    at: float
    reason: str
    forced: bool


class LivePointer(Answer):
    version: int
    live_key: str
    reason: str
    moved_at: float
    manual: bool


class ModelVersion(Answer):
    version: int
    job_name: str | None
    metrics: Metrics
    gate: Gate
    live: bool
    promotions: list[Promotion]


class ModelsOverview(Answer):
    brand_id: str
    live: LivePointer | None
    versions: list[ModelVersion]


class EffectiveClass(Answer):
    id: int
    name: str
    role: Role
    threshold: float
    source: Literal["policy", "model"]


class PolicyView(Answer):
    brand_id: str
    classes: dict[str, ClassPolicy] = Field(description="what the brand set, by class name")
    barcode: BarcodeMode = Field(
        description="how barcodes read in a photo weigh in the verdict: off, advisory (the default) or required"
    )
    effective: list[EffectiveClass] = Field(description="what the verdict applies: the live model's classes")
    live_version: int | None


# -- GTINs ------------------------------------------------------------------------------------------------------


class GtinEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    gtin: str = Field(description="8, 12, 13 or 14 digits with a valid GS1 check digit")
    class_: str | None = Field(None, alias="class", description="the brand's class the GTIN is printed on")
    format: Literal["UPC-E"] | None = Field(None, description="UPC-E: the 8 digits are a zero-suppressed UPC-A")


class GtinsRequest(BaseModel):
    """A PUT of the brand's GTINs: the list replaces what is registered."""

    model_config = ConfigDict(extra="forbid")

    gtins: list[str | GtinEntry] = Field(description="at most 10,000 (more is a 413, as is a body over 2 MB)")


class RegisteredGtin(Answer):
    gtin: str = Field(pattern=r"^[0-9]{14}$", description="as GTIN-14")
    class_: str | None = Field(alias="class", description="the class it is printed on, or null for any")


class GtinList(Answer):
    brand_id: str
    count: int
    gtins: list[RegisteredGtin]
    added: int | None = Field(None, description="after a PUT: GTINs new to the list")
    changed: int | None = Field(None, description="after a PUT: GTINs whose class changed")
    removed: int | None = Field(None, description="after a PUT: GTINs no longer registered")


# -- verify ------------------------------------------------------------------------------------------------------


class Box(Answer):
    left: float
    top: float
    width: float
    height: float


class ImageSize(Answer):
    width: int
    height: int


class Detection(Answer):
    class_id: int
    name: str
    role: Role
    confidence: float = Field(ge=0, le=1)
    box: Box = Field(description="in the pixels of the upright photo (its Exif orientation applied)")
    box_normalized: Box = Field(description="the same box as fractions of the upright photo's width and height")
    threshold: float = Field(description="the class's confidence threshold under the brand's policy")
    counts: bool = Field(description="whether the detection reached its threshold and counts for the verdict")


class Barcode(Answer):
    format: str = Field(description="EAN-13, EAN-8, UPC-A, UPC-E, DataMatrix or QRCode")
    text: str = Field(description="what the symbol encodes")
    gtin: str | None = Field(description="the GTIN-14 it carries, when it carries one")
    check_digit_ok: bool | None = Field(description="whether the GTIN's check digit is right")
    registered: bool = Field(description="whether the GTIN is one of the brand's registered GTINs")
    class_: str | None = Field(alias="class", description="the class the GTIN is registered to")
    box: Box = Field(description="in the pixels of the upright photo")
    confirmed: bool = Field(description="a second, independent reading agreed")


class PublicDetection(Answer):
    class_id: int
    name: str
    role: Role
    confidence: float = Field(ge=0, le=1, description="rounded to two decimals")
    box: Box = Field(description="in the pixels of the upright photo (its Exif orientation applied)")


class PublicVerifyAnswer(Answer):
    """The shopper's answer: the verdict, the reason in words, and only the detections the verdict rests on."""

    brand_id: str
    model_version: int | None = Field(description="the brand's live model version, null when none is live")
    verdict: Verdict
    reason: str = Field(description="why, in words, without thresholds or near misses")
    detections: list[PublicDetection] = Field(description="the detections that count for the verdict")
    barcodes: list[Barcode] = Field(description="the barcodes read in the photo")
    image_size: ImageSize | None = Field(description="the upright photo's size, when it was read")


class VerifyAnswer(Answer):
    """The brand's answer: every detection with its threshold and whether it counts, near misses included."""

    brand_id: str
    model_version: int | None = Field(description="the brand's live model version, null when none is live")
    verdict: Verdict
    reason: str = Field(description="why, in words: what was detected, or why nothing could be decided")
    detections: list[Detection]
    barcodes: list[Barcode] = Field(description="the barcodes read in the photo, each weighed into the verdict")
    image_size: ImageSize | None = Field(None, description="the upright photo's size, when it was read")
    timings_ms: dict[str, float] | None = Field(None, description="time spent per stage on the model's side")
