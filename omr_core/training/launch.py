"""What a stage will run with, before it starts: the settings on this machine, the user's changes for this
run, the dataset and how to make it, how long it will take, and what the user should know first.

    preview = preview_stage(ws, plan, "3.1", has_gpu=False, changes={"epochs": 4})
    preview.settings, preview.estimate, preview.notes
    run_dir = prepare_stage(ws, plan, "3.1", has_gpu=False, overrides=preview.overrides)

The Training page shows a preview and starts the run with its `overrides` (recorded in run.json). `notes` is
the one list of things worth a look before starting (each a `Note` with a level): other checks add theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from omr_core.jobs import list_jobs
from omr_core.training.estimate import Estimate, StepTiming, epochs_within, estimate_run, load_timings, timing_key
from omr_core.training.plan import Stage, StageSettings, TrainingPlan
from omr_core.training.stage_data import StageDataRecipe, stage_recipe

EDITABLE = ("model", "imgsz", "epochs", "batch")  # what the page lets the user change for one run
MODELS = ("yolov8n.yaml", "yolov8s.yaml", "yolov8m.yaml", "yolo11n.yaml", "yolo11s.yaml")


@dataclass(frozen=True)
class Note:
    level: str  # "info" | "warning"
    text: str


@dataclass
class StagePreview:
    stage: Stage
    plan_settings: StageSettings  # the plan's settings on this machine (the CPU fallback applied)
    settings: StageSettings  # what the run will use: plan settings, the budget's epochs, the user's changes
    overrides: dict  # the user's changes and the budget's epochs: what prepare_stage records
    recipe: StageDataRecipe
    starts_from: str  # "the model YAML" or a parent model's weights
    n_train: int | None = None  # training images listed per epoch (after class balancing)
    n_images: int | None = None  # training images of the dataset
    n_val: int | None = None
    dataset_tile_px: int | None = None  # None: whole pages
    timing: StepTiming | None = None
    estimate: Estimate | None = None
    budget_epochs: int | None = None  # epochs the time budget allows, when it cut them
    notes: list[Note] = field(default_factory=list)

    @property
    def timing_key(self) -> str:
        return timing_key(self.settings.model, self.settings.imgsz, self.settings.batch, self.settings.device)


def gpu_available() -> bool:
    """Whether torch sees a CUDA device (False where torch is not installed)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def preview_stage(ws, plan: TrainingPlan, stage_name: str, has_gpu: bool, changes: dict | None = None) -> StagePreview:
    """The preview of one stage with the user's `changes` (some of EDITABLE) for this run."""
    changes = {k: v for k, v in (changes or {}).items() if k in EDITABLE and v is not None}
    stage = plan.stage(stage_name)
    plan_settings = plan.settings_for(stage, has_gpu)
    settings = replace(plan_settings, **changes)
    recipe = stage_recipe(ws, stage, settings)
    starts_from = "the model YAML" if stage.start_from == "none" else (
        f"the best model of stage {_previous(plan, stage)}" if stage.start_from == "previous" else stage.start_from)
    preview = StagePreview(stage, plan_settings, settings, dict(changes), recipe, starts_from)
    if recipe.ready:
        _count(ws, preview)
    preview.timing = load_timings(ws.step_times).get(preview.timing_key)
    if preview.timing is not None and preview.n_train:
        if settings.time_budget_min and "epochs" not in changes:
            fitted = epochs_within(preview.timing, preview.n_train, preview.n_val or 0, settings.time_budget_min * 60,
                                   settings.epochs)
            if fitted < settings.epochs:
                preview.budget_epochs = fitted
                preview.settings = replace(preview.settings, epochs=fitted)
                preview.overrides["epochs"] = fitted
        preview.estimate = estimate_run(preview.timing, preview.n_train, preview.n_val or 0, preview.settings.epochs)
    preview.notes = _notes(preview, has_gpu)
    return preview


def _previous(plan: TrainingPlan, stage: Stage) -> str:
    names = [s.name for s in plan.stages]
    return names[names.index(stage.name) - 1]


def _count(ws, preview: StagePreview) -> None:
    import json

    from omr_core.datasets.index import DatasetIndex
    from omr_core.training.registry import balance_preview

    dataset = ws.dataset(preview.stage.dataset)
    index = DatasetIndex.open(dataset)
    preview.n_images, preview.n_val = len(index.images("train")), len(index.images("val"))
    preview.n_train = preview.n_images
    if preview.settings.balance and preview.n_images:
        preview.n_train = len(balance_preview(dataset, preview.settings.balance)[1].indices)
    conversion = dataset / "conversion.json"
    if conversion.is_file():
        preview.dataset_tile_px = json.loads(conversion.read_text())["config"].get("tile_px")


