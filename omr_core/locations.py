"""Where omr_core finds what lives outside the package, in a source checkout and when installed with pip.

    setting              in a checkout (pyproject.toml beside omr_core/)   installed (`pip install .`)
    $SCOREEYE_WORKSPACE  <checkout>/workspace                               ./workspace
    $SCOREEYE_MODELS     <checkout>/models (the bundled models)             $XDG_DATA_HOME/scoreeye/models
                                                                            (~/.local/share/...; none until you put
                                                                            a model there or set the variable)
    $YOLO_CONFIG_DIR     <checkout>/.ultralytics                            $XDG_CACHE_HOME/scoreeye/ultralytics
                                                                            (~/.cache/...)
A setting that is set wins.

The files the package itself reads at run time are package data (pyproject.toml lists them, and
tests/test_install.py installs the package outside the checkout and uses them): `PACKAGE_DATA`.
"""

from __future__ import annotations

import os
from pathlib import Path

WORKSPACE_ENV = "SCOREEYE_WORKSPACE"
MODELS_ENV = "SCOREEYE_MODELS"
ULTRALYTICS_CONFIG_ENV = "YOLO_CONFIG_DIR"

PACKAGE = Path(__file__).resolve().parent
# The checkout holding this package, or None when it was installed (site-packages has no pyproject.toml).
CHECKOUT: Path | None = PACKAGE.parent if (PACKAGE.parent / "pyproject.toml").is_file() else None

CATEGORIES_CSV = PACKAGE / "catalog" / "deepscores_v2_categories.csv"  # DeepScoresV2's two class sets
CLASS_SETS_YAML = PACKAGE / "catalog" / "class_sets.yaml"  # the stages' class sets, copied into a new workspace
TRAINING_PLAN_YAML = PACKAGE / "training" / "training_plan.yaml"  # the staged plan, copied likewise
SUCCESS_CRITERIA_YAML = PACKAGE / "training" / "success_criteria.yaml"  # the plan's quality gates
SCHEMAS = PACKAGE / "inference" / "schemas"  # the ScoreEye hand-off's JSON schemas
REPORT_TEMPLATES = PACKAGE / "reports" / "templates"  # the HTML reports' jinja2 templates
PACKAGE_DATA = (CATEGORIES_CSV, CLASS_SETS_YAML, TRAINING_PLAN_YAML, SUCCESS_CRITERIA_YAML,
                SCHEMAS / "scoreeye_measures.schema.json", SCHEMAS / "scoreeye_symbols.schema.json",
                REPORT_TEMPLATES / "validation.html.j2", REPORT_TEMPLATES / "sample.html.j2")


def _user_dir(xdg_variable: str, fallback: str) -> Path:
    return Path(os.environ.get(xdg_variable) or Path.home() / fallback) / "scoreeye"


def default_workspace() -> Path:
    """The workspace used when none is given."""
    if os.environ.get(WORKSPACE_ENV):
        return Path(os.environ[WORKSPACE_ENV])
    return CHECKOUT / "workspace" if CHECKOUT is not None else Path.cwd() / "workspace"


def bundled_models() -> Path:
    """The folder of bundled models (read-only to the workbench; it may not exist)."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV]).expanduser().resolve()
    return CHECKOUT / "models" if CHECKOUT is not None else _user_dir("XDG_DATA_HOME", ".local/share") / "models"


def ultralytics_config() -> Path:
    """Ultralytics' settings folder (its settings file and the fonts it would otherwise download)."""
    if os.environ.get(ULTRALYTICS_CONFIG_ENV):
        return Path(os.environ[ULTRALYTICS_CONFIG_ENV])
    return CHECKOUT / ".ultralytics" if CHECKOUT is not None else _user_dir("XDG_CACHE_HOME", ".cache") / "ultralytics"
