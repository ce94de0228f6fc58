"""Every domain error in one place. The REST layer maps them to status codes in `authentic.api`;
asynchronous handlers let the transient ones raise so retries and the dead-letter queue do their work."""

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


class DatasetNotReady(DomainError):
    """The brand's dataset does not meet the training minimums; details name every problem."""

    status = 422
    code = "dataset_not_ready"


class QualityGateFailed(DomainError):
    status = 409
    code = "quality_gate_failed"


class RejectedFile(DomainError):
    """An uploaded image or annotation that cannot enter the dataset. Not retried: recorded with its reason."""

    status = 422
    code = "rejected"


class ServiceUnavailable(DomainError):
    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
