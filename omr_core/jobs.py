"""Background jobs: long work runs as its own process (the CLI), never inside a Streamlit rerun.

A job folder holds `job.json` (command, pid, start time), `progress.json` (done, total, message, state) that
the worker rewrites atomically, and `log.txt` (stdout and stderr). Any page, tab or a restarted app finds the
job again from its folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from omr_core.fileio import write_atomic

PROGRESS_ENV = "OMR_JOB_PROGRESS"  # the worker writes its progress to this file when set


def write_json_atomic(path: Path, value: dict) -> None:
    write_atomic(path, json.dumps(value, indent=2), durable=False)  # rewritten every 0.2 s: no fsync


class ProgressFile:
    """The worker side: report progress into the job folder (a no-op without one), at most every 0.2 s."""

    def __init__(self, path: str | os.PathLike | None = None):
        path = path or os.environ.get(PROGRESS_ENV)
        self.path = Path(path) if path else None
        self._last = 0.0

    def __call__(self, done: int, total: int, message: str = "", state: str = "running", force: bool = False,
                 counts: bool = True) -> None:
        """`counts=False`: the message already says how far (epoch 3 of 10, batch 45 of 120)."""
        if self.path is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        write_json_atomic(self.path, {"done": done, "total": total, "message": message, "state": state,
                                      "counts": counts, "time": time.time()})


@dataclass(frozen=True)
class Job:
    folder: Path

    @property
    def info(self) -> dict:
        return json.loads((self.folder / "job.json").read_text())

    def progress(self) -> dict:
        try:
            return json.loads((self.folder / "progress.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {"done": 0, "total": 0, "message": "starting", "state": "running"}

    def returncode(self) -> int | None:
        path = self.folder / "returncode"
        return int(path.read_text()) if path.exists() else None

    def is_running(self) -> bool:
        if self.returncode() is not None:
            return False
        pid = self.info.get("pid")
        if not pid:
            return False
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        # a zombie or a recycled pid belongs to no job of ours
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            return stat.split(") ", 1)[1][0] != "Z"
        except (FileNotFoundError, IndexError):
            return True

    def state(self) -> str:
        """running | done | failed | stopped (the process vanished without a return code)."""
        if self.is_running():
            return "running"
        code = self.returncode()
        if code is None:
            return "stopped"
        return "done" if code == 0 else "failed"

    def wait(self, timeout_s: float, poll_s: float = 0.2) -> str:
        """Block until the job is no longer running or `timeout_s` passed; returns `state()`."""
        deadline = time.monotonic() + timeout_s
        while self.state() == "running" and time.monotonic() < deadline:
            time.sleep(poll_s)
        return self.state()

    def log_tail(self, n_chars: int = 4000) -> str:
        path = self.folder / "log.txt"
        if not path.exists():
            return ""
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - n_chars))
            return f.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.is_running():
            os.killpg(self.info["pid"], 15)

    def seconds(self) -> float | None:
        """How long it ran (so far, while running); None when the start is unknown."""
        started = self.info.get("started")
        if started is None:
            return None
        end = self.folder / "returncode"
        return max(0.0, (end.stat().st_mtime if end.exists() else time.time()) - started)

    def summary(self) -> dict:
        """What a history row shows: title, state, start time, how long, and the last message in words."""
        started = self.info.get("started")
        message = self.progress().get("message", "")
        return {"job": self.info.get("title", self.folder.name), "state": self.state(),
                "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)) if started else "",
                "took": duration_text(self.seconds()),
                "result": "" if message in ("", "done", "running", "starting", "failed") else message}


def duration_text(seconds: float | None) -> str:
    """12 s, 4 min 05 s, 2 h 10 min: a duration as a person reads it ("" when unknown)."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_text(progress: dict) -> tuple[float | None, str]:
    """The bar's fraction (None while the total is not known yet) and its words: the job's own message,
    then how far it is ("page 12 of 60" comes from the worker; a total of 0 never shows as "0/?")."""
    done, total = int(progress.get("done") or 0), int(progress.get("total") or 0)
    message = str(progress.get("message") or "").strip()
    if total <= 0:
        return None, message or "starting"
    fraction = min(max(done / total, 0.0), 1.0)
    counts = progress.get("counts", True)  # a worker whose message already says how far sets counts=False
    return fraction, (f"{message} · " if message else "") + (f"{done:,} of {total:,}" if counts else f"{fraction:.0%}")


def start_job(jobs_dir: Path, kind: str, cli_args: list[str], title: str = "", extra_env: dict | None = None) -> Job:
    """Run `python -m omr_core <cli_args>` in the background; returns at once.

    `extra_env` reaches only that process (a W&B key, say) and is not written to job.json."""
    folder = jobs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    command = [sys.executable, "-m", "omr_core", *cli_args]
    # The wrapper records the exit code even when the app that started the job is gone.
    wrapper = f'"$@"; echo $? > {json.dumps(str(folder / "returncode"))}'
    env = {**os.environ, **(extra_env or {}), PROGRESS_ENV: str(folder / "progress.json")}
    with open(folder / "log.txt", "wb") as log:
        process = subprocess.Popen(
            ["/bin/sh", "-c", wrapper, "sh", *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            start_new_session=True,
        )
    write_json_atomic(folder / "job.json", {"kind": kind, "title": title or kind, "command": command,
                                            "pid": process.pid, "started": time.time()})
    return Job(folder)


def list_jobs(jobs_dir: Path, kind: str | None = None) -> list[Job]:
    if not jobs_dir.is_dir():
        return []
    jobs = [Job(p) for p in sorted(jobs_dir.iterdir(), reverse=True) if (p / "job.json").is_file()]
    return [j for j in jobs if kind is None or j.info.get("kind") == kind]
