"""Suggestions of an evaluation that the workbench carries out itself: a use case over the registry (model cards),
the training plan and the labelling queue, so it sits above all three.

    class_threshold  the class's F1-optimal confidence goes on the evaluated model's card (`class_conf`); the
                     SymbolDetector keeps that class's boxes from that confidence on
    oversample       the chosen stage of the workspace's training plan gets balance.boost[class] doubled
                     (the class's wanted count and repeat cap in class-balanced sampling)
    resolution       the chosen stage's imgsz grows by the factor (rounded up to a multiple of 32)
    train_longer     the chosen stage's epochs grow by the factor (for a class too common to oversample)
    label_more       the class joins the labelling queue's wanted classes (real_scans/wanted.json): scans
                     predicted to hold it come first; then the class is oversampled as above
    merge_pair       not carried out: merging two classes changes the class set and every label; the page
                     shows the pair for the user to decide
The plan is edited in place, one stage line, with the user's comments kept (`training.plan_edit`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from omr_core.annotation.queue import add_wanted
from omr_core.catalog import load_class_sets
from omr_core.evaluation.suggestions import Suggestion
from omr_core.registry import entry_of_file, update_card
from omr_core.training.plan import PlanError, load_plan
from omr_core.training.plan_edit import update_stage

APPLICABLE = ("class_threshold", "oversample", "resolution", "label_more", "train_longer")


def _action(suggestion: Suggestion | dict) -> dict:
    return suggestion.action if isinstance(suggestion, Suggestion) else suggestion["action"]


def apply(suggestion: Suggestion | dict, model: Path | None = None, ws=None, stage: str | None = None) -> str:
    """Carry out an applicable suggestion; returns what was done, in words. `model`: the evaluated model's
    file (or folder), for a class threshold, which goes on its card through the registry."""
    action = _action(suggestion)
    kind = action.get("kind")
    if kind not in APPLICABLE:
        raise ValueError(f"the workbench applies {list(APPLICABLE)} itself, but this action is {kind!r}")
    if kind == "class_threshold":
        return _class_threshold(action, Path(model) if model else None, ws)
    if ws is None or stage is None:
        raise ValueError(f"a {kind!r} action changes a stage of the workspace's plan: give the workspace and stage")
    if kind == "label_more":
        wanted = add_wanted(ws.real_scans, [action["class"]])
        return f"wanted in labelling: {', '.join(wanted)}; " + _oversample(ws, stage, [action["class"]])
    if kind == "oversample":
        return _oversample(ws, stage, action.get("classes") or [action["class"]])
    if kind == "train_longer":
        return _train_longer(ws, stage, float(action.get("epochs_factor", 2)))
    return _resolution(ws, stage, float(action.get("imgsz_factor", 1.5)))


@dataclass(frozen=True)
class Targets:
    """Where an evaluation's suggestions can be applied: the registered model it ran (None for a bare file), the
    training plan's stages ([] when the plan cannot be read) and the stage offered first (the one after the
    model's own stage, else the first)."""

    model: dict | None
    stages: list[str]
    first: int


def targets(ws, summary: dict) -> Targets:
    """The Targets of an evaluation's `summary` (summary.json) in workspace `ws`."""
    try:
        stages = [stage.name for stage in load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml)).stages]
    except PlanError:
        stages = []
    try:
        model = entry_of_file(ws, summary["model"])
    except FileNotFoundError:
        model = None
    own = model.get("stage") if model else None
    return Targets(model, stages, min(stages.index(own) + 1, len(stages) - 1) if own in stages else 0)


def describe_action(action: dict) -> str:
    """What applying a suggestion's action does, in words."""
    kind = action.get("kind")
    classes = " and ".join(action.get("classes") or [action.get("class", "")])
    return {
        "class_threshold": f"Apply writes confidence {action.get('conf')} for {classes} on the model's card; the "
                           "detector then keeps that class's boxes from there on",
        "oversample": f"Apply doubles the class-balancing boost of {classes} on the chosen stage of the plan",
        "label_more": f"Apply puts scans that hold {classes} first in the labelling queue, and oversamples it on "
                      "the chosen stage",
        "resolution": f"Apply multiplies the chosen stage's imgsz by {action.get('imgsz_factor', 1.5):g}",
        "train_longer": f"Apply multiplies the chosen stage's epochs by {action.get('epochs_factor', 2):g}",
        "merge_pair": f"Merging {classes} changes the class set and every label: decide it in class_sets.yaml "
                      "(the workbench does not do it)",
    }.get(kind, f"no action the workbench carries out ({kind})")


def _class_threshold(action: dict, model: Path | None, ws) -> str:
    """The class's threshold on the model's card (a bundled model's card: a workspace copy)."""
    if model is None:
        raise FileNotFoundError("no model given: a class threshold goes on the evaluated model's card")
    entry = entry_of_file(ws, model)
    if action["class"] not in entry.get("classes", []):
        raise ValueError(f"{entry['card_path']}: the model has no class {action['class']!r}")
    name = Path(entry["card_path"]).parent.name
    update_card(ws, name, {"class_conf": {**entry.get("class_conf", {}), action["class"]: float(action["conf"])}})
    return f"{name} keeps {action['class']} from confidence {action['conf']}"


def _stage_settings(ws, stage: str):
    return load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml)).stage(stage).settings


def _oversample(ws, stage: str, classes: list[str]) -> str:
    balance = dict(_stage_settings(ws, stage).balance or {})
    boost = dict(balance.get("boost", {}))
    for name in classes:
        boost[name] = float(boost.get(name, 1.0)) * 2
    update_stage(ws.training_plan_yaml, stage, {"balance": {**balance, "boost": boost}})
    return f"stage {stage}: oversampling " + ", ".join(f"{c} x{boost[c]:g}" for c in classes)


def _resolution(ws, stage: str, factor: float) -> str:
    imgsz = _stage_settings(ws, stage).imgsz
    new = int(math.ceil(imgsz * factor / 32) * 32)
    update_stage(ws.training_plan_yaml, stage, {"imgsz": new})
    return f"stage {stage}: imgsz {imgsz} -> {new}"


def _train_longer(ws, stage: str, factor: float) -> str:
    epochs = _stage_settings(ws, stage).epochs
    new = int(math.ceil(epochs * factor))
    update_stage(ws.training_plan_yaml, stage, {"epochs": new})
    return f"stage {stage}: epochs {epochs} -> {new}"
