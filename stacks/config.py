"""The deployment's configuration: one frozen, typed object built from CDK context (`cdk.json`, `-c key=value`).

Every key lives under the `authentic:` namespace. Values from `cdk.json` arrive typed; values given on the
command line (`cdk deploy -c authentic:trainingUseSpot=true`) arrive as strings and are converted here. All
problems are collected and reported together, each naming its key, so a typo fails the synth with a clear
message instead of silently falling back to a default.

This module imports nothing from the CDK: it can be unit-tested without starting jsii.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar, cast

from authentic import settings as defaults
from authentic.contracts import MAX_PHOTO_PIXELS

PREFIX = "authentic:"
MB = defaults.MB

# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
# Training job names are `{prefix}-{brand}-{manifest[:12]}` (SageMaker allows 63 characters, brand ids take up to
# 32): the prefix gets at most 16. No hyphens, so one deployment's `{prefix}-` never matches another's jobs.
JOB_PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,15}$")
SAGEMAKER_INSTANCE_PATTERN = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
MAX_TRAINING_SECONDS = 28 * 24 * 3600  # SageMaker's ceiling for MaxRuntimeInSeconds
# An IAM role ARN (any partition, any account: the brand web server may run in another account); role paths allowed.
ROLE_ARN_PATTERN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$")
WAF_RATE_LIMITS = (10, 2_000_000_000)  # what a WAFv2 rate-based rule accepts, requests per evaluation window
WAF_RATE_WINDOW_SECONDS = 300  # the rule's evaluation window: the limit counts requests of the last 5 minutes


class ConfigError(ValueError):
    """The CDK context does not describe a valid deployment."""


@dataclass(frozen=True)
class TrainingOptions:
    """How the training Lambda launches SageMaker training jobs."""

    instance_type: str = defaults.TRAINING_INSTANCE_TYPE
    volume_gb: int = defaults.TRAINING_VOLUME_GB
    max_runtime_seconds: int = defaults.TRAINING_MAX_SECONDS
    use_spot: bool = defaults.TRAINING_USE_SPOT
    max_wait_seconds: int = defaults.TRAINING_MAX_WAIT_SECONDS  # managed spot only; >= max_runtime_seconds
    pretrained_weights_url: str = ""  # https URL baked into the training image at build time; empty: from scratch


@dataclass(frozen=True)
class HostingOptions:
    """The multi-model endpoint that serves every brand's live model."""

    instance_type: str = "ml.c7i.xlarge"  # 4 vCPU, 8 GiB: ONNX Runtime on CPU, about 300 nano models resident
    instance_count: int = 1
    min_instances: int = 1
    max_instances: int = 2


@dataclass(frozen=True)
class Throttle:
    """API Gateway method-level throttling (requests per second, burst bucket size)."""

    rate_limit: float = 20.0
    burst_limit: int = 40


@dataclass(frozen=True)
class AppConfig:
    """Everything a deployment can choose. Defaults are the documented production starting point."""

    job_prefix: str = defaults.JOB_PREFIX
    max_image_bytes: int = defaults.MAX_IMAGE_BYTES
    max_annotation_bytes: int = defaults.MAX_ANNOTATION_BYTES
    max_pixels: int = MAX_PHOTO_PIXELS
    pair_stale_seconds: int = defaults.PAIR_STALE_SECONDS
    min_images_per_class: int = defaults.MIN_IMAGES_PER_CLASS
    quality_gate_map50: float = defaults.QUALITY_GATE_MAP50
    quality_gate_max_false_counterfeit_rate: float = defaults.QUALITY_GATE_MAX_FALSE_COUNTERFEIT_RATE
    quality_gate_max_false_genuine_rate: float = defaults.QUALITY_GATE_MAX_FALSE_GENUINE_RATE
    quality_gate_max_inconclusive_rate: float = defaults.QUALITY_GATE_MAX_INCONCLUSIVE_RATE
    quality_gate_max_background_rate: float = defaults.QUALITY_GATE_MAX_BACKGROUND_RATE
    training: TrainingOptions = TrainingOptions()
    hosting: HostingOptions = HostingOptions()
    verify_throttle: Throttle = Throttle()
    log_retention_days: int = 30
    access_log_retention_days: int = 365
    # The IAM role of the brand web server, the one principal that may call the brand routes; empty: any principal
    # of the deploying account whose own IAM policy allows execute-api:Invoke (set it for production).
    brand_server_role_arn: str = ""
    # The public stage's WAF rate-based rule: requests one client IP may send in 5 minutes before it gets 429s
    # (the brand routes, signed by the brand web server, are not counted).
    waf_rate_limit: int = 300
    alarm_email: str = ""  # who the dead-letter alarms notify (an email subscription); empty: no subscription


