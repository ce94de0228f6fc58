"""Training hyperparameters: SageMaker passes strings, this module turns them into one validated, typed object.

Every value has a default, every value is checked, and unknown keys are refused so a typo cannot silently train
with the default. Keys SageMaker itself adds (`sagemaker_*`, `_tuning_objective_metric`) are ignored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from authentic.errors import InvalidInput

MODEL_PATTERN = re.compile(r"^(yolov8|yolo11|yolo12|yolo26)([nsmlx])(?:\.yaml)?$")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+|\d+)$")
MAX_AUTO_IMGSZ = 640
MIN_AUTO_IMGSZ = 160
# The embedded default's `authentic train` trains for this long unless told otherwise (a 2-core CPU budget).
DEFAULT_TIME_LIMIT_MINUTES = 15.0
QUANTIZE_CHOICES = ("auto", "int8", "fp16", "off")  # auto: int8, served only when it keeps mAP50
_IGNORED_PREFIXES = ("sagemaker_", "_tuning_objective_metric")

T = TypeVar("T")


@dataclass(frozen=True)
class Hyperparameters:
    """What one training job may set. `imgsz=0` and `batch=0` mean "auto" (see `recipe.auto_imgsz` and
    `recipe.auto_batch`)."""

    model: str = "yolo11n"
    weights: str = ""  # a .pt checkpoint path; empty: the image's baked weights for the model if any, else scratch
    epochs: int = 40
    patience: int = 15  # epochs without validation improvement before stopping; 0 never stops early
    imgsz: int = 0
    batch: int = 0  # 0: auto, from the training set's size (recipe.auto_batch); also the nominal batch
    seed: int = 0
    val_fraction: float = 0.2
    min_images_per_class: int = 10
    device: str = "auto"
    time_limit_minutes: float = 0.0  # train for about this long, epochs re-planned to fit; 0: `epochs` decides
    background_fraction: float = 0.2  # background images (no boxes) added to training, per training photo
    max_background_rate: float = 0.01  # the threshold is raised until unrelated photos get an answer this rarely
    quantize: str = "auto"  # auto (int8), int8, fp16 or off: the smaller model is served only if it keeps mAP50
    brand_id: str = ""  # recorded in metrics.json; the orchestration passes it
    manifest_key: str = ""  # recorded in metrics.json; the orchestration passes it

    @property
    def model_yaml(self) -> str:
        """The bundled ultralytics model YAML, e.g. "yolo11n.yaml" (never a weight file name)."""
        return self.model.removesuffix(".yaml") + ".yaml"

    @property
    def model_name(self) -> str:
        return self.model.removesuffix(".yaml")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_hyperparameters(raw: Mapping[str, Any]) -> Hyperparameters:
    """Validate SageMaker's `hyperparameters.json` content (all strings) into `Hyperparameters`.

    Raises `InvalidInput` naming every bad key and why.
    """
    known = {f.name for f in fields(Hyperparameters)}
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith(_IGNORED_PREFIXES):
            continue
        if key not in known:
            problems.append(f"unknown hyperparameter {key!r} (known: {', '.join(sorted(known))})")
            continue
        try:
            values[key] = _PARSERS[key](_unquote(value))
        except ValueError as exc:
            problems.append(f"hyperparameter {key}={value!r}: {exc}")
    if problems:
        raise InvalidInput("; ".join(problems), details=problems)
    return Hyperparameters(**values)


# ---------------------------------------------------------------------------------------------------------------


def _unquote(value: Any) -> Any:
    """SageMaker SDKs sometimes JSON-encode string values ('"yolo11n"'); accept both forms."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _int(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("expected an integer")
        try:
            number = int(value) if not isinstance(value, str) else int(value.strip())
        except (TypeError, ValueError):
            raise ValueError("expected an integer") from None
        return _in_range(number, low, high)

    return parse


def _float(low: float, high: float, *, low_open: bool = False) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        if not math.isfinite(number):
            raise ValueError("expected a finite number")
        if low_open and number <= low:
            raise ValueError(f"must be greater than {low:g} and at most {high:g}")
        return _in_range(number, low, high)

    return parse


def _in_range(number: T, low: Any, high: Any) -> T:
    if not low <= number <= high:
        raise ValueError(f"must be between {low} and {high}")
    return number


def _model(value: Any) -> str:
    text = str(value).strip().lower()
    if not MODEL_PATTERN.fullmatch(text):
        raise ValueError(
            "expected a YOLO detection model YAML such as yolo11n, yolov8s or yolo26n "
            "(families yolov8, yolo11, yolo12, yolo26; scales n, s, m, l, x); weights go in 'weights'"
        )
    return text.removesuffix(".yaml")


def _weights(value: Any) -> str:
    text = str(value).strip()
    if text and not text.endswith(".pt"):
        raise ValueError("expected a path to a .pt checkpoint, or empty")
    return text


def _imgsz(value: Any) -> int:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return 0
    number = _int(0, 1920)(value)
    if number and (number < 64 or number % 32):
        raise ValueError("expected 'auto' or a multiple of 32 between 64 and 1920")
    return number


def _batch(value: Any) -> int:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return 0
    return _int(0, 512)(value)


def _quantize(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in QUANTIZE_CHOICES:
        raise ValueError(f"expected one of {', '.join(QUANTIZE_CHOICES)}")
    return text


def _device(value: Any) -> str:
    text = str(value).strip().lower()
    if not DEVICE_PATTERN.fullmatch(text):
        raise ValueError("expected auto, cpu, cuda, cuda:N or a GPU index N")
    return text


def _text(max_len: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if len(text) > max_len:
            raise ValueError(f"longer than {max_len} characters")
        return text

    return parse


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "model": _model,
    "weights": _weights,
    "epochs": _int(1, 1000),
    "patience": _int(0, 1000),
    "imgsz": _imgsz,
    "batch": _batch,
    "seed": _int(0, 2**31 - 1),
    "val_fraction": _float(0.0, 0.5, low_open=True),
    "min_images_per_class": _int(2, 100_000),
    "device": _device,
    "time_limit_minutes": _float(0.0, 7 * 24 * 60),
    "background_fraction": _float(0.0, 1.0),
    "max_background_rate": _float(0.0, 1.0),
    "quantize": _quantize,
    "brand_id": _text(64),
    "manifest_key": _text(1024),
}
