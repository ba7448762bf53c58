"""A real tiny training run in its own process: progress stream, stop, resume, refusal to resume."""

import json

import pytest

from omr_core.jobs import start_job
from omr_core.training.runner import CannotResume, check_resumable, read_progress, request_stop
from tests.training.test_offline_training import tiny_set  # noqa: F401  (fixture)


@pytest.fixture
def run_dir(tmp_path, tiny_set):  # noqa: F811
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({
        "data": str(tiny_set / "data.yaml"), "model": "yolov8n.yaml", "batch_every": 2,
        "alerts": {"stall_epochs": 1, "stall_tolerance": 0.5},  # fires at once, so the alert path runs
        "settings": {"epochs": 3, "imgsz": 160, "batch": 4, "workers": 0, "device": "cpu", "plots": False,
                     "amp": False, "val": True, "verbose": False},
    }))
    return run


def wait_for(run, predicate, job, timeout=240):
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        events = read_progress(run)
        if predicate(events) or job.state() != "running":
            return events
        time.sleep(0.3)
    return read_progress(run)


def test_stop_then_resume_finishes_the_run(run_dir, tmp_path):
    with pytest.raises(CannotResume, match="no last.pt"):
        check_resumable(run_dir)
    job = start_job(tmp_path / "jobs", "train", ["train", str(run_dir)])
    events = wait_for(run_dir, lambda ev: any(e["type"] == "epoch" for e in ev), job)
    assert any(e["type"] == "epoch" and e["epoch"] == 1 for e in events), job.log_tail()
    request_stop(run_dir)
    assert job.wait(120) == "done", job.log_tail()
    events = read_progress(run_dir)
    assert events[-1]["type"] == "state" and events[-1]["state"] == "stopped", events[-1]
    batches = [e for e in events if e["type"] == "batch"]
    assert batches and {"box_loss", "cls_loss", "dfl_loss"} <= set(batches[0]["losses"])  # per-batch losses, live
    epoch = next(e for e in events if e["type"] == "epoch")
    assert {"train_loss", "val_loss", "metrics", "lr", "epoch_seconds", "ram_percent", "per_class"} <= epoch.keys()
    assert check_resumable(run_dir).name == "last.pt"  # the optimizer survived the stop

    resumed = start_job(tmp_path / "jobs", "train", ["train", str(run_dir), "--resume"])
    assert resumed.wait(240) == "done", resumed.log_tail()
    events = read_progress(run_dir)
    assert events[-1]["state"] == "done", events[-1]
    assert sorted(e["epoch"] for e in events if e["type"] == "epoch") == [1, 2, 3]  # stopped in epoch 2, resumed there
    alerts = [e for e in events if e["type"] == "alert"]
    assert len(alerts) == 1 and alerts[0]["kind"] == "stalled" and alerts[0]["action"]  # recorded once, not per epoch
    final = [e for e in events if e["type"] == "final"]
    assert len(final) == 1 and "metrics/mAP50(B)" in final[0]["metrics"]  # best.pt's validation, for the gates
    with pytest.raises(CannotResume, match="no optimizer state"):
        check_resumable(run_dir)  # a finished run is not resumed: its optimizer was stripped
