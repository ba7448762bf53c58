import json

import pytest
import yaml

from omr_core.annotation.queue import read_wanted
from omr_core.evaluation.actions import apply
from omr_core.evaluation.suggestions import Suggestion
from omr_core.workspace import Workspace


def suggestion(kind="class_threshold", **action):
    return Suggestion("rule", ("restHalf",), "m", {"kind": kind, "class": "restHalf", **action}, {})


def test_a_class_threshold_goes_on_the_card(tmp_path):
    (tmp_path / "card.json").write_text(json.dumps({"name": "m", "classes": ["restHalf", "stem"]}))
    apply(suggestion(conf=0.12), tmp_path)
    assert json.loads((tmp_path / "card.json").read_text())["class_conf"] == {"restHalf": 0.12}
    with pytest.raises(ValueError, match="no class 'clefF'"):
        apply(Suggestion("r", ("clefF",), "m", {"kind": "class_threshold", "class": "clefF", "conf": 0.1}, {}),
              tmp_path)


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
