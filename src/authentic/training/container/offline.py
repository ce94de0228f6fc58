"""Make `ultralytics` and `onnxruntime` fully offline before they are imported.

ultralytics fetches a font on every train/val unless `Arial.ttf` sits in its config dir, checks the network
at import, sends telemetry, and pip-installs missing packages at run time. onnxruntime sends telemetry on
Linux. Call `prepare_offline()` before importing either.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")
_INTEGRATIONS = ("sync", "clearml", "comet", "dvc", "hub", "mlflow", "neptune", "raytune", "tensorboard", "wandb")


def prepare_offline(config_dir: Path | None = None) -> Path:
    """Set the offline environment and a writable ultralytics config dir holding its fonts; returns the dir."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    if config_dir is None:
        existing = os.environ.get("YOLO_CONFIG_DIR")
        config_dir = Path(existing) if existing else Path(tempfile.gettempdir()) / "authentic-yolo-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    _install_fonts(config_dir)
    loaded = sys.modules.get("ultralytics.utils")
    if loaded is not None:
        # ultralytics fixed its config dir when it was first imported, maybe under another YOLO_CONFIG_DIR (one
        # since deleted): it looks for its fonts there, and would download them.
        _install_fonts(Path(loaded.USER_CONFIG_DIR))
    _quiet_settings()
    return config_dir


def _install_fonts(config_dir: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only when preparing ultralytics

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    # ultralytics 8.4 looks for its fonts in $YOLO_CONFIG_DIR/Ultralytics; older versions in the dir itself.
    for folder in (config_dir, config_dir / "Ultralytics"):
        folder.mkdir(parents=True, exist_ok=True)
        for name in _FONT_NAMES:
            target = folder / name
            if not target.exists():
                shutil.copyfile(source, target)


def _quiet_settings() -> None:
    try:
        from ultralytics.utils import SETTINGS, patches  # noqa: PLC0415
    except ImportError:  # the inference image has no ultralytics
        return
    # Only keys this ultralytics version knows (8.4 has no "hub" key; an unknown key raises KeyError).
    quiet = {key: False for key in _INTEGRATIONS if key in SETTINGS}
    SETTINGS.update(quiet)  # type: ignore[no-untyped-call]
    # ultralytics replaces PIL.Image.open process-wide; on a file Pillow cannot identify it then checks for and
    # imports `pi_heif` (not installed), so every caller would get ModuleNotFoundError instead of Pillow's
    # UnidentifiedImageError. HEIF support is ours (pillow-heif), so tell the patch its plugins are registered.
    import pillow_heif  # noqa: PLC0415

    pillow_heif.register_heif_opener()
    patches._pil_plugins_registered = True  # type: ignore[attr-defined]
