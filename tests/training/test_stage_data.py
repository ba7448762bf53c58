"""Each stage's dataset in one step, from what the plan says it is made of."""

import json
import shutil

import pytest

from omr_core.catalog import load_class_sets
from omr_core.formats.yolo import read_data_yaml
from omr_core.staff.rescale import CANONICAL_STAFF_SPACE_PX
from omr_core.training.plan import load_plan
from omr_core.training.stage_data import make_stage_dataset, overlap_for, stage_recipe
from omr_core.workspace import Workspace


@pytest.fixture
def ws(tmp_path, drawn_source):
    ws = Workspace.open(tmp_path / "ws")
    shutil.copytree(drawn_source, ws.source("corpus-default"))
    return ws


def recipe(ws, name, has_gpu=False, **given):
    plan = load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml))
    stage = plan.stage(name)
    return stage_recipe(ws, stage, plan.settings_for(stage, has_gpu), **given)


@pytest.mark.parametrize("tile, overlap", [(640, 96), (1024, 160), (320, 48)])
def test_tiles_overlap_by_fifteen_percent(tile, overlap):
    assert overlap_for(tile) == overlap


def test_the_first_stage_is_made_in_tiles_of_its_training_size(ws):
    first = recipe(ws, "3.1")
    assert (first.makeable, first.ready, first.tile_px, first.overlap_px) == (True, False, 640, 96)
    assert recipe(ws, "3.1", has_gpu=True).tile_px == 1024  # a GPU trains at the plan's 1024 px
    assert first.describe() == ("source corpus-default, converted with class set 3.1 at a staff space of 17 px "
                                "into 640-px tiles (overlap 96 px)")
    made = make_stage_dataset(ws, first)
    config = json.loads((made / "conversion.json").read_text())["config"]
    assert made == ws.dataset("corpus-3.1") and (config["class_set"], config["tile_px"]) == ("3.1", 640)
    assert config["staff_space_px"] == CANONICAL_STAFF_SPACE_PX == 17.0  # tiles at the canonical staff space
    assert read_data_yaml(made)["staff_space_px"] == pytest.approx(17.0, abs=0.01)
    assert first.cli_args(ws.root)[-2:] == ["--staff-space", "17.0"]
    assert recipe(ws, "3.1", staff_space_px=0).staff_space_px is None  # 0: each page kept at its own
    assert recipe(ws, "3.1").ready


def test_the_noise_stage_makes_the_scan_like_variant_first(ws):
    noise = recipe(ws, "noise")
    assert noise.scan_source == "corpus-default-phone" and "scan-like (phone) variant" in noise.describe()
    made = make_stage_dataset(ws, noise)
    assert "corpus-default-phone" in ws.list_sources()
    assert json.loads((made / "conversion.json").read_text())["config"]["source"].endswith("corpus-default-phone")


def test_what_cannot_be_made_here_says_where_it_comes_from(ws, tmp_path):
    finetune = recipe(ws, "finetune")
    assert not finetune.makeable and "Annotation page" in finetune.describe()
    with pytest.raises(ValueError, match="Annotation page"):
        make_stage_dataset(ws, finetune)
    bare = Workspace.open(tmp_path / "bare")
    missing = recipe(bare, "3.1")
    assert not missing.makeable
    with pytest.raises(FileNotFoundError, match="Generate tab"):
        make_stage_dataset(bare, missing)
