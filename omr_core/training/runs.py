"""Run folders as the Training page sees them: what they are, how far they got, what they found."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from omr_core.structures.problems import Problem, ProblemLog
from omr_core.training.runner import last_checkpoint, read_progress, run_is_live


@dataclass
class RunSummary:
    run_dir: Path
    spec: dict
    state: str  # prepared | running | stopped | failed | killed (its process died without a word) | done
    epochs_done: int
    events: list[dict] = field(repr=False)

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def epochs(self) -> list[dict]:
        return [e for e in self.events if e["type"] == "epoch"]

    @property
    def alerts(self) -> list[dict]:
        return [e for e in self.events if e["type"] == "alert"]

    @property
    def fallbacks(self) -> list[dict]:
        return [e for e in self.events if e["type"] in ("fallback", "note")]

    @property
    def latest_batch(self) -> dict | None:
        """The last batch event (epoch and batch of the run), or None before the first."""
        return next((e for e in reversed(self.events) if e["type"] == "batch"), None)

    @property
    def seconds(self) -> float | None:
        """From the first event to the last (None before the run wrote any)."""
        times = [e["time"] for e in self.events if "time" in e]
        return max(times) - min(times) if times else None

    @property
    def final(self) -> dict | None:
        return next((e for e in reversed(self.events) if e["type"] == "final"), None)

    @property
    def gates(self) -> dict | None:
        path = self.run_dir / "gates.json"
        try:
            return json.loads(path.read_text()) if path.is_file() else None
        except (OSError, ValueError):
            return None  # being written, or damaged: the page shows the run without its gates

    @property
    def resumable(self) -> bool:
        checkpoint = last_checkpoint(self.run_dir)
        return self.state in ("stopped", "failed", "killed") and checkpoint.is_file() and checkpoint.stat().st_size > 0


    @property
    def epoch_text(self) -> str:
        """"3 of 50": the epoch running (from the latest batch while the run runs) of the run's epochs."""
        batch = self.latest_batch if self.state == "running" else None
        return f"{batch['epoch'] if batch else self.epochs_done} of {self.spec.get('settings', {}).get('epochs', '?')}"

    @property
    def last_map50(self) -> float | None:
        """The validation mAP@0.5 of the last finished epoch (None before the first)."""
        return self.epochs[-1].get("metrics", {}).get("metrics/mAP50(B)", 0.0) if self.epochs else None


def compare_rows(runs: list[RunSummary]) -> list[dict]:
    """One row per run for the comparison table: run, stage, state, epochs and its final validation metrics."""
    return [{"run": r.name, "stage": r.spec.get("stage"), "state": r.state, "epochs": r.epochs_done,
             **{k: v for k, v in ((r.final or {}).get("metrics") or {}).items() if k.startswith("metrics/")}}
            for r in runs]


def run_state(events: list[dict], live: bool) -> str:
    """The run's state from its log and from whether a process holds its lock: a log that says "running"
    with no live process means the process was killed (SIGKILL, out of memory, a reboot)."""
    states = [e.get("state") for e in events if e["type"] == "state"]
    logged = states[-1] if states else "prepared"
    if live:
        return "running"
    return "killed" if logged == "running" else logged


def summarise_run(run_dir: Path) -> RunSummary:
    spec = json.loads((run_dir / "run.json").read_text())  # before the log: a run folder without it is no run
    if not isinstance(spec, dict):
        raise ValueError(f"expected a JSON object in run.json, but got {type(spec).__name__}")
    events = read_progress(run_dir)
    epochs = [e["epoch"] for e in events if e["type"] == "epoch" and isinstance(e.get("epoch"), int)]
    return RunSummary(run_dir, spec, run_state(events, run_is_live(run_dir)), max(epochs, default=0), events)


def list_runs(runs_dir: Path, problems: ProblemLog | None = None) -> list[RunSummary]:
    """Runs of a workspace, newest first; a run whose run.json cannot be read is left out and reported."""
    folders = [p for p in Path(runs_dir).iterdir() if (p / "run.json").is_file()] if Path(runs_dir).is_dir() else []
    runs = []
    for folder in sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            runs.append(summarise_run(folder))
        except (OSError, ValueError) as exc:
            if problems is not None:
                problems.add(Problem("bad_run", str(folder / "run.json"), folder.name, str(exc), "skipped"))
    return runs


def wandb_sync_command(run_dir: Path) -> str | None:
    """The command that uploads an offline W&B run, when there is one."""
    offline = sorted((Path(run_dir) / "wandb").glob("offline-run-*")) if (Path(run_dir) / "wandb").is_dir() else []
    return f"wandb sync {offline[-1]}" if offline else None
