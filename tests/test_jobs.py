import time

from omr_core.jobs import ProgressFile, list_jobs, start_job


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
