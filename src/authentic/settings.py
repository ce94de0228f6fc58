"""Settings: one validated model, read from the environment when a handler first runs (never at import): each
handler built by a `create_handler()` reads them once, on its first invocation."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from authentic.contracts import MAX_PHOTO_PIXELS
from authentic.errors import InvalidInput

MB = 1024 * 1024

# Deployment defaults: `Settings` below, the CDK app's `stacks.config.AppConfig` and `cdk.json` start from these.
JOB_PREFIX = "authentic"
MAX_IMAGE_BYTES = 25 * MB
MAX_ANNOTATION_BYTES = 1 * MB
PAIR_STALE_SECONDS = 24 * 3600
MIN_IMAGES_PER_CLASS = 10
QUALITY_GATE_MAP50 = 0.5
# The gate's bars on the verdict's error rates (metrics.json, validation split and background check); 1.0: no bar.
QUALITY_GATE_MAX_FALSE_COUNTERFEIT_RATE = 1.0
QUALITY_GATE_MAX_FALSE_GENUINE_RATE = 1.0
QUALITY_GATE_MAX_INCONCLUSIVE_RATE = 1.0
QUALITY_GATE_MAX_BACKGROUND_RATE = 1.0
TRAINING_INSTANCE_TYPE = "ml.g6.xlarge"  # one NVIDIA L4 (24 GB): a current single-GPU training instance
TRAINING_VOLUME_GB = 30
TRAINING_MAX_SECONDS = 4 * 3600
TRAINING_USE_SPOT = False
TRAINING_MAX_WAIT_SECONDS = 8 * 3600  # managed spot only: waiting plus running, at least the runtime
MAX_PAIRS_PER_REQUEST = 1000  # upload forms one request may ask for (a deployment may set fewer)


class Settings(BaseModel):
    """Everything a handler needs to know about its deployment. Environment names are the upper-case fields."""

    model_config = ConfigDict(frozen=True)

    uploads_bucket: str
    dataset_bucket: str
    artifacts_bucket: str = ""
    live_bucket: str = ""
    table_name: str
    max_image_bytes: int = Field(MAX_IMAGE_BYTES, gt=0)
    max_annotation_bytes: int = Field(MAX_ANNOTATION_BYTES, gt=0)
    max_pixels: int = Field(MAX_PHOTO_PIXELS, gt=0)
    max_pairs_per_request: int = Field(100, gt=0, le=MAX_PAIRS_PER_REQUEST)
    upload_url_seconds: int = Field(900, gt=0, le=7 * 24 * 3600)
    pair_stale_seconds: int = Field(PAIR_STALE_SECONDS, gt=0)
    # Training orchestration.
    min_images_per_class: int = Field(MIN_IMAGES_PER_CLASS, gt=0)
    min_classes: int = Field(1, gt=0)
    job_prefix: str = JOB_PREFIX
    training_image_uri: str = ""
    training_role_arn: str = ""
    training_instance_type: str = TRAINING_INSTANCE_TYPE
    training_volume_gb: int = Field(TRAINING_VOLUME_GB, gt=0)
    training_max_seconds: int = Field(TRAINING_MAX_SECONDS, gt=0)
    training_use_spot: bool = TRAINING_USE_SPOT
    training_max_wait_seconds: int = Field(TRAINING_MAX_WAIT_SECONDS, gt=0)
    quality_gate_map50: float = Field(QUALITY_GATE_MAP50, ge=0, le=1)
    quality_gate_max_false_counterfeit_rate: float = Field(QUALITY_GATE_MAX_FALSE_COUNTERFEIT_RATE, ge=0, le=1)
    quality_gate_max_false_genuine_rate: float = Field(QUALITY_GATE_MAX_FALSE_GENUINE_RATE, ge=0, le=1)
    quality_gate_max_inconclusive_rate: float = Field(QUALITY_GATE_MAX_INCONCLUSIVE_RATE, ge=0, le=1)
    quality_gate_max_background_rate: float = Field(QUALITY_GATE_MAX_BACKGROUND_RATE, ge=0, le=1)
    # Verify.
    endpoint_name: str = ""
    live_key_cache_seconds: int = Field(30, ge=0)
    invoke_max_bytes: int = Field(6 * MB - 64 * 1024, gt=0)
    # The endpoint returns detections from this confidence up; the verdict then applies each class's threshold,
    # so near misses are shown (greyed) and explain an inconclusive answer.
    detection_floor: float = Field(0.05, ge=0, lt=1)
    max_detections: int = Field(50, gt=0, le=300)
    # Reading the photo's barcodes beside the endpoint call: at most this long from the request's start, and this
    # long past the model's answer (advisory: also at most this share of the time the answer took) or, when the
    # brand requires a barcode, past it (required).
    barcode_budget_seconds: float = Field(1.5, gt=0, le=10)
    barcode_grace_seconds: float = Field(0.01, ge=0, le=10)
    barcode_grace_share: float = Field(0.1, ge=0)
    barcode_required_grace_seconds: float = Field(1.0, ge=0, le=10)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())
            raise InvalidInput(f"the function's settings are invalid: {problems}") from exc

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings (used by CDK and the local runtime)."""
        out: dict[str, str] = {}
        for name, value in self.model_dump().items():
            out[name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
        return out
