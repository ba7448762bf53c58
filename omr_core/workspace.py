"""The user's workspace: where sources, datasets, runs, models, reports and real scans live.

    workspace/
      class_sets.yaml     the stages of progressive class expansion (copied from omr_core on first use; edit it)
      training_plan.yaml  the training stages and their settings (copied likewise)
      sources/<name>/     DeepScores-format sets: images/ + deepscores_train.json / deepscores_test.json
      datasets/<name>/    YOLO sets made by the converter (data.yaml, images/, labels/, reports/)
      runs/               training runs
      models/             the user's own weights (the repository's models/ holds the bundled ones)
      real_scans/         imported real scans and their labels
      jobs/               background jobs (conversion, generation, training): log + progress
      step_times.json     training steps measured on this machine, per model/imgsz/batch/device (estimates)

The app uses $SCOREEYE_WORKSPACE when set, else ./workspace beside app.py (`omr_core.locations`); the sidebar can
switch folders. The first start's contents are made by `omr_core.workflows.default_workspace`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from omr_core.locations import CLASS_SETS_YAML, TRAINING_PLAN_YAML, default_workspace
from omr_core.names import check_name

DEFAULT_DATASET = "corpus-default-all"


def default_root() -> Path:
    """$SCOREEYE_WORKSPACE, else ./workspace of the checkout (or of the current folder when installed)."""
    return default_workspace()


def default_dataset_name(source: str | Path, class_set: str) -> str:
    """The name the Convert form proposes: the source folder's name and the class set (corpus-default-3.1)."""
    return check_name(f"{Path(str(source).rstrip('/')).name}-{class_set}"[:64])


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, root: Path | str | None = None) -> "Workspace":
        """Open (creating the folders if needed) a workspace; class_sets.yaml is copied in on first use."""
        ws = cls(Path(root or default_root()).expanduser().resolve())
        for folder in (ws.sources, ws.datasets, ws.runs, ws.models, ws.evaluations, ws.real_scans, ws.jobs):
            folder.mkdir(parents=True, exist_ok=True)
        for target, default in ((ws.class_sets_yaml, CLASS_SETS_YAML), (ws.training_plan_yaml, TRAINING_PLAN_YAML)):
            if not target.exists():
                shutil.copyfile(default, target)
        return ws

    @property
    def training_plan_yaml(self) -> Path:
        return self.root / "training_plan.yaml"

    @property
    def class_sets_yaml(self) -> Path:
        return self.root / "class_sets.yaml"

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def evaluations(self) -> Path:
        return self.root / "evaluations"

    @property
    def real_scans(self) -> Path:
        return self.root / "real_scans"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def step_times(self) -> Path:
        return self.root / "step_times.json"

    def source(self, name: str) -> Path:
        return self.sources / check_name(name)

    def dataset(self, name: str) -> Path:
        return self.datasets / check_name(name)

    def list_sources(self) -> list[str]:
        return sorted(p.name for p in self.sources.iterdir() if p.is_dir() and any(p.glob("*.json")))

    def list_evaluations(self) -> list[str]:
        return sorted(p.name for p in self.evaluations.iterdir() if (p / "summary.json").is_file())

    def list_datasets(self) -> list[str]:
        return sorted(p.name for p in self.datasets.iterdir() if (p / "data.yaml").is_file())

    def is_empty(self) -> bool:
        return not self.list_sources() and not self.list_datasets()
