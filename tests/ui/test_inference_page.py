"""The Inference page with AppTest: a dataset image through the bundled model, then the sliders filter."""

import re
import shutil

import pytest

from omr_core.workspace import Workspace
from tests.ui.apptest import open_page


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
    assert len(at.metric) == 5 and at.metric[0].label == "load (ms)"
    counts = at.dataframe[0].value
    assert counts["boxes"].sum() == visible
    assert at.get("download_button")  # the JSON of what is shown

    at.slider(key="infer-conf").set_value(0.9).run()
    fewer, same_total = shown(at)
    assert fewer < visible and same_total == total  # filtered, not detected again

    first_class = counts["class"].iloc[0]
    at.multiselect(key="infer-classes").set_value([first_class]).run()
    assert list(at.dataframe[0].value["class"]) in ([first_class], [])


def test_without_an_image_the_page_waits(app):
    at = app
    assert at.radio(key="infer-origin").value == "Upload" and not at.error
    assert not [c for c in at.caption if "boxes shown" in c.value]
