"""Ultralytics without the network: every call it would make is switched off before it is imported.

What Ultralytics 8.4 reaches for, and what stops it:
- a DNS lookup at import and a PyPI version check        -> YOLO_OFFLINE=1
- pip installs of missing packages                       -> YOLO_AUTOINSTALL=false
- analytics                                              -> settings `sync: False`
- Arial.ttf downloaded on every dataset check            -> a font file named Arial.ttf in its config dir
  ($YOLO_CONFIG_DIR/Ultralytics; we copy DejaVu Sans from matplotlib, which Ultralytics installs anyway)
- a model name that is not a file (`yolov8n.pt`)         -> always pass paths or model YAMLs
- W&B online without a network hangs ~95 s, then kills training -> WANDB_MODE=offline unless a key is given

`OFFLINE_DEFAULTS` is the one list of these variables: app.py and the tests apply them (`apply_defaults`) before
anything imports Ultralytics, and every process that imports it goes through `import_ultralytics`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from omr_core.locations import ULTRALYTICS_CONFIG_ENV, ultralytics_config

OFFLINE_DEFAULTS = {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false", "WANDB_MODE": "offline"}


def apply_defaults() -> None:
    """Set OFFLINE_DEFAULTS and the Ultralytics config folder in this process's environment where they are not
    set already (a user's WANDB_MODE=online stays); cheap, touches no file."""
    for name, value in {**OFFLINE_DEFAULTS, ULTRALYTICS_CONFIG_ENV: str(ultralytics_config())}.items():
        os.environ.setdefault(name, value)


def offline_environment(config_dir: Path | None = None) -> dict[str, str]:
    """Environment variables for a process that will import Ultralytics (also applied to this process), with
    the fonts Ultralytics would download put in its config folder."""
    config_dir = Path(config_dir or ultralytics_config())
    settings_dir = config_dir / "Ultralytics"
    settings_dir.mkdir(parents=True, exist_ok=True)
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        font = settings_dir / name
        if not font.exists():
            shutil.copyfile(_dejavu_sans(), font)
    env = {**OFFLINE_DEFAULTS, "WANDB_MODE": os.environ.get("WANDB_MODE", OFFLINE_DEFAULTS["WANDB_MODE"]),
           ULTRALYTICS_CONFIG_ENV: str(config_dir)}
    os.environ.update(env)
    return env


def import_ultralytics():
    """Ultralytics, imported after `offline_environment`, with analytics off."""
    offline_environment()
    import ultralytics
    from ultralytics import settings

    if settings.get("sync", True):
        settings.update({"sync": False})
    return ultralytics


def _dejavu_sans() -> Path:
    from omr_core.fonts import dejavu

    return dejavu("Sans")