# ---------------------------------------------------------------------------------------------------------
# Reading the context

T = TypeVar("T")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    raise ValueError(f"expected an integer, got {value!r}")


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a number, got {value!r}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise ValueError(f"expected true or false, got {value!r}")


def _to_str(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(f"expected a non-empty string, got {value!r}")


def _optional_str(value: Any) -> str:
    """A string that may be empty (the setting is off)."""
    return "" if value in ("", None) else _to_str(value)


@dataclass(frozen=True)
class _Key:
    """One context key: its parser and the range check that follows."""

    name: str
    parse: Callable[[Any], Any]
    check: Callable[[Any], str | None]
    help: str


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low:g} and {high:g}"


def _matches(pattern: re.Pattern[str], hint: str) -> Callable[[Any], str | None]:
    return lambda v: None if pattern.fullmatch(v) else hint


def _one_of(allowed: frozenset[int]) -> Callable[[Any], str | None]:
    return lambda v: None if v in allowed else f"must be one of {sorted(allowed)}"


_INSTANCE_HINT = "must be a SageMaker instance type such as ml.g6.xlarge"

KEYS: tuple[_Key, ...] = (
    _Key(
        "jobPrefix",
        _to_str,
        _matches(JOB_PREFIX_PATTERN, "must be 1-16 lowercase letters or digits, starting with a letter"),
        "prefix of this deployment's SageMaker training job names",
    ),
    _Key("maxImageMb", _to_int, _between(1, 1024), "largest photo an upload form accepts, in MiB"),
    _Key("maxAnnotationMb", _to_int, _between(1, 64), "largest annotation JSON an upload form accepts, in MiB"),
    _Key("maxPixels", _to_int, _between(1_000_000, 500_000_000), "largest photo the ingest accepts, in pixels"),
    _Key("pairStaleSeconds", _to_int, _between(60, 30 * 24 * 3600), "when a half-uploaded pair is abandoned"),
    _Key("minImagesPerClass", _to_int, _between(1, 100_000), "images per class a dataset needs to train"),
    _Key("qualityGateMap50", _to_float, _between(0.0, 1.0), "mAP50 a model needs to be promoted"),
    _Key("qualityGateMaxFalseCounterfeitRate", _to_float, _between(0.0, 1.0), "gate: genuine answered counterfeit"),
    _Key("qualityGateMaxFalseGenuineRate", _to_float, _between(0.0, 1.0), "gate: counterfeit answered genuine"),
    _Key("qualityGateMaxInconclusiveRate", _to_float, _between(0.0, 1.0), "gate: products answered inconclusive"),
    _Key("qualityGateMaxBackgroundRate", _to_float, _between(0.0, 1.0), "gate: unrelated photos answered"),
    _Key("trainingInstanceType", _to_str, _matches(SAGEMAKER_INSTANCE_PATTERN, _INSTANCE_HINT), "training"),
    _Key("trainingVolumeGb", _to_int, _between(1, 16_384), "training volume size, GiB"),
    _Key("trainingMaxRuntimeSeconds", _to_int, _between(60, MAX_TRAINING_SECONDS), "training time limit"),
    _Key("trainingUseSpot", _to_bool, lambda _v: None, "train on managed spot capacity"),
    _Key("trainingMaxWaitSeconds", _to_int, _between(60, MAX_TRAINING_SECONDS), "spot wait + run limit"),
    _Key(
        "trainingPretrainedWeightsUrl",
        _optional_str,
        lambda v: None if v == "" or v.startswith("https://") else "must be empty or an https:// URL",
        "pretrained detector weights baked into the training image",
    ),
    _Key("hostingInstanceType", _to_str, _matches(SAGEMAKER_INSTANCE_PATTERN, _INSTANCE_HINT), "endpoint"),
    _Key("hostingInstanceCount", _to_int, _between(1, 100), "endpoint instances at deploy time"),
    _Key("hostingMinInstances", _to_int, _between(1, 100), "autoscaling floor"),
    _Key("hostingMaxInstances", _to_int, _between(1, 100), "autoscaling ceiling"),
    _Key("verifyRateLimit", _to_float, _between(1, 10_000), "public verify route, requests per second"),
    _Key("verifyBurstLimit", _to_int, _between(1, 5_000), "public verify route, burst"),
    _Key("logRetentionDays", _to_int, _one_of(LOG_RETENTION_DAYS), "Lambda and API log retention, days"),
    _Key("accessLogRetentionDays", _to_int, _between(1, 3653), "S3 server access log expiry, days"),
    _Key(
        "brandServerRoleArn",
        _optional_str,
        lambda v: (
            None
            if v == "" or ROLE_ARN_PATTERN.fullmatch(v)
            else "must be empty or an IAM role ARN such as arn:aws:iam::123456789012:role/brand-server"
        ),
        "the brand web server's role: the only principal that may call the brand routes",
    ),
    _Key(
        "wafRateLimit",
        _to_int,
        lambda v: (
            None
            if WAF_RATE_LIMITS[0] <= v <= WAF_RATE_LIMITS[1]
            else f"must be between {WAF_RATE_LIMITS[0]} and {WAF_RATE_LIMITS[1]:,} (what AWS WAF accepts)"
        ),
        "requests one client IP may send to the public route in 5 minutes",
    ),
    _Key(
        "alarmEmail",
        _optional_str,
        lambda v: None if v == "" or EMAIL_PATTERN.fullmatch(v) else "must be empty or one email address",
        "who the dead-letter alarms notify",
    ),
)
KNOWN = frozenset(k.name for k in KEYS)


