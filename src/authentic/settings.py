"""Settings: one validated model, read from the environment when a handler first runs (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from authentic.errors import InvalidInput

MB = 1024 * 1024


class Settings(BaseModel):
    """Everything a handler needs to know about its deployment. Environment names are the upper-case fields."""

    model_config = ConfigDict(frozen=True)

    uploads_bucket: str
    dataset_bucket: str
    artifacts_bucket: str = ""
    live_bucket: str = ""
    table_name: str
    max_image_bytes: int = Field(25 * MB, gt=0)
    max_annotation_bytes: int = Field(1 * MB, gt=0)
    max_pixels: int = Field(50_000_000, gt=0)
    max_pairs_per_request: int = Field(100, gt=0, le=1000)
    upload_url_seconds: int = Field(900, gt=0, le=7 * 24 * 3600)
    pair_stale_seconds: int = Field(24 * 3600, gt=0)
    # Training orchestration.
    min_images_per_class: int = Field(10, gt=0)
    min_classes: int = Field(1, gt=0)
    job_prefix: str = "authentic"
    training_image_uri: str = ""
    training_role_arn: str = ""
    training_instance_type: str = "ml.g6.xlarge"
    training_volume_gb: int = Field(30, gt=0)
    training_max_seconds: int = Field(4 * 3600, gt=0)
    training_use_spot: bool = False
    training_max_wait_seconds: int = Field(8 * 3600, gt=0)
    quality_gate_map50: float = Field(0.5, ge=0, le=1)
    # Verify.
    endpoint_name: str = ""
    live_key_cache_seconds: int = Field(30, ge=0)
    invoke_max_bytes: int = Field(6 * MB - 64 * 1024, gt=0)
    # The endpoint returns detections from this confidence up; the verdict then applies each class's threshold,
    # so near misses are shown (greyed) and explain an inconclusive answer.
    detection_floor: float = Field(0.05, ge=0, lt=1)
    max_detections: int = Field(50, gt=0, le=300)

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


@lru_cache(maxsize=1)
def current() -> Settings:
    """The settings of this process, read once on first use. Tests call `current.cache_clear()`."""
    return Settings.from_env()
