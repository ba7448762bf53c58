import pytest
import yaml

from omr_core.catalog import load_class_sets
from omr_core.training.plan import DEFAULT_PLAN_YAML, load_plan
from omr_core.training.plan_edit import PlanEditError, update_stage


def test_one_stage_changes_and_every_comment_stays(tmp_path):
    plan = tmp_path / "training_plan.yaml"
    plan.write_text(DEFAULT_PLAN_YAML.read_text())
    before = plan.read_text().splitlines()
    entry = update_stage(plan, "3.2", {"imgsz": 1536, "balance": {"boost": {"restHalf": 2}}})
    assert entry["imgsz"] == 1536 and entry["balance"] == {"boost": {"restHalf": 2}}
    after = plan.read_text().splitlines()
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert len(before) == len(after) and len(changed) == 1 and "3.2" in after[changed[0]]
    stage = load_plan(plan, load_class_sets()).stage("3.2")
    assert stage.settings.imgsz == 1536 and stage.settings.balance == {"boost": {"restHalf": 2}}
    update_stage(plan, "3.2", {"balance": {"min_instances": 300}})  # dicts merge one level deep
    assert yaml.safe_load(plan.read_text())["stages"][1]["balance"] == {"boost": {"restHalf": 2}, "min_instances": 300}


def test_a_stage_not_on_one_line_is_refused(tmp_path):
    plan = tmp_path / "p.yaml"
    plan.write_text("stages:\n  - name: a\n    class_set: '3.1'\n    dataset: d\n")
    with pytest.raises(PlanEditError, match="no stage 'a' written on one line"):
        update_stage(plan, "a", {"imgsz": 640})
