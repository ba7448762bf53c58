"""The pages never load a pickle without the user's tick, and show bad model cards instead of crashing."""

import shutil

import pytest

from omr_core.annotation.scans import import_scans
from omr_core.workspace import Workspace
from tests.conftest import DATA
from tests.test_registry import evil_model
from tests.ui.apptest import open_page


@pytest.fixture
def ws(tmp_path, engraved):
    ws = Workspace.open(tmp_path / "ws")
    shutil.copytree(engraved, ws.source("engraved"))
    evil_model(ws.models / "evil", tmp_path / "MARKER")
    (ws.models / "broken").mkdir()
    (ws.models / "broken" / "card.json").write_text('{"name": "broken", ')
    return ws


def marker_of(ws):
    return ws.root.parent / "MARKER"


def test_inference_asks_before_it_loads_an_unvouched_pickle(ws, monkeypatch):
    at = open_page(monkeypatch, ws.root, "pages/inference.py")
    assert any("broken" in w.value and "left out" in w.value for w in at.warning)  # reported, not a crash
    at.radio(key="infer-origin").set_value("Dataset image").run()
    at.selectbox(key="infer-model").set_value("evil").run()
    assert not at.exception, at.exception
    assert any("pickle" in w.value for w in at.warning)
    assert not marker_of(ws).exists() and not [c for c in at.caption if "boxes shown" in c.value]
    at.checkbox(key="infer-trust-registered").check().run()
    assert marker_of(ws).exists()  # the tick is the consent: now it loads (and, being no model, fails clearly)
    assert not at.exception and any("cannot be loaded" in e.value for e in at.error)


def test_annotation_prelabelling_asks_first(ws, monkeypatch):
    import_scans(ws.real_scans, [DATA / "real_scans" / "tabi.jpg"])
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")
    at.selectbox(key="annot-model").set_value("evil").run()
    assert not at.exception, at.exception
    assert at.button(key="annot-prelabel").disabled and any("pickle" in w.value for w in at.warning)
    assert not marker_of(ws).exists()


def test_evaluation_asks_first_and_passes_the_consent_to_its_job(ws, monkeypatch):
    (ws.dataset("d")).mkdir(parents=True)
    (ws.dataset("d") / "data.yaml").write_text("names: {0: stem}\n")
    at = open_page(monkeypatch, ws.root, "pages/evaluation.py")
    assert any("broken" in w.value for w in at.warning)
    at.selectbox(key="eval-model").set_value("evil").run()
    assert at.button(key="eval-start").disabled and not marker_of(ws).exists()


def test_training_shows_a_bad_card_and_goes_on(ws, monkeypatch):
    at = open_page(monkeypatch, ws.root, "pages/training.py")
    assert not at.exception and any("broken" in w.value for w in at.warning)
