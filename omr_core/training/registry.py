"""From a plan stage to a run folder, and from a finished run to a registered model with its card.

    run = prepare_stage(ws, plan, "3.2", has_gpu=False)     # workspace/runs/<plan>-<stage>-<time>/run.json
    train(run)                                              # omr_core.training.runner, in its own process
    card = finish_stage(ws, run)                            # gates.json, models/<run>/best.pt + card.json

A stage's dataset must hold exactly the stage's classes in YOLO id order (convert it with that class set).
With `balance`, training reads a class-balanced image list (`sampling.balance_images`), and the counts before
and after are stored in run.json so the page shows them before training starts.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import yaml

from omr_core.fileio import copy_atomic, write_atomic
from omr_core.names import check_name
from omr_core.registry import (
    BUNDLED_MODELS,
    file_hashes,
    register_model,
    require_trusted,
    update_card,
    workspace_models,
    write_card,
)
from omr_core.training.gates import evaluate, gate_passed, load_criteria, stage_metrics
from omr_core.training.plan import PlanError, Stage, TrainingPlan, check_settings
from omr_core.training.runner import read_progress
from omr_core.training.sampling import Balance, balance_images, write_image_list

ULTRALYTICS_SETTINGS = ("epochs", "imgsz", "batch", "nbs", "patience", "amp", "device", "workers")


class StageError(ValueError):
    pass


def prepare_stage(ws, plan: TrainingPlan, stage_name: str, has_gpu: bool, weights: Path | None = None,
                  criteria_yaml: Path | None = None, wandb: str = "offline", overrides: dict | None = None,
                  estimate_s: float | None = None, trust_pickle: bool = False) -> Path:
    """Write the run folder of one stage; returns it. `weights` overrides where the stage starts from;
    `wandb` is "offline", "online" (with WANDB_API_KEY in the training process) or "off"; `overrides`
    changes settings for this run only (epochs, imgsz, model, batch: `launch.EDITABLE`), recorded in run.json
    with the duration estimated before it started (`estimate_s`, from `training.estimate`). Start weights
    that are a .pt nobody vouched for (omr_core.registry) are refused unless `trust_pickle`, which the run
    records so that its training process may load them."""
    from omr_core.formats.yolo import read_data_yaml

    stage = plan.stage(stage_name)
    dataset = ws.dataset(stage.dataset)
    if not (dataset / "data.yaml").is_file():
        raise StageError(f"stage {stage.name!r} trains on dataset {stage.dataset!r}, but {dataset} has no data.yaml: "
                         f"convert a source with class set {stage.class_set.name!r} under that name first")
    names = [read_data_yaml(dataset)["names"][i] for i in sorted(read_data_yaml(dataset)["names"])]
    if names != list(stage.class_set.names):
        raise StageError(f"dataset {stage.dataset!r} has classes {names[:6]}... ({len(names)}), but stage "
                         f"{stage.name!r} needs class set {stage.class_set.name!r} ({len(stage.class_set)} classes) "
                         f"in that order: convert with --class-set {stage.class_set.name}")
    settings = plan.settings_for(stage, has_gpu)
    overrides = dict(overrides or {})
    if overrides:
        try:
            settings = replace(settings, **overrides)
            check_settings(settings, f"stage {stage.name!r}, changed for this run")
        except (TypeError, PlanError) as exc:
            raise StageError(f"stage {stage.name!r}: cannot change {sorted(overrides)} for this run: {exc}") from exc
    start = weights or _start_weights(ws, plan, stage)  # every refusal comes before anything is written
    if start is not None and Path(start).suffix == ".pt":
        require_trusted(Path(start), ws, consent=trust_pickle)
    run_dir = _new_run_dir(ws.runs, f"{plan.name}-{stage.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    data_yaml, balance = _training_data(dataset, run_dir, settings.balance)
    class_weights = None
    if settings.weighted_loss:  # the dataset's suggested class-balanced weights, in YOLO id order
        report = json.loads((dataset / "reports" / "validation.json").read_text())["class_weights"]["classes"]
        class_weights = [float(report[name]["weight"]) or 1.0 for name in names]  # absent classes: neutral weight
    spec = {
        "class_weights": class_weights, "wandb": wandb,
        "plan": plan.name, "stage": stage.name, "class_set": stage.class_set.name, "class_names": names,
        "dataset": stage.dataset, "data": str(data_yaml), "model": str(start) if start else settings.model,
        "parent": str(start) if start else None, "gate": stage.gate,
        "criteria": str(criteria_yaml) if criteria_yaml else None,
        "settings": {**{k: getattr(settings, k) for k in ULTRALYTICS_SETTINGS}, **settings.augment},
        "balance": balance, "overrides": overrides, "estimate_s": estimate_s,
        "command": f"python -m omr_core train {run_dir}",
        "warnings": [w for w in [scale_warning(dataset, settings.imgsz)] if w],
        "trust_pickle": bool(trust_pickle and start is not None),
    }
    write_atomic(run_dir / "run.json", json.dumps(spec, indent=2))
    return run_dir


def _new_run_dir(runs: Path, name: str) -> Path:
    for suffix in ["", *(f"-{i}" for i in range(2, 100))]:
        try:
            (runs / f"{name}{suffix}").mkdir(parents=True)
            return runs / f"{name}{suffix}"
        except FileExistsError:
            continue
    raise StageError(f"{runs}: too many runs named {name}")


def _training_data(dataset: Path, run_dir: Path, balance: dict | None) -> tuple[Path, dict | None]:
    """The data.yaml the run trains on: the dataset's own, or a copy whose train split is a balanced list."""
    if not balance:
        return dataset / "data.yaml", None
    images, result = balance_preview(dataset, balance)
    listing = write_image_list(run_dir / "train_balanced.txt", [str(dataset / i) for i in images], result)
    spec = yaml.safe_load((dataset / "data.yaml").read_text())
    spec["train"] = str(listing)
    data_yaml = run_dir / "data.yaml"
    write_atomic(data_yaml, yaml.safe_dump(spec, sort_keys=False))
    return data_yaml, {"settings": balance, "images": len(images), "listed": int(len(result.indices)),
                       "before": result.before, "after": result.after, "short": result.short}


