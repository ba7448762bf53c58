"""The Training page with AppTest, against a recorded run (tests/data/recorded_run: a real 3-epoch tiny run)."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from omr_core.workspace import Workspace
from tests.conftest import APP, DATA

RUN_NAME = "recorded-3.1-20261121-000000"


@pytest.fixture
def app(tmp_path, monkeypatch):
    ws = Workspace.open(tmp_path / "ws")
    shutil.copytree(DATA / "recorded_run", ws.runs / RUN_NAME)
    monkeypatch.setenv("SCOREEYE_WORKSPACE", str(ws.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("pages/training.py").run()
    assert not at.exception, at.exception
    return at, ws


def tab(at, label):
    return next(t for t in at.tabs if t.label == label)


def test_stages_follow_the_plan(app):
    at, _ = app
    assert at.title[0].value == "Training"
    stages = tab(at, "Stages").dataframe[0].value
    assert list(stages["stage"]) == ["3.1", "3.2", "3.3", "3.4", "noise", "finetune"]
    assert not stages["dataset ready"].any()  # none of the plan's datasets is converted in this workspace


def test_starting_a_stage_without_its_dataset_says_what_to_do(app):
    at, _ = app
    at.button(key="training-start").click().run()
    assert "convert a source with class set '3.1'" in tab(at, "Stages").error[0].value


def test_recorded_run_shows_curves_alerts_and_gates(app):
    at, _ = app
    runs = tab(at, "Runs")
    assert {m.label: m.value for m in runs.metric}["State"] == "done"
    assert {m.label: m.value for m in runs.metric}["Epoch"] == "3 / 3"
    assert len(runs.get("plotly_chart")) == 2
    assert any("stalled" in w.value and "Recommended" in w.value for w in runs.warning)
    assert any(df.value is not None and "status" in df.value.columns for df in runs.dataframe)  # the gate table


def test_compare_tab_draws_the_runs(app):
    at, _ = app
    assert len(tab(at, "Compare").get("plotly_chart")) == 1


def test_a_killed_run_shows_as_killed_with_a_resume_button(tmp_path, monkeypatch):
    ws = Workspace.open(tmp_path / "ws")
    run = ws.runs / RUN_NAME
    shutil.copytree(DATA / "recorded_run", run)
    lines = (run / "progress.jsonl").read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if '"epoch": 2' in line and '"type": "epoch"' in line)
    (run / "progress.jsonl").write_text("\n".join(lines[:cut + 1]) + "\n")  # SIGKILL after epoch 2: no last word
    (run / "ultralytics" / "weights").mkdir(parents=True)
    (run / "ultralytics" / "weights" / "last.pt").write_bytes(b"a checkpoint")
    monkeypatch.setenv("SCOREEYE_WORKSPACE", str(ws.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("pages/training.py").run()
    runs = tab(at, "Runs")
    assert {m.label: m.value for m in runs.metric}["State"] == "killed"
    assert any("ended without a word" in w.value for w in runs.warning)
    assert runs.button(key="training-resume").label == "Resume"
