"""The training plan: stages of progressive class expansion, noise simulation and fine-tuning, as YAML.

A stage names its class set (`class_sets.yaml`), its YOLO dataset (a folder under the workspace's datasets),
and any setting that differs from `defaults`. Where the dataset comes from is part of the stage too, so the
workbench makes it in one step (`training.stage_data`): `source` (default: the plan's `source`) is the
DeepScores-format source converted with the stage's class set, `scan` a scan-like preset applied to it first,
and `source: real-scans` the labelled real scans that the Annotation page exports. Each stage starts from the previous stage's best weights
(`from: previous`, the default after the first), so a later class set must keep every class of the earlier
one: Ultralytics then carries the old classes' head rows over by name and adds rows for the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import yaml

from omr_core.catalog.class_sets import ClassSet, ClassSetError, get_class_set
from omr_core.locations import TRAINING_PLAN_YAML

DEFAULT_PLAN_YAML = TRAINING_PLAN_YAML
DEFAULT_SOURCE = "corpus-default"  # the first start's engraved pages; stage datasets are converted from it


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class StageSettings:
    """Ultralytics settings of one stage (the names are Ultralytics' own where they exist)."""

    model: str = "yolov8s.yaml"
    imgsz: int = 1024
    epochs: int = 100
    batch: int = 4
    nbs: int = 64
    patience: int = 15
    amp: bool = True
    device: str = "auto"
    workers: int = 4
    weighted_loss: bool = False
    balance: dict = field(default_factory=lambda: {"min_instances": 500, "max_repeat": 10})
    augment: dict = field(default_factory=lambda: {"fliplr": 0.0})  # Ultralytics augmentation hyperparameters
    # Minutes a run may take on this machine: epochs are cut to fit, from a measured training step
    # (`training.estimate`). The CPU fallback sets it, so a run on a CPU ends while someone still waits for it.
    time_budget_min: int | None = None


# Ultralytics' augmentation hyperparameters a stage may set (`augment:`); anything else is refused by name.
AUGMENT_NAMES = ("hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "shear", "perspective", "flipud",
                 "fliplr", "mosaic", "mixup", "cutmix", "copy_paste", "erasing", "close_mosaic", "warmup_epochs")


@dataclass(frozen=True)
class Stage:
    name: str
    class_set: ClassSet
    dataset: str
    start_from: str  # "previous", "none" (the model YAML), or a weights path
    gate: str | None
    settings: StageSettings
    source: str = DEFAULT_SOURCE  # what the dataset is made from: a source name, or "real-scans"
    scan: str | None = None  # a scan-like preset (phone, scan, light) applied to the source first


@dataclass(frozen=True)
class TrainingPlan:
    name: str
    stages: tuple[Stage, ...]
    cpu_fallback: dict
    source: str = DEFAULT_SOURCE

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise PlanError(f"no stage {name!r} in plan {self.name!r}; expected one of {[s.name for s in self.stages]}")

    def settings_for(self, stage: Stage, has_gpu: bool) -> StageSettings:
        """The stage's settings on this machine: `cpu_fallback` applied when `device: auto` finds no GPU."""
        if stage.settings.device != "auto":
            return stage.settings
        if has_gpu:
            return replace(stage.settings, device="0")
        return replace(stage.settings, device="cpu", **self.cpu_fallback)


_SETTING_NAMES = {f.name for f in fields(StageSettings)}
_STAGE_KEYS = {"name", "class_set", "dataset", "from", "gate", "source", "scan"} | _SETTING_NAMES
REAL_SCANS = "real-scans"  # a stage `source` meaning the Annotation page's export of labelled real scans


def load_plan(path: Path | str | None, class_sets: dict[str, ClassSet]) -> TrainingPlan:
    """Read and check a plan YAML (default: the one shipped with omr_core)."""
    path = Path(path) if path else DEFAULT_PLAN_YAML
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: not valid YAML: {exc}") from exc
    return parse_plan(spec, class_sets, str(path))


def parse_plan(spec: dict, class_sets: dict[str, ClassSet], source: str = "<plan>") -> TrainingPlan:
    defaults = spec.get("defaults") or {}
    _check_keys(defaults, _SETTING_NAMES, f"{source}: defaults")
    fallback = spec.get("cpu_fallback") or {}
    _check_keys(fallback, _SETTING_NAMES, f"{source}: cpu_fallback")
    plan_source = str(spec.get("source", DEFAULT_SOURCE))
    raw_stages = spec.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise PlanError(f"{source}: expected a non-empty list under 'stages', but got {raw_stages!r}")
    stages: list[Stage] = []
    for number, raw in enumerate(raw_stages, start=1):
        where = f"{source}: stage {number}"
        if not isinstance(raw, dict):
            raise PlanError(f"{where}: expected a mapping, but got {raw!r}")
        _check_keys(raw, _STAGE_KEYS, where)
        for key in ("name", "class_set", "dataset"):
            if key not in raw:
                raise PlanError(f"{where}: '{key}' is required")
        name = str(raw["name"])
        if any(s.name == name for s in stages):
            raise PlanError(f"{where}: stage name {name!r} is used twice")
        try:
            class_set = get_class_set(str(raw["class_set"]), class_sets)
        except ClassSetError as exc:
            raise PlanError(f"{where} ({name}): {exc}") from exc
        start_from = str(raw.get("from", "previous" if stages else "none"))
        if start_from == "previous":
            if not stages:
                raise PlanError(f"{where} ({name}): the first stage has no previous stage to start from")
            missing = [c for c in stages[-1].class_set.names if c not in class_set.names]
            if missing:
                raise PlanError(f"{where} ({name}): starts from stage {stages[-1].name!r} but drops its classes "
                                f"{missing}; a later class set must keep every earlier class")
        try:
            settings = StageSettings(**{**defaults, **{k: v for k, v in raw.items() if k in _SETTING_NAMES}})
        except TypeError as exc:
            raise PlanError(f"{where} ({name}): {exc}") from exc
        check_settings(settings, f"{where} ({name})")
        scan = raw.get("scan")
        if scan is not None and not isinstance(scan, str):
            raise PlanError(f"{where} ({name}): scan must be a preset name (phone, scan, light), but got {scan!r}")
        stages.append(Stage(name, class_set, str(raw["dataset"]), start_from, raw.get("gate"), settings,
                            str(raw.get("source", plan_source)), scan))
    return TrainingPlan(str(spec.get("name", "plan")), tuple(stages), dict(fallback), plan_source)


def _check_keys(mapping: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise PlanError(f"{where}: unknown keys {unknown}; expected some of {sorted(allowed)}")


def check_settings(s: StageSettings, where: str) -> None:
    for name in ("imgsz", "epochs", "batch", "nbs"):
        value = getattr(s, name)
        if not isinstance(value, int) or value <= 0:
            raise PlanError(f"{where}: {name} must be a positive integer, but got {value!r}")
    if not isinstance(s.augment, dict):
        raise PlanError(f"{where}: augment must be a mapping of Ultralytics hyperparameters, but got {s.augment!r}")
    _check_keys(s.augment, set(AUGMENT_NAMES), f"{where}: augment")
    bad = {k: v for k, v in s.augment.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0}
    if bad:
        raise PlanError(f"{where}: augment values must be non-negative numbers, but got {bad}")
    if s.imgsz % 32:
        raise PlanError(f"{where}: imgsz must be a multiple of 32 (YOLO's stride), but got {s.imgsz}")
    if s.time_budget_min is not None and (isinstance(s.time_budget_min, bool) or not isinstance(s.time_budget_min, int)
                                          or s.time_budget_min <= 0):
        raise PlanError(f"{where}: time_budget_min must be a positive number of minutes, but got {s.time_budget_min!r}")
    if not str(s.model).endswith((".yaml", ".pt")):
        raise PlanError(f"{where}: model must be a model YAML (yolov8n.yaml...) or a .pt path, but got {s.model!r}")
