import time
from pathlib import Path

import pytest

from omr_core.jobs import ProgressFile, duration_text, list_jobs, progress_text, start_job


def test_job_runs_in_its_own_process_and_reports_progress(tmp_path):
    job = start_job(tmp_path, "drawn", ["drawn", str(tmp_path / "src"), "--pages", "2"], "drawn pages")
    assert job.wait(120) == "done", job.log_tail()
    assert (tmp_path / "src" / "deepscores_train.json").is_file()
    assert list_jobs(tmp_path, "drawn")[0].folder == job.folder


def test_failed_job_keeps_its_error(tmp_path):
    job = start_job(tmp_path, "convert", ["convert", str(tmp_path / "nothing"), str(tmp_path / "out")])
    assert job.wait(120) == "failed"
    assert "not a folder" in job.log_tail() and job.progress()["state"] == "failed"


def test_stop(tmp_path):
    job = start_job(tmp_path, "drawn", ["drawn", str(tmp_path / "src"), "--pages", "500"])
    time.sleep(1.0)
    job.stop()
    assert job.wait(20) in ("failed", "stopped")


def test_progress_file(tmp_path):
    progress = ProgressFile(tmp_path / "p.json")
    progress(3, 10, "page 3", force=True)
    assert '"done": 3' in (tmp_path / "p.json").read_text()
    ProgressFile(None)(1, 2)  # no job folder: a no-op


def test_extra_env_reaches_the_process_but_not_the_job_file(tmp_path):
    job = start_job(tmp_path, "classes", ["classes"], extra_env={"WANDB_API_KEY": "secret-123"})
    assert job.wait(60) == "done"
    assert "secret-123" not in (job.folder / "job.json").read_text()


@pytest.mark.parametrize("progress, fraction, words", [
    ({"done": 0, "total": 0, "message": ""}, None, "starting"),  # never "0/?"
    ({"done": 0, "total": 0, "message": "preparing: building the model"}, None, "preparing: building the model"),
    ({"done": 12, "total": 60, "message": "page-12.png"}, 0.2, "page-12.png · 12 of 60"),
    ({"done": 146, "total": 368, "message": "epoch 2 of 4, batch 54 of 92", "counts": False}, 146 / 368,
     "epoch 2 of 4, batch 54 of 92 · 40%"),
    ({"done": 9, "total": 4}, 1.0, "9 of 4"),
])
def test_progress_reads_as_words(progress, fraction, words):
    got_fraction, got_words = progress_text(progress)
    assert got_words == words and (got_fraction == pytest.approx(fraction) if fraction else got_fraction is None)


@pytest.mark.parametrize("seconds, text", [(None, ""), (4.2, "4 s"), (245, "4 min 05 s"), (7800, "2 h 10 min")])
def test_durations_read_as_words(seconds, text):
    assert duration_text(seconds) == text


def test_a_finished_job_summarises_itself(tmp_path):
    job = start_job(tmp_path, "classes", ["classes"], "class sets")
    assert job.wait(60) == "done"
    summary = job.summary()
    assert summary["job"] == "class sets" and summary["state"] == "done" and summary["took"].endswith("s")
    assert summary["result"] == ""  # no message of its own: nothing raw like "done" shown as a result
def test_a_job_in_an_odd_folder_keeps_its_state_and_its_arguments(tmp_path):
    # spaces, quotes, a shell substitution and non-ASCII: nothing of it may be read by a shell
    odd = tmp_path / "Partituren é ü 'quote' \"dq\" $(touch INJECTED) `id`"
    job = start_job(odd / "jobs", "drawn", ["drawn", str(odd / "src $HOME"), "--pages", "1"], "drawn pages")
    assert job.wait(120) == "done", job.log_tail()
    assert job.returncode() == 0
    assert (odd / "src $HOME" / "deepscores_train.json").is_file()  # the argument arrived as it was
    assert not list(tmp_path.rglob("INJECTED")) and not (Path.cwd() / "INJECTED").exists()


def test_a_killed_wrapper_leaves_the_job_running_and_its_end_recorded(tmp_path):
    import json
    import os
    import signal

    job = start_job(tmp_path, "drawn", ["drawn", str(tmp_path / "src"), "--pages", "40"], "drawn pages")
    deadline = time.time() + 60
    while not (job.folder / "worker.json").is_file() and time.time() < deadline:
        time.sleep(0.05)
    worker = json.loads((job.folder / "worker.json").read_text())
    os.kill(job.info["wrapper"]["pid"], signal.SIGKILL)
    time.sleep(0.3)
    assert job.state() == "running"  # the worker goes on, and the job says so
    assert job.wait(180) == "done", job.log_tail()  # the worker recorded its own exit code
    assert job.returncode() == 0 and worker["pid"] != job.info["wrapper"]["pid"]


def test_a_reused_pid_is_not_taken_for_the_job(tmp_path):
    import os

    from omr_core.jobs import Job, start_time, write_json_atomic

    folder = tmp_path / "20260101-000000-drawn-abcdef"
    folder.mkdir()
    me = {"pid": os.getpid(), "started": start_time(os.getpid())}
    write_json_atomic(folder / "job.json", {"kind": "drawn", "command": ["x"], "pid": os.getpid(),
                                            "wrapper": {**me, "started": me["started"] - 3600}})
    assert Job(folder).state() == "stopped"  # that pid is alive, but it is another process now (this one)
    write_json_atomic(folder / "job.json", {"kind": "drawn", "command": ["x"], "wrapper": me})
    assert Job(folder).state() == "running"  # the same pid and start time: still that process


def test_the_running_job_of_a_kind_is_found_and_none_once_it_ends(tmp_path):
    from omr_core.jobs import running_job

    assert running_job(tmp_path, "drawn") is None
    job = start_job(tmp_path, "drawn", ["drawn", str(tmp_path / "src"), "--pages", "500"])
    try:
        assert running_job(tmp_path, "drawn").folder == job.folder and running_job(tmp_path).folder == job.folder
        assert running_job(tmp_path, "train") is None
    finally:
        job.stop()
    assert job.wait(20) in ("failed", "stopped") and running_job(tmp_path, "drawn") is None
