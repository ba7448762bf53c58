"""Stage -> run folder -> real training -> gates and model card -> the next stage starts from it."""

import json

import pytest

from omr_core.catalog import load_class_sets
from omr_core.datasets.convert import ConvertConfig, convert_deepscores
from omr_core.formats.yolo import read_data_yaml
from omr_core.training.plan import parse_plan
from omr_core.training.registry import (
    StageError,
    bundle_model,
    finish_stage,
    list_models,
    override_gate,
    prepare_stage,
)
from omr_core.training.runner import train
from omr_core.workspace import Workspace

TINY = {"imgsz": 160, "epochs": 1, "batch": 4, "workers": 0, "amp": False, "nbs": 4, "patience": 5,
        "balance": {"min_instances": 40, "max_repeat": 3, "thin_above": 4000, "thin_keep": 0.5}}


@pytest.fixture(scope="module")
def ws(tmp_path_factory, drawn_source):
    ws = Workspace.open(tmp_path_factory.mktemp("train-ws"))
    for class_set in ("3.1", "3.2"):
        convert_deepscores(ConvertConfig(source=str(drawn_source), output=str(ws.dataset(f"tiny-{class_set}")),
                                         class_set=class_set, tile_px=640, overlap_px=160, sample_size=0))
    return ws


@pytest.fixture(scope="module")
def plan():
    spec = {"name": "tiny", "defaults": TINY, "cpu_fallback": {"batch": 4},
            "stages": [{"name": "3.1", "class_set": "3.1", "dataset": "tiny-3.1", "gate": "phase_3_gate"},
                       {"name": "3.2", "class_set": "3.2", "dataset": "tiny-3.2", "gate": "phase_3_gate"}]}
    return parse_plan(spec, load_class_sets())


def test_stages_chain_through_the_registry(ws, plan):
    with pytest.raises(StageError, match="no registered model"):
        prepare_stage(ws, plan, "3.2", has_gpu=False)
    run = prepare_stage(ws, plan, "3.1", has_gpu=False)
    spec = json.loads((run / "run.json").read_text())
    assert spec["settings"]["device"] == "cpu" and spec["model"] == "yolov8s.yaml" and spec["parent"] is None
    assert spec["settings"]["fliplr"] == 0.0  # the augment setting reaches model.train
    balance = spec["balance"]
    rarest = min(balance["before"], key=balance["before"].get)
    assert balance["listed"] > balance["images"] and balance["after"][rarest] > balance["before"][rarest]  # oversampled
    spec["model"] = "yolov8n.yaml"  # the smallest model keeps the test short
    (run / "run.json").write_text(json.dumps(spec))
    train(run)
    card = finish_stage(ws, run)
    assert card["stage"] == "3.1" and card["classes"][:2] == ["noteheadBlackOnLine", "noteheadBlackInSpace"]
    assert card["gate"] == "phase_3_gate" and card["gate_passed"] is False  # one epoch: mAP50 far below 0.70
    assert (card["tile_px"], card["overlap_px"]) == (640, 160)  # what the detector must infer with
    spec_yaml = read_data_yaml(ws.dataset("tiny-3.1"))
    assert card["staff_space_px"] == spec_yaml["staff_space_px"] > 0  # the scale the detector reads inputs at
    lo, hi = card["staff_space_range_px"]
    aug = card["scale_augment"]
    assert card["staff_space_seen_px"] == [round(lo * (1 - aug), 2), round(hi * (1 + aug), 2)]
    assert card["data_commands"][-1].startswith("python -m omr_core convert ") and "--tile 640" in card["data_commands"][-1]
    gates = json.loads((run / "gates.json").read_text())
    assert gates["phase_3_gate"][0]["status"] == "failed" and "minimum_acceptable" in gates
    assert list_models(ws)[-1]["name"] == run.name and (ws.models / run.name / "best.pt").is_file()

    bundled = bundle_model(ws, run.name, target_root=ws.root / "repo-models")  # as `python -m omr_core bundle`
    assert bundled["test_metrics"]["split"] == "test" and "mAP50" in bundled["test_metrics"]
    assert (ws.root / "repo-models" / run.name / "best.pt").is_file()
    assert "pieces never seen in training" in (ws.root / "repo-models" / run.name / "README.md").read_text()
    stale = ws.root / "repo-models" / "tiny-3.1" / "best.onnx"  # an export of the model bundled there before
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"another model's export")
    renamed = bundle_model(ws, run.name, target_root=ws.root / "repo-models", bundle_name="tiny-3.1")
    assert renamed["name"] == "tiny-3.1" and renamed["registered_as"] == run.name
    assert (ws.root / "repo-models" / "tiny-3.1" / "best.pt").is_file()
    assert not stale.exists() and set(renamed["files"]) == {"best.pt"}  # nothing of the other model is trusted

    with pytest.raises(StageError, match="did not pass its gate"):
        prepare_stage(ws, plan, "3.2", has_gpu=False)
    override_gate(ws, run.name, "test: go on anyway")
    second = json.loads((prepare_stage(ws, plan, "3.2", has_gpu=False) / "run.json").read_text())
    assert second["parent"] == str(ws.models / run.name / "best.pt") == second["model"]


