"""Background jobs: long work runs as its own process (the CLI), never inside a Streamlit rerun.

A job folder holds `job.json` (kind, title, the worker's command, the wrapper's pid and start time),
`worker.json` (the worker's pid and start time), `progress.json` (done, total, message, state) that the worker
rewrites atomically, `log.txt` (stdout and stderr) and, once it ended, `returncode`. Any page, tab or a
restarted app finds the job again from its folder.

    wrapper: python -m omr_core.jobs FOLDER     starts the worker, waits, writes `returncode`
    worker:  python -m omr_core <command...>    writes `returncode` itself too, so a killed wrapper loses nothing

No shell is involved: the command and every path travel as argument lists and JSON, so any path (spaces,
quotes, `$`, non-ASCII) reaches the worker as it is. A process counts as the job's only while its pid *and* its
start time match what was recorded, so a pid the system gave to another process later is not mistaken for it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from omr_core.fileio import write_atomic
from omr_core.locations import CHECKOUT

PROGRESS_ENV = "OMR_JOB_PROGRESS"  # the worker writes its progress to this file when set
RETURNCODE_ENV = "OMR_JOB_RETURNCODE"  # ... and its exit code to this one


def write_json_atomic(path: Path, value: dict) -> None:
    write_atomic(path, json.dumps(value, indent=2), durable=False)  # rewritten every 0.2 s: no fsync


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


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


def exit_record() -> Path | None:
    """The worker side: where to write its exit code (None outside a job). Taken out of the environment, so
    that processes the worker starts itself never write it."""
    path = os.environ.pop(RETURNCODE_ENV, None)
    return Path(path) if path else None


def record_exit(path: Path | None, code: int) -> None:
    """The worker side: write its exit code into its job folder (a no-op outside a job)."""
    if path is not None and not path.exists():
        write_atomic(path, str(int(code)), durable=False)


def start_time(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), or None if there is none or it is a zombie."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.Error, ValueError):
        return None


def _alive(record: dict) -> bool:
    """Whether the process a record names ({"pid", "started"}) is still that process and running."""
    pid, started = record.get("pid"), record.get("started")
    if not isinstance(pid, int) or pid <= 0 or not isinstance(started, (int, float)):
        return False
    now = start_time(pid)
    return now is not None and abs(now - started) < 0.05  # another start time: the pid was reused


@dataclass(frozen=True)
class Job:
    folder: Path

    @property
    def info(self) -> dict:
        return _read_json(self.folder / "job.json")

    def _worker(self) -> dict:
        return _read_json(self.folder / "worker.json")

    def progress(self) -> dict:
        progress = _read_json(self.folder / "progress.json")
        return progress or {"done": 0, "total": 0, "message": "starting", "state": "running"}

    def returncode(self) -> int | None:
        try:
            return int((self.folder / "returncode").read_text().strip())
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        if self.returncode() is not None:
            return False
        wrapper = self.info.get("wrapper") or {}
        if _alive(self._worker()) or (isinstance(wrapper, dict) and _alive(wrapper)):
            return True
        # the wrapper started but its records are not written yet (the first instants of a job)
        started = wrapper.get("started") if isinstance(wrapper, dict) else None
        return isinstance(started, (int, float)) and not (self.folder / "worker.json").exists() and time.time() - started < 5

    def state(self) -> str:
        """running | done | failed | stopped (ended by a signal, or vanished without a return code)."""
        code = self.returncode()
        if code is None:
            return "running" if self.is_running() else "stopped"
        return "done" if code == 0 else "stopped" if code < 0 else "failed"

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
        """SIGTERM to the job's process group (wrapper, worker and the worker's own helpers), found through a
        process that is verifiably still the job's."""
        for record in (self._worker(), self.info.get("wrapper") or {}):
            if isinstance(record, dict) and _alive(record):
                try:
                    os.killpg(os.getpgid(record["pid"]), signal.SIGTERM)
                except ProcessLookupError:
                    continue
                return

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
    folder = Path(jobs_dir) / f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    command = [sys.executable, "-m", "omr_core", *[str(a) for a in cli_args]]
    info = {"kind": kind, "title": title or kind, "command": command, "started": time.time()}
    write_json_atomic(folder / "job.json", info)
    env = {**os.environ, **(extra_env or {}), PROGRESS_ENV: str(folder / "progress.json"),
           RETURNCODE_ENV: str(folder / "returncode")}
    wrapper = subprocess.Popen([sys.executable, "-m", "omr_core.jobs", str(folder)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=CHECKOUT,
                               start_new_session=True)  # its own process group: Stop reaches the whole job
    started = start_time(wrapper.pid) or time.time()
    write_json_atomic(folder / "job.json", {**info, "pid": wrapper.pid, "wrapper": {"pid": wrapper.pid, "started": started}})
    return Job(folder)


def run_wrapper(folder: Path) -> int:
    """The wrapper process: run the job's command with its output in log.txt, record the worker, wait, and
    write the exit code (a negative one: the worker was ended by that signal)."""
    folder = Path(folder)
    command = _read_json(folder / "job.json").get("command")
    with open(folder / "log.txt", "ab") as log:
        if not isinstance(command, list) or not command:
            log.write(b"job.json holds no command\n")
            code = 2
        else:
            worker = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      cwd=CHECKOUT)  # None when installed: `-m omr_core` is found anywhere
            write_json_atomic(folder / "worker.json", {"pid": worker.pid,
                                                       "started": start_time(worker.pid) or time.time()})
            code = worker.wait()
    if not (folder / "returncode").exists():  # the worker writes its own; a killed one cannot
        write_atomic(folder / "returncode", str(code), durable=False)
    return code


def list_jobs(jobs_dir: Path, kind: str | None = None) -> list[Job]:
    """The jobs under `jobs_dir` (of one kind, or all), newest first."""
    if not Path(jobs_dir).is_dir():
        return []
    jobs = [Job(p) for p in sorted(Path(jobs_dir).iterdir(), reverse=True) if (p / "job.json").is_file()]
    return [j for j in jobs if kind is None or j.info.get("kind") == kind]


def running_job(jobs_dir: Path, kind: str | None = None) -> Job | None:
    """The newest running job (of one kind, or any), or None."""
    return next((j for j in list_jobs(jobs_dir, kind) if j.state() == "running"), None)


if __name__ == "__main__":
    # Stop ends the worker; the wrapper outlives the signal to record how. A handler, not SIG_IGN: an ignored
    # signal would stay ignored in the worker across exec, a handled one is reset there.
    signal.signal(signal.SIGTERM, lambda *_: None)
    sys.exit(run_wrapper(Path(sys.argv[1])))
