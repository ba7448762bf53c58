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

The app uses $SCOREEYE_WORKSPACE when set, else ./workspace beside app.py; the sidebar can switch folders.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from omr_core.catalog.class_sets import DEFAULT_CLASS_SETS_YAML
from omr_core.training.plan import DEFAULT_PLAN_YAML, DEFAULT_SOURCE

ENV_VAR = "SCOREEYE_WORKSPACE"
DEFAULT_DATASET = "corpus-default-all"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def default_root() -> Path:
    return Path(os.environ.get(ENV_VAR) or Path(__file__).resolve().parent.parent / "workspace")


def check_name(name: str) -> str:
    """A dataset/source/run name that can never become a path outside its folder."""
    if not _SAFE_NAME.match(name or ""):
        raise ValueError(f"name must be 1-64 letters, digits, '.', '_' or '-' (not starting with them), but got {name!r}")
    return name


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
        for target, default in ((ws.class_sets_yaml, DEFAULT_CLASS_SETS_YAML), (ws.training_plan_yaml, DEFAULT_PLAN_YAML)):
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


def make_default(ws: Workspace, n_pages: int = 60, seed: int = 0, progress=None, first_stage: bool = True,
                 has_gpu: bool | None = None) -> Path:
    """First start: pages engraved from music21's corpus (DeepScores format), converted with every class, and
    (`first_stage`) the dataset the training plan's first stage trains on, so it can start at once.

    Returns the every-class dataset's folder. Generation resumes if a first start was interrupted."""
    from omr_core.datasets.convert import ConvertConfig, convert_deepscores
    from omr_core.rendering.generate import GenerateConfig, generate

    source = ws.source(DEFAULT_SOURCE)
    generate(GenerateConfig(output=str(source), n_pages=n_pages, seed=seed), progress)
    config = ConvertConfig(
        source=str(source),
        output=str(ws.dataset(DEFAULT_DATASET)),
        class_set="all",
        class_sets_yaml=str(ws.class_sets_yaml),
        seed=seed,
        overwrite=True,
    )
    output = convert_deepscores(config, progress).output
    if first_stage:
        from omr_core.catalog import load_class_sets
        from omr_core.training.launch import gpu_available
        from omr_core.training.plan import load_plan
        from omr_core.training.stage_data import make_stage_dataset, stage_recipe

        plan = load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml))
        stage = plan.stages[0]
        recipe = stage_recipe(ws, stage, plan.settings_for(stage, gpu_available() if has_gpu is None else has_gpu))
        if recipe.makeable and not recipe.ready:
            make_stage_dataset(ws, recipe, progress, seed=seed)
    return output
