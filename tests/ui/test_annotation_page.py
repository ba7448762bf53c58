"""The Annotation page with AppTest: the canvas is not rendered here, so its value is injected through
session state, as the browser would send it."""

import numpy as np
import pytest

from omr_core.annotation.canvas import class_names
from omr_core.annotation.scans import import_scans
from omr_core.annotation.store import read_labels, read_status
from omr_core.formats.yolo import parse_labels
from omr_core.workspace import Workspace
from tests.conftest import DATA
from tests.ui.apptest import open_page

NAMES = class_names()


@pytest.fixture
def app(tmp_path, monkeypatch, page_path):
    ws = Workspace.open(tmp_path / "ws")
    import_scans(ws.real_scans, [DATA / "real_scans" / "tabi.jpg", page_path])
    return open_page(monkeypatch, ws.root, "pages/annotation.py"), ws


def test_a_box_drawn_on_the_canvas_is_saved_in_page_pixels(app):
    at, ws = app
    scan_id = at.selectbox(key="annot-scan").value
    radio = next(r for r in at.radio if str(r.key).startswith("annot-system-"))
    assert len(radio.options) == 4  # the photo's four systems
    key = f"annot-canvas-{scan_id}-0-2.0"  # first work unit, zoom 2
    box = {"type": "LabeledRect", "label": "stem", "left": 100, "top": 40, "width": 6, "height": 80,
           "originX": "left", "originY": "top", "scaleX": 1, "scaleY": 1}
    at.session_state[key] = {"drawing": {"raw": {"objects": [box]}, "data": None}, "backgroundFit": None}
    at.run()
    assert not at.exception, at.exception
    status = read_status(ws.real_scans, scan_id)
    assert status["status"] == "in progress" and status["boxes"] == 1 and len(status["edited"]) == 1
    crop = status["edited"][0]
    labels, _ = parse_labels(read_labels(ws.real_scans, scan_id), (1681, 1740))
    assert labels.class_id.tolist() == [NAMES.index("stem")]
    assert np.allclose(labels.xyxy[0], [crop[0] + 50, crop[1] + 20, crop[0] + 53, crop[1] + 60], atol=0.05)
    assert any("1 boxes in this work unit" in c.value for c in at.caption)

    at.button(key="annot-status-done").click().run()
    assert read_status(ws.real_scans, scan_id)["status"] == "done"


def test_classes_of_the_stage_come_first_and_search_narrows(app):
    at, _ = app
    at.selectbox(key="annot-stage").set_value("3.1").run()
    assert at.selectbox(key="annot-class").options[:2] == ["noteheadBlackOnLine", "noteheadBlackInSpace"]
    at.text_input(key="annot-search").set_value("sharp").run()
    assert all("sharp" in o.lower() for o in at.selectbox(key="annot-class").options)


def test_a_recent_class_is_one_click_away(app):
    at, _ = app
    at.selectbox(key="annot-class").set_value("accidentalSharp").run()
    at.selectbox(key="annot-class").set_value("stem").run()
    assert at.selectbox(key="annot-class").value == "stem"
    pills = at.get("button_group")[0] if at.get("button_group") else None
    assert pills is not None
    pills.set_value("accidentalSharp").run()
    assert at.selectbox(key="annot-class").value == "accidentalSharp" and not at.exception


def test_a_box_deleted_on_the_canvas_is_deleted_on_disk(app):
    at, ws = app
    scan_id = at.selectbox(key="annot-scan").value
    key = f"annot-canvas-{scan_id}-0-2.0"
    boxes = [{"type": "LabeledRect", "label": name, "left": 100 + 20 * k, "top": 40, "width": 6, "height": 80}
             for k, name in enumerate(["stem", "noteheadBlackOnLine"])]
    at.session_state[key] = {"drawing": {"raw": {"objects": boxes}, "data": None}, "backgroundFit": None}
    at.run()
    assert read_status(ws.real_scans, scan_id)["boxes"] == 2
    at.session_state[key] = {"drawing": {"raw": {"objects": boxes[1:]}, "data": None}, "backgroundFit": None}
    at.run()
    labels, _ = parse_labels(read_labels(ws.real_scans, scan_id), (1681, 1740))
    assert labels.class_id.tolist() == [NAMES.index("noteheadBlackOnLine")]