def _notes(preview: StagePreview, has_gpu: bool) -> list[Note]:
    notes: list[Note] = []
    s, plan_s = preview.settings, preview.plan_settings
    if not has_gpu and s.device == "cpu":
        notes.append(Note("info", "No GPU: the plan's CPU fallback applies (" + ", ".join(
            f"{k} {getattr(plan_s, k)}" for k in ("model", "imgsz", "batch", "nbs", "epochs")) + ")"))
    if preview.budget_epochs is not None:
        notes.append(Note("info", f"{preview.budget_epochs} of the plan's {plan_s.epochs} epochs fit the time budget of "
                                  f"{s.time_budget_min} min on this machine"))
    if preview.recipe.ready:
        tile = preview.dataset_tile_px
        if tile is None:
            notes.append(Note("warning", f"{preview.stage.dataset} holds whole pages: trained at imgsz {s.imgsz}, a "
                                         f"1960-px page shrinks every symbol about {1960 / s.imgsz:.0f}x and small "
                                         f"ones vanish; make it again in {s.imgsz}-px tiles"))
        elif tile != s.imgsz:
            notes.append(Note("warning", f"{preview.stage.dataset} is in {tile}-px tiles, trained at imgsz {s.imgsz}: "
                                         f"every tile is scaled {s.imgsz / tile:.2g}x, so symbols are seen at another "
                                         f"size than the detector will find them at"))
        if preview.n_images == 0:
            notes.append(Note("warning", f"{preview.stage.dataset} has no training images"))
    if s.nbs > s.batch * 4:
        notes.append(Note("info", f"nominal batch {s.nbs} with batch {s.batch}: the optimizer steps once every "
                                  f"{s.nbs // s.batch} batches, so short runs take few steps"))
    return notes


def describe_start(plan: TrainingPlan, stage: Stage) -> str:
    """Where a stage starts from, in words."""
    if stage.start_from == "none":
        return "scratch (the model YAML)"
    if stage.start_from == "previous":
        return f"stage {_previous(plan, stage)}'s best model"
    return stage.start_from


def changed_settings(settings: StageSettings, **chosen) -> dict:
    """The settings the user chose that differ from the plan's (`settings`), for `preview_stage`'s changes."""
    return {k: v for k, v in chosen.items() if v != getattr(settings, k)}


def model_choices(settings: StageSettings) -> list[str]:
    """The models the page offers for a run, sorted: the known YAMLs and the plan's own (which may be none of them)."""
    return sorted({settings.model, *MODELS})


def measure_title(settings: StageSettings) -> str:
    """The title of the job that measures a training step with these settings: one such job per setting."""
    return (f"measure a training step ({settings.model.removesuffix('.yaml')}, {settings.imgsz} px, batch "
            f"{settings.batch}, {settings.device})")


@dataclass(frozen=True)
class Measurement:
    """Where measuring a training step with some settings stands: "start" (never tried: start it now),
    "running", or "ended" (tried and ended without a timing: say so in `warning`; measure again only when asked,
    so a failing measurement never starts itself over and over)."""

    state: str
    warning: str | None = None


def measurement(jobs_dir, title: str) -> Measurement:
    """The newest measurement job called `title` (`measure_title`) under `jobs_dir`, as a Measurement."""
    tries = [j for j in list_jobs(jobs_dir, "measure") if j.info.get("title") == title]
    if not tries:
        return Measurement("start")
    state = tries[0].state()
    if state == "running":
        return Measurement("running")
    result = tries[0].summary()["result"]
    return Measurement("ended", f"No measured step for these settings: the last measurement {state}"
                                + (f" ({result})" if result else "") + ".")


def failed_gate_models(cards: list[dict], plan: TrainingPlan, stage: Stage) -> list[dict]:
    """The stage's registered models (oldest first) whose gate failed and that nobody overrode."""
    return [c for c in cards if c.get("plan") == plan.name and c.get("stage") == stage.name
            and not c.get("gate_passed") and not c.get("override")]


def measure_args(preview: StagePreview, ws) -> list[str]:
    """The `measure-step` command line that times this preview's training step into the workspace."""
    s = preview.settings
    model = s.model if str(s.model).endswith(".yaml") else preview.plan_settings.model
    return ["measure-step", str(ws.dataset(preview.stage.dataset)), "--model", str(model), "--imgsz", str(s.imgsz),
            "--batch", str(s.batch), "--device", "cpu" if s.device == "cpu" else str(s.device).split(",")[0],
            "--out", str(ws.step_times)]


def stage_table(ws, plan: TrainingPlan, cards: list[dict]) -> list[dict]:
    """One row a stage, in words and numbers: its classes, dataset, where it starts and its latest model."""
    datasets = set(ws.list_datasets())
    rows = []
    for stage in plan.stages:
        mine = [c for c in cards if c["plan"] == plan.name and c["stage"] == stage.name]
        card = mine[-1] if mine else None
        map50 = (card or {}).get("metrics", {}).get("mAP50")
        rows.append({"stage": stage.name, "classes": f"{stage.class_set.name} ({len(stage.class_set)})",
                     "dataset": stage.dataset, "dataset ready": "ready" if stage.dataset in datasets else "not made",
                     "starts from": describe_start(plan, stage), "gate": stage.gate or "",
                     "latest model": card["name"] if card else "",
                     "mAP@0.5": "" if map50 is None else f"{map50:.3f}",
                     "gate result": ("passed" if card["gate_passed"] else "overridden" if card.get("override")
                                     else "failed") if card else ""})
    return rows
