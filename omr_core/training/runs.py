"""Run folders as the Training page sees them: what they are, how far they got, what they found."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from omr_core.training.runner import last_checkpoint, read_progress


@dataclass
class RunSummary:
    run_dir: Path
    spec: dict
    state: str  # prepared | running | stopped | failed | done
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
        return json.loads(path.read_text()) if path.is_file() else None

    @property
    def resumable(self) -> bool:
        return self.state in ("stopped", "failed") and last_checkpoint(self.run_dir).is_file()


def summarise_run(run_dir: Path) -> RunSummary:
    events = read_progress(run_dir)
    states = [e["state"] for e in events if e["type"] == "state"]
    spec = json.loads((run_dir / "run.json").read_text())
    return RunSummary(run_dir, spec, states[-1] if states else "prepared",
                      max((e["epoch"] for e in events if e["type"] == "epoch"), default=0), events)


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Runs of a workspace, newest first."""
    folders = [p for p in Path(runs_dir).iterdir() if (p / "run.json").is_file()] if Path(runs_dir).is_dir() else []
    return [summarise_run(p) for p in sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)]


def wandb_sync_command(run_dir: Path) -> str | None:
    """The command that uploads an offline W&B run, when there is one."""
    offline = sorted((Path(run_dir) / "wandb").glob("offline-run-*")) if (Path(run_dir) / "wandb").is_dir() else []
    return f"wandb sync {offline[-1]}" if offline else None
