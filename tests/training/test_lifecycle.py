"""A training run's life under faults: one process per run folder, a SIGKILL seen as such and resumed without a
repeated or lost epoch, and checkpoint writes that a kill cannot cut."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from omr_core.jobs import start_job
from omr_core.registry import BUNDLED_MODELS
from omr_core.training.runner import (
    RUN_LOCK,
    CannotResume,
    ProgressStream,
    check_resumable,
    last_checkpoint,
    read_progress,
    trim_progress,
)
from omr_core.training.runs import summarise_run
from tests.training.test_offline_training import tiny_set  # noqa: F401  (fixture)
from tests.training.test_runner import run_dir, wait_for  # noqa: F401  (fixture)


def epochs_of(run):
    return [e["epoch"] for e in read_progress(run) if e["type"] == "epoch"]


def test_one_trainer_per_run_a_killed_one_is_seen_and_resumes_without_repeats(run_dir, tmp_path):  # noqa: F811
    job = start_job(tmp_path / "jobs", "train", ["train", str(run_dir)])
    wait_for(run_dir, lambda ev: any(e["type"] == "epoch" for e in ev), job)
    assert summarise_run(run_dir).state == "running"

    second = subprocess.run([sys.executable, "-m", "omr_core", "train", str(run_dir)], capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 2 and "another process" in second.stderr and "Traceback" not in second.stderr

    worker = json.loads((job.folder / "worker.json").read_text())["pid"]
    deadline = time.time() + 120  # kill once epoch 1's checkpoint is there, mid-run, with no word to the log
    while not (last_checkpoint(run_dir).is_file() and last_checkpoint(run_dir).stat().st_size) and time.time() < deadline:
        time.sleep(0.1)
    os.killpg(os.getpgid(worker), signal.SIGKILL)
    job.wait(30)
    deadline = time.time() + 60  # the kernel drops the lock once every process holding it is gone
    while summarise_run(run_dir).state == "running" and time.time() < deadline:
        time.sleep(0.2)
    summary = summarise_run(run_dir)
    assert summary.state == "killed" and summary.resumable, summary.state
    assert read_progress(run_dir)[-1]["type"] != "state" or read_progress(run_dir)[-1]["state"] == "running"

    assert check_resumable(run_dir).stat().st_size > 0  # a whole, loadable last.pt with its optimizer
    # as if the kill came after an epoch's event and before its checkpoint: that epoch is trained again
    ProgressStream(run_dir).write("epoch", epoch=3, epochs=3, metrics={}, train={}, lr={})
    resumed = start_job(tmp_path / "jobs", "train", ["train", str(run_dir), "--resume"])
    assert resumed.wait(300) == "done", resumed.log_tail()
    assert epochs_of(run_dir) == [1, 2, 3]  # each epoch once: none repeated, none lost
    assert summarise_run(run_dir).state == "done"


def test_trimming_keeps_the_epochs_a_checkpoint_holds(tmp_path):
    stream = ProgressStream(tmp_path)
    stream.write("state", state="running")
    for epoch in (1, 2, 3):
        stream.write("batch", epoch=epoch, batch=10, losses={})
        stream.write("epoch", epoch=epoch)
    stream.write("alert", epoch=3, kind="stalled", subject="mAP50")
    with open(stream.path, "a") as f:
        f.write('{"type": "epoch", "epo')  # a line cut by a kill
    assert trim_progress(tmp_path, 2) == 3
    assert [(e["type"], e.get("epoch")) for e in read_progress(tmp_path)] == [
        ("state", None), ("batch", 1), ("epoch", 1), ("batch", 2), ("epoch", 2)]


def test_a_run_whose_process_died_is_killed_and_one_holding_the_lock_is_running(tmp_path):
    (tmp_path / "run.json").write_text("{}")
    ProgressStream(tmp_path).write("state", state="running", pid=999999)
    assert summarise_run(tmp_path).state == "killed"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from omr_core.fileio import locked
        with locked({str(tmp_path / RUN_LOCK)!r}):
            print("held", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert summarise_run(tmp_path).state == "running"
    finally:
        holder.kill()
        holder.wait()
    assert summarise_run(tmp_path).state == "killed"  # the kernel let go of the dead holder's lock


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"PK\x03\x04 cut", "cannot be read")])
def test_a_damaged_last_pt_is_refused_clearly(tmp_path, content, message):
    checkpoint = last_checkpoint(tmp_path)
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(content)
    with pytest.raises(CannotResume, match=message):
        check_resumable(tmp_path)


KILLED_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    import ultralytics.engine.trainer as trainer_module
    from omr_core.training.checkpoints import AtomicPath, atomic_strip
    source, target = Path(sys.argv[1]), AtomicPath(sys.argv[2])
    data = source.read_bytes()
    print("writing", flush=True)
    while True:  # the two writes Ultralytics makes: each epoch's checkpoint, and the final strip in place
        target.write_bytes(data)
        with atomic_strip():
            trainer_module.strip_optimizer(target)
""")


def test_a_kill_during_a_checkpoint_write_leaves_a_whole_checkpoint(tmp_path):
    import torch

    target = tmp_path / "weights" / "last.pt"
    target.parent.mkdir()
    target.write_bytes((BUNDLED_MODELS / "scoreeye-3.1-n" / "best.pt").read_bytes())
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false"}
    rng = random.Random(0)
    for _ in range(6):
        writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(BUNDLED_MODELS / "scoreeye-3.1-n" / "best.pt"),
                                   str(target)], stdout=subprocess.PIPE, text=True, env=env)
        assert writer.stdout.readline().strip() == "writing"
        time.sleep(rng.uniform(0.05, 0.6))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        state = torch.load(target, map_location="cpu", weights_only=False)  # whole, every time
        assert state["model"] is not None
    assert not [p for p in target.parent.iterdir() if p.name != "last.pt" and not p.name.endswith(".part")]


def test_a_run_killed_in_its_final_validation_finishes_on_resume(tiny_set, tmp_path):  # noqa: F811
    import shutil

    import torch

    run = tmp_path / "run"
    weights = last_checkpoint(run).parent
    weights.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({
        "data": str(tiny_set / "data.yaml"), "model": "yolov8n.yaml",
        "settings": {"epochs": 3, "imgsz": 160, "batch": 4, "workers": 0, "device": "cpu"}}))
    bundled = BUNDLED_MODELS / "scoreeye-3.1-n" / "best.pt"  # a model of the tiny set's eight classes
    state = torch.load(bundled, map_location="cpu", weights_only=False)
    state.update(epoch=2, optimizer={"state": {}, "param_groups": []}, train_args={**state["train_args"], "epochs": 3})
    torch.save(state, weights / "last.pt")  # every epoch saved, its optimizer not yet stripped: killed right here
    shutil.copyfile(bundled, weights / "best.pt")
    stream = ProgressStream(run)
    stream.write("state", state="running", pid=999999)
    for epoch in (1, 2, 3):
        stream.write("epoch", epoch=epoch, epochs=3, metrics={}, train={}, lr={})
    assert summarise_run(run).state == "killed" and summarise_run(run).resumable
    job = start_job(tmp_path / "jobs", "train", ["train", str(run), "--resume"])
    assert job.wait(300) == "done", job.log_tail()
    events = read_progress(run)
    (final,) = [e for e in events if e["type"] == "final"]
    assert "metrics/mAP50(B)" in final["metrics"] and final["per_class"]  # what the gates read
    assert epochs_of(run) == [1, 2, 3] and summarise_run(run).state == "done"
    with pytest.raises(CannotResume, match="no optimizer state"):
        check_resumable(run)  # stripped, as a finished run's is
