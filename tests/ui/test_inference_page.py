"""The Inference page with AppTest: a dataset image through the bundled model, then the sliders filter."""

import re
import shutil

import pytest

from omr_core.workspace import Workspace
from tests.ui.apptest import assert_nothing_raw, open_page


@pytest.fixture
def app(tmp_path, monkeypatch, engraved):
    ws = Workspace.open(tmp_path / "ws")
    shutil.copytree(engraved, ws.source("engraved"))
    return open_page(monkeypatch, ws.root, "pages/inference.py")


def shown(at) -> tuple[int, int]:
    caption = next(c.value for c in at.caption if "boxes shown" in c.value)
    a, b = re.search(r"(\d+) of (\d+) boxes shown", caption).groups()
    return int(a), int(b)


def test_a_dataset_page_is_detected_drawn_and_offered_as_json(app):
    at = app
    at.radio(key="infer-origin").set_value("Dataset image").run()
    at.radio(key="infer-backend").set_value("torch").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="infer-source").value == "engraved"
    visible, total = shown(at)
    assert 0 < visible <= total
    labels = [m.label for m in at.metric]
    assert {"load (ms)", "model (ms)", "thin (ms)", "total (ms)"} <= set(labels)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Staff space"].endswith(" px") and metrics["Measurement confidence"]
    counts = at.dataframe[0].value  # the colour legend: every class found, its colour and how many are shown
    assert counts["boxes"].sum() == visible and counts["colour"].str.match(r"^#[0-9a-f]{6}$").all()
    assert at.get("download_button")  # the JSON of what is shown
    assert_nothing_raw(at)

    at.slider(key="infer-conf").set_value(0.9).run()
    fewer, same_total = shown(at)
    assert fewer < visible and same_total == total  # filtered, not detected again

    first_class = counts["class"].iloc[0]
    classes_filter(at).set_value([first_class]).run()
    legend = at.dataframe[0].value
    assert list(legend[legend["boxes"] > 0]["class"]) in ([first_class], [])


def classes_filter(at):
    return next(m for m in at.multiselect if str(m.key).startswith("infer-classes-"))


def test_a_new_image_starts_with_every_class_shown(app):
    at = app
    at.radio(key="infer-origin").set_value("Dataset image").run()
    at.radio(key="infer-backend").set_value("torch").run()
    everything = classes_filter(at).options
    classes_filter(at).set_value(everything[:1]).run()
    assert shown(at)[0] < shown(at)[1]
    pages = at.selectbox(key="infer-file").options
    at.selectbox(key="infer-file").set_value(pages[1]).run()
    assert not at.exception, at.exception
    assert classes_filter(at).value == classes_filter(at).options  # no filter carried over


def test_the_download_is_named_after_the_uploaded_file(app, page_path, monkeypatch):
    import json

    import streamlit as st

    offered = []
    real = st.download_button
    monkeypatch.setattr(st, "download_button", lambda label, data, **kw: offered.append((data, kw)) or real(label, data, **kw))
    at = app
    at.file_uploader(key="infer-upload").set_value(("My score (page 1).png", page_path.read_bytes(), "image/png")).run()
    at.radio(key="infer-backend").set_value("torch").run()
    assert not at.exception, at.exception
    data, kw = offered[-1]
    assert kw["file_name"] == "My_score_page_1-symbols.json"
    document = json.loads(data)
    assert document["source"] == "My score (page 1).png" and document["symbols"]


def test_without_an_image_the_page_waits(app):
    at = app
    assert at.radio(key="infer-origin").value == "Upload" and not at.error
    assert not [c for c in at.caption if "boxes shown" in c.value]


def test_the_staff_space_is_shown_and_can_be_given_or_switched_off(app):
    """The engraved page's staff space is measured and the page read at the model's; a given value is used as
    given (a page at twice its size reads x0.5); 'Native scale' reads it as it is."""
    at = app
    at.radio(key="infer-origin").set_value("Dataset image").run()
    at.radio(key="infer-backend").set_value("torch").run()
    measured = float({m.label: m.value for m in at.metric}["Staff space"].split()[0])
    assert 15 < measured < 19
    assert any("(measured)" in c.value for c in at.caption)
    at.radio(key="infer-scale-mode").set_value("I know it").run()
    at.number_input(key="infer-staff-space").set_value(2 * measured).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Staff space"] == f"{2 * measured:.2f} px" and metrics["Read at"].startswith("x0.")
    assert any("(given staff space)" in c.value for c in at.caption)
    at.radio(key="infer-scale-mode").set_value("Native scale").run()
    assert {m.label: m.value for m in at.metric}["Read at"] == "native scale"
    assert not at.exception


def test_staves_and_ledger_lines_the_model_lacks_can_be_found_from_the_ink(app):
    """The bundled model knows noteheads and stems; staves and ledger lines are offered from the ink."""
    at = app
    at.radio(key="infer-origin").set_value("Dataset image").run()
    at.radio(key="infer-backend").set_value("torch").run()
    ink = at.multiselect(key="infer-ink-classes")
    assert ink.options == ["legerLine", "staff", "beam"] and ink.value == []  # stem is a class of the model already
    assert "staff" not in classes_filter(at).options
    ink.set_value(["staff"]).run()
    assert not at.exception, at.exception
    assert "staff" in classes_filter(at).options and "staff" in list(at.dataframe[0].value["class"])
