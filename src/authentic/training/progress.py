"""The training program's per-epoch progress line and the SageMaker metric definitions that parse it.

One stable line per epoch on stdout, e.g.
    [authentic] epoch=7/40 box_loss=1.2500 cls_loss=0.5000 dfl_loss=1.0000 map50=0.8125 map50_95=0.5000 ...
SageMaker turns matches of `METRIC_DEFINITIONS` into CloudWatch metrics and `FinalMetricDataList` (which the
job route reports as progress); the local runtime applies the same regexes to the subprocess's stdout. Kept
free of heavy imports: the orchestration Lambda imports it.
"""

from __future__ import annotations

PROGRESS_PREFIX = "[authentic]"

METRIC_DEFINITIONS: tuple[dict[str, str], ...] = (
    {"Name": "epoch", "Regex": r"\[authentic\] epoch=(\d+)/"},
    {"Name": "epochs", "Regex": r"\[authentic\] epoch=\d+/(\d+)"},
    {"Name": "train:box_loss", "Regex": r"\[authentic\] .* box_loss=([-+0-9.eE]+|nan)"},
    {"Name": "train:cls_loss", "Regex": r"\[authentic\] .* cls_loss=([-+0-9.eE]+|nan)"},
    {"Name": "train:dfl_loss", "Regex": r"\[authentic\] .* dfl_loss=([-+0-9.eE]+|nan)"},
    {"Name": "validation:map50", "Regex": r"\[authentic\] .* map50=([0-9.]+)"},
    {"Name": "validation:map50_95", "Regex": r"\[authentic\] .* map50_95=([0-9.]+)"},
    {"Name": "validation:precision", "Regex": r"\[authentic\] .* precision=([0-9.]+)"},
    {"Name": "validation:recall", "Regex": r"\[authentic\] .* recall=([0-9.]+)"},
)