def balance_preview(dataset: Path, balance: dict):
    """The training images of a converted set and their class-balanced list (nothing written)."""
    from omr_core.datasets.index import DatasetIndex

    index = DatasetIndex.open(dataset)
    train = index.frame[index.frame["split"] == "train"]
    images = sorted(train["image"].unique())
    per_image = {image: Counter() for image in images}
    for image, name in zip(train["image"], train["class_name"]):
        if isinstance(name, str):
            per_image[image][name] += 1
    return images, balance_images([per_image[i] for i in images], Balance(**balance))


def _start_weights(ws, plan: TrainingPlan, stage: Stage) -> Path | None:
    if stage.start_from == "none":
        return None
    if stage.start_from != "previous":
        path = Path(stage.start_from)
        if not path.is_file():
            raise StageError(f"stage {stage.name!r} starts from {path}, which is not a file")
        return path
    previous = plan.stages[[s.name for s in plan.stages].index(stage.name) - 1]
    cards = [c for c in list_models(ws) if c.get("plan") == plan.name and c.get("stage") == previous.name]
    if not cards:
        raise StageError(f"stage {stage.name!r} starts from stage {previous.name!r}, which has no registered model "
                         f"yet: train {previous.name!r} first, or pass weights")
    passed = [c for c in cards if c.get("gate_passed") or c.get("override")]
    if not passed:
        raise StageError(f"stage {previous.name!r} did not pass its gate ({cards[-1]['gate']}); fix it, or override "
                         f"the gate on its model card to go on")
    return Path(passed[-1]["weights"])


def finish_stage(ws, run_dir: Path) -> dict:
    """Evaluate the gates on best.pt's final validation and register the model with its card."""
    spec = json.loads((run_dir / "run.json").read_text())
    events = read_progress(run_dir)
    final = next((e for e in reversed(events) if e["type"] == "final"), None)
    if final is None:
        raise StageError(f"{run_dir}: no final validation in progress.jsonl: the run did not finish")
    criteria = load_criteria(spec.get("criteria"))
    per_class_f1 = {name: stats["f1"] for name, stats in final.get("per_class", {}).items()}
    metrics = stage_metrics(final["metrics"].get("metrics/mAP50(B)"), per_class_f1, criteria.get("key_classes", []))
    metrics["mAP75"] = final["metrics"].get("metrics/mAP75(B)")
    metrics["mAP50-95"] = final["metrics"].get("metrics/mAP50-95(B)")
    gate = spec.get("gate")
    results = {group: [r.to_dict() for r in evaluate(criteria, group, metrics)]
               for group in ([gate] if gate else []) + ["minimum_acceptable", "target_performance"]}
    passed = gate_passed(evaluate(criteria, gate, metrics)) if gate else True
    write_atomic(run_dir / "gates.json", json.dumps(results, indent=2))
    card = {
        "name": run_dir.name, "plan": spec["plan"], "stage": spec["stage"], "class_set": spec["class_set"],
        "classes": spec["class_names"], "data": spec["dataset"], "parent": spec["parent"],
        "metrics": metrics, "per_class": final.get("per_class", {}), "gate": gate, "gate_passed": passed,
        "gates": results, "override": False,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": spec["command"],
        "epochs": max((e["epoch"] for e in events if e["type"] == "epoch"), default=0),
        "imgsz": spec["settings"].get("imgsz"),
        **data_provenance(ws.dataset(spec["dataset"])),
        "scale_augment": spec["settings"].get("scale", 0.5),  # Ultralytics' random zoom: 1 +- this
    }
    card["staff_space_seen_px"] = seen_range(card.get("staff_space_range_px"), card["scale_augment"])
    return register_model(ws, run_dir.name, run_dir / "ultralytics" / "weights" / "best.pt", card,
                          f"trained in this workspace (run {run_dir.name})")


