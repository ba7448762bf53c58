"""Shared fixtures. Tests never touch the network: Ultralytics and W&B are told so before anything imports them."""

from pathlib import Path

import pytest

from omr_core.offline import apply_defaults

apply_defaults()

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
    from omr_core.workflows.default_workspace import make_default
    from omr_core.workspace import Workspace

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


@pytest.fixture(scope="session")
def evaluated_workspace(tmp_path_factory, engraved):
    """A workspace with the engraved pages converted for the bundled model, and two evaluations of it."""
    import json

    from omr_core.datasets.convert import ConvertConfig, convert_deepscores
    from omr_core.evaluation.run import evaluate
    from omr_core.inference.detector import BUNDLED_MODELS, SymbolDetector
    from omr_core.workspace import Workspace

    ws = Workspace.open(tmp_path_factory.mktemp("eval-ws"))
    card_path = min(BUNDLED_MODELS.glob("*/card.json"))
    card = json.loads(card_path.read_text())
    dataset = ws.dataset("engraved")
    convert_deepscores(ConvertConfig(source=str(engraved), output=str(dataset), class_set=card["class_set"],
                                     tile_px=card["tile_px"], overlap_px=card["overlap_px"], val_fraction=0.5,
                                     sample_size=0))
    detector = SymbolDetector.load(card_path.parent.name, backend="torch")
    for split in ("val", "train"):
        evaluate(detector, dataset, split, ws.evaluations / f"bundled-{split}")
    return ws


APP = Path(__file__).resolve().parent.parent / "app.py"
