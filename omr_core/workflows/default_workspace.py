"""The first start: a workspace that has something in it.

    make_default(ws)   music21's corpus engraved by Verovio (DeepScores format), converted with every class, and the
                       training plan's first stage's dataset, so that every page of the workbench has data at once
"""

from __future__ import annotations

from pathlib import Path

from omr_core.catalog import load_class_sets
from omr_core.datasets.convert import ConvertConfig, convert_deepscores
from omr_core.rendering.generate import GenerateConfig, generate
from omr_core.training.launch import gpu_available
from omr_core.training.plan import DEFAULT_SOURCE, load_plan
from omr_core.training.stage_data import make_stage_dataset, stage_recipe
from omr_core.workspace import DEFAULT_DATASET, Workspace


FIRST_PAGES = 60  # pages a first start engraves: enough for the first stage's train and val splits, minutes on a CPU


def make_default(ws: Workspace, n_pages: int = FIRST_PAGES, seed: int = 0, progress=None, first_stage: bool = True,
                 has_gpu: bool | None = None) -> Path:
    """First start: pages engraved from music21's corpus (DeepScores format), converted with every class, and
    (`first_stage`) the dataset the training plan's first stage trains on, so it can start at once.

    Returns the every-class dataset's folder. Generation resumes if a first start was interrupted."""
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
        plan = load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml))
        stage = plan.stages[0]
        recipe = stage_recipe(ws, stage, plan.settings_for(stage, gpu_available() if has_gpu is None else has_gpu))
        if recipe.makeable and not recipe.ready:
            make_stage_dataset(ws, recipe, progress, seed=seed)
    return output