def seen_range(range_px: list | None, scale_augment: float) -> list[float] | None:
    """The staff spaces a model saw in training: its images' range widened by Ultralytics' random zoom."""
    if not range_px:
        return None
    return [round(range_px[0] * (1 - scale_augment), 2), round(range_px[1] * (1 + scale_augment), 2)]


# A model cannot learn symbols drawn at a staff space below this: the smallest one the canonical-staff-space
# experiment trained well at (bench/RESULTS.md).
MIN_TRAIN_STAFF_SPACE_PX = 10.0


def dataset_geometry(dataset: Path) -> tuple[float | None, int | None]:
    """The staff space (px) of a converted set's images and their longest side (px): the tile size, or the
    largest page side of its index. None where the set does not say."""
    from omr_core.formats.yolo import read_data_yaml

    dataset = Path(dataset)
    space = read_data_yaml(dataset).get("staff_space_px")
    side = None
    conversion = dataset / "conversion.json"
    if conversion.is_file():
        side = json.loads(conversion.read_text())["config"].get("tile_px")
    if side is None and (dataset / "index.parquet").is_file():
        import pandas as pd

        frame = pd.read_parquet(dataset / "index.parquet", columns=["image_w", "image_h"])
        side = int(max(frame["image_w"].max(), frame["image_h"].max())) if len(frame) else None
    return (float(space) if space else None), side


def scale_warning(dataset: Path, imgsz: int) -> str | None:
    """Why a stage would train on symbols it cannot see, or None: Ultralytics resizes each image so that its
    longest side is `imgsz`, which shrinks the staff space by imgsz / side."""
    space, side = dataset_geometry(dataset)
    if space is None or side is None or side <= imgsz:
        return None
    seen = space * imgsz / side
    if seen >= MIN_TRAIN_STAFF_SPACE_PX:
        return None
    return (f"{Path(dataset).name}: its images are {side} px with a staff space of {space:.1f} px; at imgsz {imgsz} "
            f"they are shrunk x{imgsz / side:.2f}, to a staff space of {seen:.1f} px, below the "
            f"{MIN_TRAIN_STAFF_SPACE_PX:.0f} px a model can learn symbols at (dots and stems vanish). Convert with "
            f"tiles (--tile {imgsz}) at the canonical staff space (--staff-space), or raise imgsz to {side}.")


def data_provenance(dataset: Path) -> dict:
    """What a model card says of its data: the tile geometry the detector must infer with (`tile_px`,
    `overlap_px`; None for untiled sets) and the commands that remake the dataset (generate, convert)."""
    from omr_core.datasets.convert import ConvertConfig
    from omr_core.formats.deepscores import DeepScoresReader
    from omr_core.rendering.generate import GenerateConfig

    path = Path(dataset) / "conversion.json"
    if not path.is_file():  # a YOLO folder made elsewhere (real scans, an export)
        from omr_core.formats.yolo import read_data_yaml

        spec = read_data_yaml(Path(dataset)) if (Path(dataset) / "data.yaml").is_file() else {}
        return {"tile_px": None, "overlap_px": None, "data_commands": [], "staff_space_px": spec.get("staff_space_px"),
                "staff_space_range_px": spec.get("staff_space_range_px")}
    config = ConvertConfig(**json.loads(path.read_text())["config"])
    commands = []
    source = Path(config.source)
    header = DeepScoresReader(source / "deepscores_train.json") if source.is_dir() else None
    if header is not None and header.path.is_file():
        header.read_pages()
        generator = header.info.get("generator")
        if generator:
            commands.append("python -m omr_core " + " ".join(GenerateConfig(**generator).cli_args()))
    commands.append("python -m omr_core " + " ".join(config.cli_args()))
    from omr_core.formats.yolo import read_data_yaml

    spec = read_data_yaml(Path(dataset))
    return {"tile_px": config.tile_px, "overlap_px": config.overlap_px if config.tile_px else None,
            "data_commands": commands, "staff_space_px": spec.get("staff_space_px"),
            "staff_space_range_px": spec.get("staff_space_range_px")}


