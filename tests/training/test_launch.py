"""What a stage will run with before it starts: settings on this machine, changes for one run, the time
budget, the notes, and the run folder that records them."""

import json
import shutil
from dataclasses import asdict

import pytest

from omr_core.catalog import load_class_sets
from omr_core.training.estimate import STARTUP_S, StepTiming, save_timing
from omr_core.training.launch import preview_stage, stage_table
from omr_core.training.plan import load_plan
from omr_core.training.registry import StageError, prepare_stage
from omr_core.workspace import Workspace


@pytest.fixture
def ws(tmp_path, ready_workspace):
    ws = Workspace.open(tmp_path / "ws")
    for name in ("corpus-3.1", "corpus-default-all"):
        shutil.copytree(ready_workspace.dataset(name), ws.dataset(name))
    return ws


def plan_of(ws):
    return load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml))


def slow_step(ws, train_s=2.0):
    save_timing(ws.step_times, StepTiming("yolov8n.yaml", 640, 8, "cpu", 0.0, train_s, 0.5, "2026-12-01"))


def test_without_a_measurement_there_is_no_estimate_but_the_counts(ws):
    preview = preview_stage(ws, plan_of(ws), "3.1", has_gpu=False)
    assert preview.recipe.ready and preview.n_images > 0 and preview.n_val > 0 and 0 < preview.n_train
    assert preview.timing is None and preview.estimate is None and preview.dataset_tile_px == 640
    assert preview.settings.epochs == 12 and preview.overrides == {}


def test_the_cpu_fallback_cuts_epochs_to_its_time_budget(ws):
    slow_step(ws, train_s=5.0)
    preview = preview_stage(ws, plan_of(ws), "3.1", has_gpu=False)
    epoch_s = preview.n_train * 5.0 + preview.n_val * 0.5
    assert preview.estimate.epoch_s == pytest.approx(epoch_s)
    assert preview.budget_epochs == preview.settings.epochs < 12 and preview.estimate.total_s <= 30 * 60
    assert preview.estimate.total_s + epoch_s > 30 * 60  # the most epochs that fit
    assert preview.overrides == {"epochs": preview.budget_epochs}
    assert any("fit the time budget of 30 min" in n.text for n in preview.notes)
    chosen = preview_stage(ws, plan_of(ws), "3.1", has_gpu=False, changes={"epochs": 20})
    assert chosen.settings.epochs == 20 and chosen.budget_epochs is None  # the user's choice wins
    assert chosen.estimate.total_s == pytest.approx(STARTUP_S + 20 * epoch_s + preview.n_val * 0.5)


def test_a_changed_setting_is_measured_on_its_own(ws):
    slow_step(ws)
    preview = preview_stage(ws, plan_of(ws), "3.1", has_gpu=False, changes={"batch": 4, "imgsz": 512})
    assert preview.timing is None and preview.timing_key == "yolov8n.yaml|512|4|cpu"
    assert any("scaled 0.8x" in n.text for n in preview.notes)  # 640-px tiles trained at 512


def test_whole_pages_at_a_small_imgsz_are_warned_about(ws):
    plan = plan_of(ws)
    text = ws.training_plan_yaml.read_text().replace("dataset: corpus-3.1,", "dataset: corpus-default-all,", 1)
    ws.training_plan_yaml.write_text(text)
    plan = plan_of(ws)
    notes = preview_stage(ws, plan, "3.1", has_gpu=False).notes
    assert any(n.level == "warning" and "whole pages" in n.text and "shrinks every symbol about 3x" in n.text
               for n in notes)


def test_the_run_records_its_changes_and_estimate(ws):
    slow_step(ws)
    plan = plan_of(ws)
    preview = preview_stage(ws, plan, "3.1", has_gpu=False, changes={"model": "yolov8s.yaml", "batch": 4})
    run = prepare_stage(ws, plan, "3.1", False, overrides={**preview.overrides, "epochs": 2}, estimate_s=123.0)
    spec = json.loads((run / "run.json").read_text())
    assert spec["overrides"] == {"model": "yolov8s.yaml", "batch": 4, "epochs": 2} and spec["estimate_s"] == 123.0
    assert spec["model"] == "yolov8s.yaml" and spec["settings"]["batch"] == 4 and spec["settings"]["epochs"] == 2
    with pytest.raises(StageError, match="multiple of 32"):
        prepare_stage(ws, plan, "3.1", False, overrides={"imgsz": 500})


def test_the_stage_table_is_words_and_numbers(ws):
    rows = stage_table(ws, plan_of(ws), [])
    assert [r["dataset ready"] for r in rows][:2] == ["ready", "not made"]
    assert rows[0]["starts from"] == "scratch (the model YAML)" and rows[1]["starts from"] == "stage 3.1's best model"
    assert all(v is not None for r in rows for v in r.values())
    assert json.dumps(asdict(preview_stage(ws, plan_of(ws), "3.1", False).settings))  # plain values throughout


def _measure_job(jobs, name, title, returncode=None, message="", wrapper_started=None):
    from omr_core.jobs import write_json_atomic

    folder = jobs / name
    folder.mkdir(parents=True)
    info = {"kind": "measure", "pid": 0, "started": 1.7e9, "command": [], "title": title}
    if wrapper_started is not None:  # a job in its first instants: the wrapper started, no worker record yet
        info["wrapper"] = {"started": wrapper_started}
    write_json_atomic(folder / "job.json", info)
    if returncode is not None:
        (folder / "returncode").write_text(str(returncode))
    write_json_atomic(folder / "progress.json", {"done": 0, "total": 0, "message": message, "state": "x"})


def test_a_measurement_starts_once_and_an_ended_one_waits_to_be_asked(tmp_path):
    import time

    from omr_core.training.launch import Measurement, measurement

    title = "measure a training step (yolov8n, 640 px, batch 8, cpu)"
    assert measurement(tmp_path / "jobs", title) == Measurement("start")  # no jobs folder yet
    _measure_job(tmp_path / "jobs", "20260101-000000-measure-a", "measure a training step (other settings)", 2)
    assert measurement(tmp_path / "jobs", title) == Measurement("start")  # another setting's job is not this one's
    _measure_job(tmp_path / "jobs", "20260101-000001-measure-b", title, 2, "out of memory")
    assert measurement(tmp_path / "jobs", title) == Measurement(
        "ended", "No measured step for these settings: the last measurement failed (out of memory).")
    _measure_job(tmp_path / "jobs", "20260101-000002-measure-c", title, wrapper_started=time.time())
    assert measurement(tmp_path / "jobs", title).state == "running"  # the newest one counts


def test_the_models_offered_are_the_known_ones_and_the_plans_own():
    from omr_core.training.launch import MODELS, model_choices
    from omr_core.training.plan import StageSettings

    assert model_choices(StageSettings(model="yolov8n.yaml")) == sorted(MODELS)
    offered = model_choices(StageSettings(model="my-net.yaml"))
    assert offered == sorted([*MODELS, "my-net.yaml"]) and len(offered) == len(MODELS) + 1
