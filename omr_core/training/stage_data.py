"""A stage's dataset in one step: what the plan says it is made from, and making it.

    recipe = stage_recipe(ws, plan, plan.stage("3.1"), settings)   # what one click does, in words
    make_stage_dataset(ws, recipe)                                 # scan variant (if any), then convert
    python -m omr_core stage-data 3.1                              # the same from the command line

A stage's dataset is its plan `source` (a DeepScores-format folder of the workspace; the first start makes
`corpus-default`), optionally turned into a scan-like variant first (`scan: phone`), converted with the stage's
class set into tiles of the stage's training size, so the model sees symbols at the size it will detect them
(a whole 1960x2772 page trained at imgsz 640 shrinks every symbol ~4x, and noteheads vanish), every page first
resized to the canonical staff space (`CANONICAL_STAFF_SPACE_PX`, chosen by measurement), the one the detector
reads every input at. `source: real-scans` is the Annotation page's export of labelled real scans: it is made
there, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omr_core.staff.rescale import CANONICAL_STAFF_SPACE_PX
from omr_core.training.plan import REAL_SCANS, Stage, StageSettings


def overlap_for(tile_px: int) -> int:
    """Tile overlap: 15% of the tile, in steps of 16 px (96 px for 640-px tiles, as the bundled model)."""
    return int(round(0.15 * tile_px / 16) * 16)


@dataclass(frozen=True)
class StageDataRecipe:
    stage: str
    dataset: str  # the plan's dataset name (workspace datasets/)
    class_set: str
    source: str  # a workspace source, or REAL_SCANS
    scan: str | None  # scan-like preset applied to the source first; the variant is the source `<source>-<scan>`
    tile_px: int
    overlap_px: int
    ready: bool  # the dataset exists
    source_ready: bool  # the source to make it from exists
    staff_space_px: float | None = CANONICAL_STAFF_SPACE_PX  # pages resized to it first (None: kept as they are)

    @property
    def makeable(self) -> bool:
        """The workbench can make it in one step (real scans are exported from the Annotation page)."""
        return self.source != REAL_SCANS and self.source_ready

    @property
    def scan_source(self) -> str | None:
        return f"{self.source}-{self.scan}" if self.scan else None

    def describe(self) -> str:
        """What making it does, in words."""
        if self.source == REAL_SCANS:
            return (f"{self.dataset} holds labelled real scans: label them on the Annotation page and export them "
                    f"with class set {self.class_set} as {self.dataset}")
        steps = f"the scan-like ({self.scan}) variant of source {self.source}" if self.scan else f"source {self.source}"
        scale = f" at a staff space of {self.staff_space_px:g} px" if self.staff_space_px else ""
        return (f"{steps}, converted with class set {self.class_set}{scale} into {self.tile_px}-px tiles "
                f"(overlap {self.overlap_px} px)")

    def cli_args(self, workspace: Path) -> list[str]:
        return ["stage-data", self.stage, "--workspace", str(workspace), "--tile", str(self.tile_px),
                "--staff-space", str(self.staff_space_px or 0)]


def stage_recipe(ws, stage: Stage, settings: StageSettings, tile_px: int | None = None,
                 staff_space_px: float | None = CANONICAL_STAFF_SPACE_PX) -> StageDataRecipe:
    """How the stage's dataset is made on this machine: tiles of `tile_px` (default: the settings' imgsz) of
    pages resized to `staff_space_px` (None or 0: each page kept at its own)."""
    tile = int(tile_px or settings.imgsz)
    ready = (ws.dataset(stage.dataset) / "data.yaml").is_file()
    source_ready = stage.source != REAL_SCANS and stage.source in ws.list_sources()
    return StageDataRecipe(stage.name, stage.dataset, stage.class_set.name, stage.source, stage.scan, tile,
                           overlap_for(tile), ready, source_ready, staff_space_px or None)


def make_stage_dataset(ws, recipe: StageDataRecipe, progress=None, seed: int = 0) -> Path:
    """Make the stage's dataset (replacing an older one of that name); returns its folder."""
    from omr_core.datasets.convert import ConvertConfig, convert_deepscores

    if recipe.source == REAL_SCANS:
        raise ValueError(f"stage {recipe.stage!r}: {recipe.describe()}")
    if not recipe.source_ready:
        raise FileNotFoundError(f"stage {recipe.stage!r} converts source {recipe.source!r}, but {ws.source(recipe.source)} "
                                f"holds no DeepScores JSON: generate it on the Dataset page (Generate tab) first")
    source = ws.source(recipe.source)
    if recipe.scan:
        from omr_core.datasets.scan_variant import make_scan_variant

        variant = ws.source(recipe.scan_source)
        if recipe.scan_source not in ws.list_sources():
            make_scan_variant(source, variant, preset=recipe.scan, seed=seed, progress=progress)
        source = variant
    config = ConvertConfig(source=str(source), output=str(ws.dataset(recipe.dataset)), class_set=recipe.class_set,
                           class_sets_yaml=str(ws.class_sets_yaml), tile_px=recipe.tile_px,
                           overlap_px=recipe.overlap_px, staff_space_px=recipe.staff_space_px, seed=seed,
                           overwrite=True)
    return convert_deepscores(config, progress).output