def list_models(ws, problems=None) -> list[dict]:
    """Model cards of the models the workspace trained, oldest first (unreadable cards reported in
    `problems`, a ProblemLog, and left out)."""
    return workspace_models(ws, problems)


def override_gate(ws, name: str, reason: str) -> dict:
    """The user takes a failed gate's model on anyway: recorded on its card, with the reason."""
    return update_card(ws, name, {"override": True, "override_reason": reason})


def bundle_model(ws, name: str, target_root: Path = BUNDLED_MODELS, bundle_name: str | None = None) -> dict:
    """Validate a registered model on its dataset's test split (pieces it never saw in training) and copy it,
    with its card, into the repository's models/ folder (as `bundle_name`, default its own name), so a fresh
    checkout has a working detector."""
    from omr_core.offline import import_ultralytics

    from omr_core.registry import MODEL_FILES, find_model

    entry = find_model(name, ws)
    source = Path(entry["dir"])
    require_trusted(source / "best.pt", ws)  # validation below unpickles it
    card = {k: v for k, v in entry.items() if k not in ("dir", "card_path", "origin", "model_files")}
    data = ws.dataset(card["data"]) / "data.yaml"
    spec = yaml.safe_load(data.read_text())
    split = "test" if spec.get("test") else "val"
    import_ultralytics()
    from ultralytics import YOLO

    from omr_core.inference.backends import MAX_DET

    metrics = YOLO(str(source / "best.pt")).val(data=str(data), split=split, imgsz=card.get("imgsz", 640), max_det=MAX_DET,
                                                batch=4, workers=0, plots=False, verbose=False)
    box = metrics.box
    names = metrics.names
    per_class = {names[int(c)]: {"p": float(p), "r": float(r), "map50": float(m)}
                 for c, p, r, m in zip(box.ap_class_index, box.p, box.r, box.ap50)}
    card["test_metrics"] = {"split": split, "note": f"{split} split: pieces never seen in training",
                            "mAP50": float(box.map50), "mAP50-95": float(box.map), "mAP75": float(box.map75),
                            "per_class": per_class}
    if bundle_name:
        card.update(name=check_name(bundle_name), registered_as=name)
    target = target_root / card["name"]
    copy_atomic(source / "best.pt", target / "best.pt")
    for derived in MODEL_FILES[1:]:  # a model bundled over another keeps none of the other's exports
        if (source / derived).is_file():
            copy_atomic(source / derived, target / derived)
        elif (target / derived).is_file():
            (target / derived).unlink()  # after the new weights are in place: they are not this model's
    card["weights"] = str((target / "best.pt").relative_to(target_root.parent))
    card["files"] = file_hashes(target)  # what makes the bundled .pt trusted in every checkout
    write_card(target, card)
    write_atomic(target / "README.md", _card_markdown(card))
    return card


def _card_markdown(card: dict) -> str:
    test = card.get("test_metrics", {})
    lines = [f"# {card['name']}", "", f"- stage {card['stage']} (class set {card['class_set']}, {len(card['classes'])} classes)",
             f"- trained on `{card['data']}`; parent: {card['parent'] or 'none (from the model YAML)'}",
             f"- {card['epochs']} epochs; made with `{card['command']}` on {card['date']}",
             *[f"- data: `{c}`" for c in card.get("data_commands", [])],
             f"- tiles: {card.get('tile_px') or 'whole images'} px" + (f", overlap {card['overlap_px']} px"
                                                                          if card.get("tile_px") else ""),
             f"- validation at the end of training: mAP50 {card['metrics'].get('mAP50')}",
             f"- {test.get('note', '')}: mAP50 {test.get('mAP50', float('nan')):.3f}, mAP50-95 "
             f"{test.get('mAP50-95', float('nan')):.3f}",
             f"- gate {card['gate']}: {'passed' if card['gate_passed'] else 'failed'}", "", "| class | P | R | mAP50 |",
             "|---|---:|---:|---:|"]
    lines += [f"| {c} | {v['p']:.3f} | {v['r']:.3f} | {v['map50']:.3f} |" for c, v in test.get("per_class", {}).items()]
    return "\n".join(lines) + "\n"
