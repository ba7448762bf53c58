import json

import pytest
import yaml

from omr_core.annotation.queue import read_wanted
from omr_core.evaluation.suggestions import Suggestion
from omr_core.workflows.apply_suggestion import apply
from omr_core.workspace import Workspace


def suggestion(kind="class_threshold", **action):
    return Suggestion("rule", ("restHalf",), "m", {"kind": kind, "class": "restHalf", **action}, {})


def test_a_class_threshold_goes_on_the_card(tmp_path):
    ws = Workspace.open(tmp_path)
    folder = ws.models / "m"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"name": "m", "classes": ["restHalf", "stem"]}))
    apply(suggestion(conf=0.12), folder / "best.onnx", ws)
    assert json.loads((folder / "card.json").read_text())["class_conf"] == {"restHalf": 0.12}
    with pytest.raises(ValueError, match="no class 'clefF'"):
        apply(Suggestion("r", ("clefF",), "m", {"kind": "class_threshold", "class": "clefF", "conf": 0.1}, {}),
              folder, ws)


def test_a_bundled_models_threshold_goes_on_a_workspace_copy_of_its_card(tmp_path):
    from omr_core.registry import BUNDLED_MODELS, resolve_model

    ws = Workspace.open(tmp_path)
    bundled = min(BUNDLED_MODELS.glob("*/card.json")).parent
    before = (bundled / "card.json").read_bytes()
    klass = json.loads(before)["classes"][0]
    made = Suggestion("r", (klass,), "m", {"kind": "class_threshold", "class": klass, "conf": 0.4}, {})
    apply(made, bundled / "best.onnx", ws)
    assert (bundled / "card.json").read_bytes() == before  # the repository's file is never written
    copy = json.loads((ws.models / bundled.name / "card.json").read_text())
    assert copy["class_conf"] == {klass: 0.4} and copy["model_files"] == "bundled"
    ref = resolve_model(bundled.name, ws)  # the edited card now comes with the bundled files
    assert ref.path == bundled / "best.onnx" and ref.card["class_conf"] == {klass: 0.4}
    assert resolve_model(bundled.name, ws, prefer="torch").trusted  # its .pt is still the bundled, hashed one


def stage_entry(ws, name):
    return next(s for s in yaml.safe_load(ws.training_plan_yaml.read_text())["stages"] if s["name"] == name)


def test_plan_actions_change_the_chosen_stage(tmp_path):
    ws = Workspace.open(tmp_path)
    comments = ws.training_plan_yaml.read_text().count("#")
    apply(suggestion("oversample"), ws=ws, stage="3.2")
    apply(suggestion("oversample"), ws=ws, stage="3.2")
    balance = stage_entry(ws, "3.2")["balance"]
    assert balance["boost"] == {"restHalf": 4.0} and balance["min_instances"] == 500  # the plan's own kept
    done = apply(suggestion("label_more", then="oversample"), ws=ws, stage="3.2")
    assert "restHalf x8" in done and read_wanted(ws.real_scans) == ["restHalf"]
    apply(suggestion("resolution", imgsz_factor=1.5), ws=ws, stage="3.3")
    assert stage_entry(ws, "3.3")["imgsz"] == 1536
    assert ws.training_plan_yaml.read_text().count("#") == comments


@pytest.mark.parametrize("made, message", [
    (suggestion("merge_pair"), "applies .* itself"),
    (suggestion("oversample"), "give the workspace and stage"),
])
def test_what_cannot_be_applied_is_refused(tmp_path, made, message):
    with pytest.raises(ValueError, match=message):
        apply(made, tmp_path)


def test_targets_offer_the_stage_after_the_evaluated_models_own(tmp_path):
    from omr_core.workflows.apply_suggestion import targets

    ws = Workspace.open(tmp_path)
    folder = ws.models / "m"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"name": "m", "classes": ["stem"], "stage": "3.1"}))
    (folder / "best.onnx").write_bytes(b"onnx")
    found = targets(ws, {"model": str(folder / "best.onnx")})
    assert found.model["name"] == "m" and found.stages[found.first] == "3.2" and "3.1" in found.stages
    bare = targets(ws, {"model": str(tmp_path / "elsewhere.onnx")})
    assert bare.model is None and bare.first == 0
    ws.training_plan_yaml.write_text("stages: {}\n")  # a plan that cannot be read: nothing to apply to
    assert targets(ws, {"model": str(folder / "best.onnx")}).stages == []
