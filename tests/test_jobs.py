import time

from omr_core.jobs import ProgressFile, list_jobs, start_job


def wait(job, timeout=120):
    deadline = time.time() + timeout
    while job.state() == "running" and time.time() < deadline:
        time.sleep(0.2)
    return job.state()


def test_job_runs_in_its_own_process_and_reports_progress(tmp_path):
    job = start_job(tmp_path, "drawn", ["drawn", str(tmp_path / "src"), "--pages", "2"], "drawn pages")
    assert wait(job) == "done", job.log_tail()
    assert (tmp_path / "src" / "deepscores_train.json").is_file()
    assert list_jobs(tmp_path, "drawn")[0].folder == job.folder


def test_failed_job_keeps_its_error(tmp_path):
    job = start_job(tmp_path, "convert", ["convert", str(tmp_path / "nothing"), str(tmp_path / "out")])
    assert wait(job) == "failed"
    assert "not a folder" in job.log_tail() and job.progress()["state"] == "failed"


def test_stop(tmp_path):
    job = start_job(tmp_path, "drawn", ["drawn", str(tmp_path / "src"), "--pages", "500"])
    time.sleep(1.0)
    job.stop()
    assert wait(job, 20) in ("failed", "stopped")


def test_progress_file(tmp_path):
    progress = ProgressFile(tmp_path / "p.json")
    progress(3, 10, "page 3", force=True)
    assert '"done": 3' in (tmp_path / "p.json").read_text()
    ProgressFile(None)(1, 2)  # no job folder: a no-op
