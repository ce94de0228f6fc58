"""The training container's domain logic: hyperparameters, reading the frozen dataset, the split, conversion
to the detector's layout, training, evaluation, ONNX export and the artifact.

Import-light on purpose: `ultralytics`, `torch` and `onnxruntime` are imported only by the steps that need
them, after `authentic.offline.prepare_offline()` has made them offline.
"""

from authentic.progress import METRIC_DEFINITIONS
from authentic.training.program import main

__all__ = ["METRIC_DEFINITIONS", "main"]
