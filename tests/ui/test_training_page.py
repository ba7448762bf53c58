"""The Training page with AppTest: a fresh workspace starts stage 3.1 (first start, measured estimate, settings
changed for the run, live epoch and batch), every stage's dataset is one click away, a recorded run (a real
3-epoch tiny run in tests/data/recorded_run) shows its curves, and the pipeline check says why it failed."""

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from omr_core.jobs import list_jobs
from omr_core.training.estimate import StepTiming, save_timing
from omr_core.workspace import Workspace
from tests.conftest import APP, DATA
from tests.ui.apptest import assert_nothing_raw, open_tab, tab

RUN_NAME = "recorded-3.1-20261121-000000"


@pytest.fixture
def ws(tmp_path, ready_workspace):
    """A workspace as the first start leaves it (source, every-class set, stage 3.1's set), and a recorded run."""
    ws = Workspace.open(tmp_path / "ws")
    shutil.copytree(ready_workspace.source("corpus-default"), ws.source("corpus-default"))
    for name in ("corpus-3.1", "corpus-default-all"):
        shutil.copytree(ready_workspace.dataset(name), ws.dataset(name))
    shutil.copytree(DATA / "recorded_run", ws.runs / RUN_NAME)
    # a step measured before, so no measurement job starts behind these tests
    save_timing(ws.step_times, StepTiming("yolov8n.yaml", 640, 8, "cpu", 0.01, 0.5, 0.12, "2026-12-01 20:36:01"))
    return ws


def page(ws, monkeypatch) -> AppTest:
    monkeypatch.setenv("SCOREEYE_WORKSPACE", str(ws.root))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("pages/training.py").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(ws, monkeypatch):
    return page(ws, monkeypatch)


def stop_all(ws):
    for job in list_jobs(ws.jobs):
        job.stop()
        job.wait(30)


def test_stages_follow_the_plan(app):
    at = app
    assert at.title[0].value == "Training"
    stages = tab(at, "Stages").dataframe[0].value
    assert list(stages["stage"]) == ["3.1", "3.2", "3.3", "3.4", "noise", "finetune"]
    assert list(stages["dataset ready"]) == ["ready"] + ["not made"] * 5  # the first start made 3.1's
    assert_nothing_raw(at)


def test_before_a_stage_starts_its_settings_and_estimate_are_shown(app, ws):
    at = app
    metrics = {m.label: m.value for m in at.metric}
    assert at.number_input(key="training-imgsz-3.1").value == 640 and at.number_input(key="training-batch-3.1").value == 8
    assert at.selectbox(key="training-model-3.1").value == "yolov8n.yaml"
    epochs = next(n for n in at.number_input if str(n.key).startswith("training-epochs-3.1-"))
    assert 1 <= epochs.value <= 12
    assert "Estimated duration" in metrics and metrics["Estimated duration"].endswith(("s", "min"))
    assert any("0.51 s per training image" in c.value for c in at.caption)
    assert not list_jobs(ws.jobs, "measure")  # measured before: nothing to measure again
    assert_nothing_raw(at)


def test_a_changed_setting_changes_the_estimate_and_is_recorded_on_the_run(app, ws):
    at = app
    before = {m.label: m.value for m in at.metric}["Estimated duration"]
    epochs = next(n for n in at.number_input if str(n.key).startswith("training-epochs-3.1-"))
    epochs.set_value(epochs.value + 5).run()
    after = {m.label: m.value for m in at.metric}["Estimated duration"]
    assert after != before
    at.button(key="training-start").click().run()
    assert not at.exception, at.exception
    try:
        (job,) = list_jobs(ws.jobs, "train")
        run_dir = job.info["command"][-1]
        spec = json.loads((ws.runs / run_dir.rsplit("/", 1)[-1] / "run.json").read_text())
        assert spec["overrides"]["epochs"] == epochs.value and spec["settings"]["epochs"] == epochs.value
        assert spec["estimate_s"] > 0
        assert at.session_state["training-tab"] == "Stages"  # the user stays where they were
        assert len([p for p in at.get("progress")]) == 1  # one banner: the run just started
    finally:
        stop_all(ws)


def test_every_stage_dataset_is_one_click_away(app, ws):
    at = app
    at.selectbox(key="training-stage").set_value("3.2").run()
    assert any("One click makes it" in w.value and "class set 3.2" in w.value for w in at.warning)
    at.button(key="training-make-data").click().run()
    (job,) = list_jobs(ws.jobs, "stage-data")
    assert job.wait(180) == "done", job.log_tail()
    assert "corpus-3.2" in ws.list_datasets()
    config = json.loads((ws.dataset("corpus-3.2") / "conversion.json").read_text())["config"]
    assert (config["class_set"], config["tile_px"]) == ("3.2", 640)
    at.run()
    assert not at.exception and any("Dataset **corpus-3.2**" in m.value for m in at.markdown)
    at.selectbox(key="training-stage").set_value("finetune").run()
    assert [link.proto.page for link in at.get("page_link")] == ["annotation"]  # exported there
    at.selectbox(key="training-stage").set_value("noise").run()
    assert any("scan-like (phone) variant" in w.value for w in at.warning)


def test_starting_a_stage_whose_dataset_is_missing_says_what_to_do(app, ws):
    shutil.rmtree(ws.source("corpus-default"))
    at = app
    at.selectbox(key="training-stage").set_value("3.3").run()
    assert any("Generate tab" in w.value for w in at.warning)
    at.button(key="training-start").click().run()
    assert "convert a source with class set '3.3'" in tab(at, "Stages").error[0].value


