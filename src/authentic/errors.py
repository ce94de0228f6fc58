"""Every domain error in one place, and the one mapping from an error to an HTTP answer (`http_answer`), which
the REST layer (`authentic.api.rest`) and the inference server both use.

Two kinds live here:
- `DomainError` and its subclasses: a problem the caller can understand and act on. Each carries the HTTP
  status and the stable error code it is answered with; asynchronous handlers let the transient ones raise so
  retries and the dead-letter queue do their work.
- What the adapters of `authentic.aws` raise in place of their SDK's errors (`ObjectMissing`, `ModelNotReady`,
  ...), so no domain module needs to know botocore.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: a problem the caller can understand and act on."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    status = 400
    code = "invalid_input"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class QualityGateFailed(DomainError):
    status = 409
    code = "quality_gate_failed"


class PayloadTooLarge(DomainError):
    """A request body over a limit of the service; the message says the limit and how to meet it."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    """A body of a content type the route does not read."""

    status = 415
    code = "unsupported_media_type"


class DatasetNotReady(DomainError):
    """The brand's dataset does not meet the training minimums; details name every problem."""

    status = 422
    code = "dataset_not_ready"


class UnprocessableEntries(DomainError):
    """A list whose entries are not all valid (GTINs to register); details name every wrong entry."""

    status = 422
    code = "invalid_entries"


class RejectedFile(DomainError):
    """An uploaded image or annotation that cannot enter the dataset. Not retried: recorded with its reason."""

    status = 422
    code = "rejected"


class ImageRejected(RejectedFile):
    """A refused image, with a stable reason code (`authentic.media.rejections.Reason`) to count refusals by; the
    message names what is wrong. `details` stays unset: callers read it as their list of per-box problems."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidImage(InvalidInput):
    """A photo the detector cannot decode."""

    code = "invalid_image"


class ModelArtifactError(InvalidInput):
    """A model directory that is missing a file or holds one that cannot be used."""

    code = "invalid_model"


class TrainingError(DomainError):
    """Training itself failed (not the data): the message is the reason for the failure file."""

    status = 500
    code = "training_failed"


class ServiceUnavailable(DomainError):
    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class InsufficientMemory(DomainError):
    """The model does not fit the memory budget: SageMaker answers by unloading idle models."""

    status = 507
    code = "insufficient_memory"


class FieldError(ValueError):
    """One field of an annotation is missing or has the wrong type or value; the message names the field."""


def http_answer(exc: DomainError) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The HTTP status, headers and JSON body that answer a domain error: the one mapping every REST layer uses."""
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, ServiceUnavailable) else {}
    return exc.status, headers, exc.to_json()


# -- what the adapters raise instead of their SDK's errors --------------------------------------------------


class ObjectMissing(LookupError):
    """The object (or that version of it) does not exist, or this principal may not know whether it does."""


class CategoryConflict(Exception):
    """A class id already has another name in this brand's dataset."""


class RecordRefused(Exception):
    """The table refused a record as invalid (an item over 400 KB, an expression over 4 KB): retrying cannot help."""


class TrainingJobAlreadyExists(Exception):
    """A training job of that name exists already (SageMaker's names are unique per account and region)."""


class TrainingJobMissing(LookupError):
    """No training job of that name."""


class ModelNotReady(Exception):
    """The endpoint is still loading the target model (a cold start): try again shortly."""


class ModelRejectedInput(Exception):
    """The model container refused the photo (unreadable, too large, wrong type); the message says why."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