def _read(context: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in context:
        if name.startswith(PREFIX) and name[len(PREFIX) :] not in KNOWN:
            problems.append(f"{name}: unknown setting (known: {', '.join(sorted(KNOWN))})")
    for key in KEYS:
        full = PREFIX + key.name
        if full not in context or context[full] is None:
            continue
        try:
            value = key.parse(context[full])
        except ValueError as exc:
            problems.append(f"{full}: {exc}")
            continue
        problem = key.check(value)
        if problem:
            problems.append(f"{full}: {problem} (got {value!r})")
        else:
            values[key.name] = value
    return values, problems


def _pick(values: Mapping[str, Any], name: str, default: T) -> T:
    return cast("T", values.get(name, default))


def _cross_checks(config: AppConfig) -> list[str]:
    problems: list[str] = []
    if config.training.use_spot and config.training.max_wait_seconds < config.training.max_runtime_seconds:
        problems.append(
            f"{PREFIX}trainingMaxWaitSeconds: must be at least trainingMaxRuntimeSeconds "
            f"({config.training.max_runtime_seconds}) when trainingUseSpot is true"
        )
    hosting = config.hosting
    if hosting.min_instances > hosting.max_instances:
        problems.append(f"{PREFIX}hostingMinInstances: must not exceed hostingMaxInstances")
    if not hosting.min_instances <= hosting.instance_count <= hosting.max_instances:
        problems.append(f"{PREFIX}hostingInstanceCount: must lie between hostingMinInstances and hostingMaxInstances")
    if config.verify_throttle.burst_limit < config.verify_throttle.rate_limit:
        problems.append(f"{PREFIX}verifyBurstLimit: must be at least verifyRateLimit")
    return problems


def load_config(context: Mapping[str, Any]) -> AppConfig:
    """Build the configuration from CDK context; raise ConfigError listing every problem at once."""
    values, problems = _read(context)
    d_training, d_hosting, d_throttle, d = TrainingOptions(), HostingOptions(), Throttle(), AppConfig()
    config = AppConfig(
        job_prefix=_pick(values, "jobPrefix", d.job_prefix),
        max_image_bytes=_pick(values, "maxImageMb", d.max_image_bytes // MB) * MB,
        max_annotation_bytes=_pick(values, "maxAnnotationMb", d.max_annotation_bytes // MB) * MB,
        max_pixels=_pick(values, "maxPixels", d.max_pixels),
        pair_stale_seconds=_pick(values, "pairStaleSeconds", d.pair_stale_seconds),
        min_images_per_class=_pick(values, "minImagesPerClass", d.min_images_per_class),
        quality_gate_map50=_pick(values, "qualityGateMap50", d.quality_gate_map50),
        quality_gate_max_false_counterfeit_rate=_pick(
            values, "qualityGateMaxFalseCounterfeitRate", d.quality_gate_max_false_counterfeit_rate
        ),
        quality_gate_max_false_genuine_rate=_pick(
            values, "qualityGateMaxFalseGenuineRate", d.quality_gate_max_false_genuine_rate
        ),
        quality_gate_max_inconclusive_rate=_pick(
            values, "qualityGateMaxInconclusiveRate", d.quality_gate_max_inconclusive_rate
        ),
        quality_gate_max_background_rate=_pick(
            values, "qualityGateMaxBackgroundRate", d.quality_gate_max_background_rate
        ),
        training=TrainingOptions(
            instance_type=_pick(values, "trainingInstanceType", d_training.instance_type),
            volume_gb=_pick(values, "trainingVolumeGb", d_training.volume_gb),
            max_runtime_seconds=_pick(values, "trainingMaxRuntimeSeconds", d_training.max_runtime_seconds),
            use_spot=_pick(values, "trainingUseSpot", d_training.use_spot),
            max_wait_seconds=_pick(values, "trainingMaxWaitSeconds", d_training.max_wait_seconds),
            pretrained_weights_url=_pick(values, "trainingPretrainedWeightsUrl", d_training.pretrained_weights_url),
        ),
        hosting=HostingOptions(
            instance_type=_pick(values, "hostingInstanceType", d_hosting.instance_type),
            instance_count=_pick(values, "hostingInstanceCount", d_hosting.instance_count),
            min_instances=_pick(values, "hostingMinInstances", d_hosting.min_instances),
            max_instances=_pick(values, "hostingMaxInstances", d_hosting.max_instances),
        ),
        verify_throttle=Throttle(
            rate_limit=_pick(values, "verifyRateLimit", d_throttle.rate_limit),
            burst_limit=_pick(values, "verifyBurstLimit", d_throttle.burst_limit),
        ),
        log_retention_days=_pick(values, "logRetentionDays", d.log_retention_days),
        access_log_retention_days=_pick(values, "accessLogRetentionDays", d.access_log_retention_days),
        brand_server_role_arn=_pick(values, "brandServerRoleArn", d.brand_server_role_arn),
        waf_rate_limit=_pick(values, "wafRateLimit", d.waf_rate_limit),
        alarm_email=_pick(values, "alarmEmail", d.alarm_email),
    )
    problems += _cross_checks(config)
    if problems:
        raise ConfigError("invalid CDK context:\n  " + "\n  ".join(problems))
    return config


def context_defaults() -> dict[str, Any]:
    """The defaults as context keys: what `cdk.json` ships with (a test keeps the two equal)."""
    d = AppConfig()
    return {
        f"{PREFIX}jobPrefix": d.job_prefix,
        f"{PREFIX}maxImageMb": d.max_image_bytes // MB,
        f"{PREFIX}maxAnnotationMb": d.max_annotation_bytes // MB,
        f"{PREFIX}maxPixels": d.max_pixels,
        f"{PREFIX}pairStaleSeconds": d.pair_stale_seconds,
        f"{PREFIX}minImagesPerClass": d.min_images_per_class,
        f"{PREFIX}qualityGateMap50": d.quality_gate_map50,
        f"{PREFIX}qualityGateMaxFalseCounterfeitRate": d.quality_gate_max_false_counterfeit_rate,
        f"{PREFIX}qualityGateMaxFalseGenuineRate": d.quality_gate_max_false_genuine_rate,
        f"{PREFIX}qualityGateMaxInconclusiveRate": d.quality_gate_max_inconclusive_rate,
        f"{PREFIX}qualityGateMaxBackgroundRate": d.quality_gate_max_background_rate,
        **{f"{PREFIX}training{_camel(f.name)}": getattr(d.training, f.name) for f in fields(TrainingOptions)},
        **{f"{PREFIX}hosting{_camel(f.name)}": getattr(d.hosting, f.name) for f in fields(HostingOptions)},
        f"{PREFIX}verifyRateLimit": d.verify_throttle.rate_limit,
        f"{PREFIX}verifyBurstLimit": d.verify_throttle.burst_limit,
        f"{PREFIX}logRetentionDays": d.log_retention_days,
        f"{PREFIX}accessLogRetentionDays": d.access_log_retention_days,
        f"{PREFIX}brandServerRoleArn": d.brand_server_role_arn,
        f"{PREFIX}wafRateLimit": d.waf_rate_limit,
        f"{PREFIX}alarmEmail": d.alarm_email,
    }


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))
