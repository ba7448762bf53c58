"""A registered model to detect with: a copy of the bundled one, in a workspace of its own."""

import json
import shutil
from pathlib import Path

import pytest

from omr_core.inference.detector import BUNDLED_MODELS


def bundled_model_dirs() -> list[Path]:
    return sorted(p.parent for p in BUNDLED_MODELS.glob("*/card.json"))


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """A workspace whose registry holds a copy of the bundled model (exports write there, not into the repo)."""
    from omr_core.workspace import Workspace

    bundled = bundled_model_dirs()
    assert bundled, f"no bundled model in {BUNDLED_MODELS}: the repository must ship one"
    ws = Workspace.open(tmp_path_factory.mktemp("detect-ws"))
    shutil.copytree(bundled[0], ws.models / bundled[0].name, ignore=shutil.ignore_patterns("*.onnx"))
    return ws


@pytest.fixture(scope="session")
def model_dir(workspace) -> Path:
    return next(workspace.models.iterdir())


def card_of(folder: Path) -> dict:
    return json.loads((folder / "card.json").read_text())
