"""Shared fixtures. Tests never touch the network: Ultralytics and W&B are told so before anything imports them."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("WANDB_MODE", "offline")

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def sample_json() -> Path:
    return DATA / "deepscores_v2_sample.json"


@pytest.fixture(scope="session")
def drawn_source(tmp_path_factory) -> Path:
    """A small DeepScores-format folder of drawn pages (6 pages of 980x1386: half DeepScores' size)."""
    from omr_core.datasets.drawn_pages import make_drawn_source

    return make_drawn_source(tmp_path_factory.mktemp("drawn"), n_pages=6, seed=3, test_fraction=0.2, wh=(980, 1386))


@pytest.fixture(scope="session")
def ready_workspace(tmp_path_factory):
    """A workspace holding the default drawn dataset (6 pages), as a first start makes it."""
    from omr_core.workspace import Workspace, make_default

    ws = Workspace.open(tmp_path_factory.mktemp("ui-ws"))
    make_default(ws, n_pages=6)
    return ws


@pytest.fixture(scope="session")
def engraved(tmp_path_factory) -> Path:
    """Two Verovio pages of a piece in music21's corpus, in DeepScores format."""
    from omr_core.rendering.generate import GenerateConfig, generate

    out = tmp_path_factory.mktemp("engraved")
    generate(GenerateConfig(output=str(out), n_pages=2, fonts=("Bravura",), test_fraction=0.0, seed=2, workers=1),
             pieces=["bach/bwv66.6.mxl", "joplin/maple_leaf_rag.mxl"])
    return out


@pytest.fixture(scope="session")
def page_path(engraved) -> Path:
    """The first engraved page (1960x2772 px)."""
    return min((engraved / "images").glob("*.png"))


APP = Path(__file__).resolve().parent.parent / "app.py"