def test_recorded_run_shows_curves_alerts_and_gates(app):
    at = app
    runs = open_tab(at, "training-tab", "Runs")
    metrics = {m.label: m.value for m in runs.metric}
    assert metrics["State"] == "done" and metrics["Epoch"] == "3 of 3"
    assert len(runs.get("plotly_chart")) == 2
    assert any("stalled" in w.value and "Recommended" in w.value for w in runs.warning)
    assert any(df.value is not None and "status" in df.value.columns for df in runs.dataframe)  # the gate table
    assert_nothing_raw(at)


def test_compare_tab_draws_the_runs(app):
    assert len(open_tab(app, "training-tab", "Compare").get("plotly_chart")) == 1


def test_a_failed_pipeline_check_says_why(app, ws):
    from omr_core.training.pipeline_check import NothingPredicted, StepResult, as_dicts, require_predictions

    try:
        require_predictions(0, "tile-0001.png")
    except NothingPredicted as exc:
        why = str(exc)
    steps = [StepResult("data_loading", "10 samples load with their labels", True, 0.4, "10 images, 312 boxes"),
             StepResult("model_initialization", "yolov8n.yaml builds", True, 0.3, "yolov8n.yaml: 3,011,238 parameters"),
             StepResult("single_epoch_training", "one epoch trains without error", True, 6.1, "1 epoch on 10 images"),
             StepResult("inference", "the trained model predicts boxes on an image", False, 0.2, why)]
    (ws.jobs / "last-check.json").write_text(json.dumps(as_dicts(steps)))
    check = open_tab(app, "training-tab", "Pipeline check")
    table = check.dataframe[0].value
    assert list(table["result"]) == ["passed"] * 3 + ["FAILED"]
    assert any("predicted no box on tile-0001.png" in e.value for e in check.error)
    assert not check.success
    assert_nothing_raw(app)


def test_running_the_check_keeps_the_user_on_its_tab(app, ws):
    at = app
    open_tab(at, "training-tab", "Pipeline check")
    at.button(key="training-check").click().run()
    try:
        assert not at.exception and at.session_state["training-tab"] == "Pipeline check"
        assert tab(at, "Pipeline check").button(key="training-check")  # its content, not the Stages tab's
        assert len(at.get("progress")) == 1
    finally:
        stop_all(ws)


def test_a_fresh_workspace_starts_stage_3_1_at_once(tmp_path, monkeypatch):
    """First start (6 pages here), the step measured on this machine, then Start: the run trains, and its
    job line says which epoch and batch it is at."""
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("SCOREEYE_FIRST_START_PAGES", "6")
    at = page(Workspace.open(fresh), monkeypatch)
    assert any("First start" in i.value for i in at.info)
    ws = Workspace.open(fresh)
    try:
        (init,) = list_jobs(ws.jobs, "init")
        assert init.wait(300) == "done", init.log_tail()
        at.run()
        assert "corpus-3.1" in ws.list_datasets()
        (measure,) = list_jobs(ws.jobs, "measure")  # started by the page: no estimate without a measured step
        assert any("Measuring a training step" in i.value for i in at.info)
        assert measure.wait(300) == "done", measure.log_tail()
        at.run()
        assert "Estimated duration" in {m.label for m in at.metric}
        epochs = next(n for n in at.number_input if str(n.key).startswith("training-epochs-3.1-"))
        epochs.set_value(1).run()
        at.button(key="training-start").click().run()
        assert not at.exception, at.exception
        (train,) = list_jobs(ws.jobs, "train")
        seen = []
        import time

        deadline = time.monotonic() + 300
        while train.state() == "running" and time.monotonic() < deadline:
            seen.append(train.progress().get("message", ""))
            if "batch" in seen[-1]:
                break
            time.sleep(1)
        assert any(m.startswith("epoch 1 of 1, batch ") for m in seen), (seen[-5:], train.log_tail())
        assert all("?" not in m for m in seen)
    finally:
        stop_all(ws)


def test_a_failed_measurement_is_not_retried_on_its_own(app, ws):
    from omr_core.jobs import write_json_atomic

    ws.step_times.unlink()
    failed = ws.jobs / "20260101-000000-measure-dead00"
    failed.mkdir()
    write_json_atomic(failed / "job.json", {"kind": "measure", "pid": 0, "started": 1.7e9, "command": [],
                                            "title": "measure a training step (yolov8n, 640 px, batch 8, cpu)"})
    (failed / "returncode").write_text("2")
    write_json_atomic(failed / "progress.json", {"done": 0, "total": 0, "message": "out of memory", "state": "failed"})
    at = app
    at.run()
    assert any("the last measurement failed (out of memory)" in w.value for w in at.warning)
    assert len(list_jobs(ws.jobs, "measure")) == 1  # nothing started behind the user's back
    at.button(key="training-measure-again").click().run()
    try:
        assert len(list_jobs(ws.jobs, "measure")) == 2
    finally:
        stop_all(ws)


def test_a_killed_run_shows_as_killed_with_a_resume_button(ws, monkeypatch):
    run = ws.runs / RUN_NAME
    lines = (run / "progress.jsonl").read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if '"epoch": 2' in line and '"type": "epoch"' in line)
    (run / "progress.jsonl").write_text("\n".join(lines[:cut + 1]) + "\n")  # SIGKILL after epoch 2: no last word
    (run / "ultralytics" / "weights").mkdir(parents=True, exist_ok=True)
    (run / "ultralytics" / "weights" / "last.pt").write_bytes(b"a checkpoint")
    at = page(ws, monkeypatch)
    runs = open_tab(at, "training-tab", "Runs")
    assert {m.label: m.value for m in runs.metric}["State"] == "killed"
    assert any("ended without a word" in w.value for w in runs.warning)
    assert runs.button(key="training-resume").label == "Resume"
