"""What the Training page shows, computed in omr_core: changed settings, the measurement's title, the models
whose gate failed, a run's progress words, the comparison and the pipeline check's rows."""

from pathlib import Path

from omr_core.catalog import load_class_sets
from omr_core.training.launch import changed_settings, failed_gate_models, measure_title
from omr_core.training.pipeline_check import all_passed, result_rows
from omr_core.training.plan import DEFAULT_PLAN_YAML, StageSettings, load_plan
from omr_core.training.runs import RunSummary, compare_rows


def test_only_the_settings_the_user_changed_are_changes():
    settings = StageSettings(model="yolov8n.yaml", imgsz=640, batch=8)
    assert changed_settings(settings, model="yolov8n.yaml", imgsz=960, batch=8) == {"imgsz": 960}
    assert measure_title(settings) == "measure a training step (yolov8n, 640 px, batch 8, auto)"


def test_failed_gates_are_the_stages_own_not_overridden_models():
    plan = load_plan(DEFAULT_PLAN_YAML, load_class_sets())
    stage = plan.stages[0]
    cards = [{"name": "a", "plan": plan.name, "stage": stage.name, "gate_passed": False},
             {"name": "b", "plan": plan.name, "stage": stage.name, "gate_passed": True},
             {"name": "c", "plan": plan.name, "stage": stage.name, "gate_passed": False, "override": True},
             {"name": "d", "plan": "other", "stage": stage.name, "gate_passed": False},
             {"name": "e", "plan": plan.name, "stage": plan.stages[1].name, "gate_passed": False}]
    assert [c["name"] for c in failed_gate_models(cards, plan, stage)] == ["a"]


def run(state: str, events: list[dict], **final) -> RunSummary:
    epochs = [e["epoch"] for e in events if e["type"] == "epoch"]
    return RunSummary(Path("/runs/r1"), {"stage": "3.1", "settings": {"epochs": 50}}, state, max(epochs, default=0), events)


def test_a_runs_progress_and_comparison_rows():
    events = [{"type": "epoch", "epoch": 1, "metrics": {"metrics/mAP50(B)": 0.4}},
              {"type": "batch", "epoch": 2, "batch": 30, "losses": {}},
              {"type": "final", "metrics": {"metrics/mAP50(B)": 0.5, "fitness": 1}}]
    assert run("running", events).epoch_text == "2 of 50" and run("stopped", events).epoch_text == "1 of 50"
    assert run("running", events).last_map50 == 0.4 and run("prepared", []).last_map50 is None
    assert compare_rows([run("done", events)]) == [{"run": "r1", "stage": "3.1", "state": "done", "epochs": 1,
                                                    "metrics/mAP50(B)": 0.5}]


def test_pipeline_check_rows_say_passed_or_failed_with_the_first_line():
    results = [{"description": "loads", "passed": True, "seconds": 1.0, "detail": "10 images\nmore"},
               {"description": "predicts", "passed": False, "seconds": 2.0, "detail": "no box"}]
    assert result_rows(results) == [
        {"description": "loads", "result": "passed", "seconds": 1.0, "first line": "10 images"},
        {"description": "predicts", "result": "FAILED", "seconds": 2.0, "first line": "no box"}]
    assert not all_passed(results) and all_passed([results[0]] * 4)