def test_a_dataset_with_other_classes_is_refused(ws, plan):
    wrong = parse_plan({"stages": [{"name": "x", "class_set": "3.2", "dataset": "tiny-3.1"}]}, load_class_sets())
    with pytest.raises(StageError, match="convert with --class-set 3.2"):
        prepare_stage(ws, wrong, "x", has_gpu=False)
    missing = parse_plan({"stages": [{"name": "y", "class_set": "3.1", "dataset": "nope"}]}, load_class_sets())
    with pytest.raises(StageError, match="has no data.yaml"):
        prepare_stage(ws, missing, "y", has_gpu=False)


def test_weighted_loss_reaches_the_model(ws, tmp_path):
    from omr_core.offline import import_ultralytics

    spec = {"name": "weighted", "defaults": {**TINY, "weighted_loss": True, "balance": {}},
            "stages": [{"name": "3.1", "class_set": "3.1", "dataset": "tiny-3.1"}]}
    plan = parse_plan(spec, load_class_sets())
    run = prepare_stage(ws, plan, "3.1", has_gpu=False)
    run_spec = json.loads((run / "run.json").read_text())
    weights = run_spec["class_weights"]
    assert len(weights) == 8 and len(set(weights)) > 1  # rarer classes weigh more than common ones
    run_spec["model"] = "yolov8n.yaml"
    (run / "run.json").write_text(json.dumps(run_spec))
    train(run)
    import_ultralytics()
    import torch

    saved = torch.load(run / "ultralytics" / "weights" / "last.pt", map_location="cpu", weights_only=False)
    model = saved["ema"] or saved["model"]
    assert torch.allclose(model.class_weights.float().cpu(), torch.tensor(weights, dtype=torch.float32))


def test_a_stage_warns_before_training_on_symbols_shrunk_too_far(engraved, tmp_path):
    """Whole engraved pages (2772 px, staff space ~17 px) at imgsz 640 would train at a staff space of ~4 px;
    tiles at a canonical staff space would not. The warning says what to do and reaches run.json."""
    from omr_core.training.registry import MIN_TRAIN_STAFF_SPACE_PX, scale_warning

    ws = Workspace.open(tmp_path / "ws")
    whole = ws.dataset("pages-3.1")
    convert_deepscores(ConvertConfig(source=str(engraved), output=str(whole), class_set="3.1", staff_space_px=17.0,
                                     sample_size=0))
    tiled = ws.dataset("tiles-3.1")
    convert_deepscores(ConvertConfig(source=str(engraved), output=str(tiled), class_set="3.1", staff_space_px=12.0,
                                     tile_px=640, overlap_px=96, sample_size=0))
    warning = scale_warning(whole, 640)
    assert warning and "to a staff space of 4.0 px" in warning and "--tile 640" in warning
    assert f"{MIN_TRAIN_STAFF_SPACE_PX:.0f} px" in warning
    assert scale_warning(whole, 2700) is None and scale_warning(tiled, 640) is None
    plan = parse_plan({"name": "p", "defaults": {**TINY, "imgsz": 640}, "stages": [
        {"name": "3.1", "class_set": "3.1", "dataset": "pages-3.1"}]}, load_class_sets())
    spec = json.loads((prepare_stage(ws, plan, "3.1", has_gpu=False) / "run.json").read_text())
    assert spec["warnings"] == [warning]
