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


def canvas_value(*boxes):
    objects = [{"type": "LabeledRect", "label": label, "left": left, "top": 40, "width": 6, "height": 80,
                "originX": "left", "originY": "top", "scaleX": 1, "scaleY": 1} for label, left in boxes]
    return {"drawing": {"raw": {"objects": objects}, "data": None}, "backgroundFit": None}


def saved_classes(ws, scan_id):
    labels, _ = parse_labels(read_labels(ws.real_scans, scan_id), (1681, 1740))
    return sorted(NAMES[c] for c in labels.class_id)


def test_two_tabs_on_one_scan_lose_no_box(app, monkeypatch):
    first, ws = app
    second = open_page(monkeypatch, ws.root, "pages/annotation.py")  # opened before either saved
    scan_id = first.selectbox(key="annot-scan").value
    assert second.selectbox(key="annot-scan").value == scan_id
    key = f"annot-canvas-{scan_id}-0-2.0"
    second.session_state[key] = canvas_value(("stem", 100))
    second.run()
    first.session_state[key] = canvas_value(("noteheadBlackOnLine", 200))  # the stale tab draws its own box
    first.run()
    assert not first.exception and not first.error, first.error
    assert saved_classes(ws, scan_id) == ["noteheadBlackOnLine", "stem"]  # both boxes, neither written over
    second.run()
    first.run()  # reruns with nothing new drawn save nothing
    assert saved_classes(ws, scan_id) == ["noteheadBlackOnLine", "stem"]
    assert read_status(ws.real_scans, scan_id)["version"] == 2


def test_two_tabs_changing_one_box_differently_refuse_and_keep_the_users_boxes(app, monkeypatch):
    first, ws = app
    second = open_page(monkeypatch, ws.root, "pages/annotation.py")
    scan_id = first.selectbox(key="annot-scan").value
    key = f"annot-canvas-{scan_id}-0-2.0"
    second.session_state[key] = canvas_value(("stem", 100))
    second.run()
    first.run()  # the first tab now shows the stem
    second.session_state[key] = canvas_value()  # the second tab deletes it...
    second.run()
    first.session_state[key] = canvas_value(("stem", 104))  # ...while the first moves it
    first.run()
    assert any("Nothing of yours is lost" in e.value for e in first.error)
    assert saved_classes(ws, scan_id) == []  # refused: the deletion stands until the user chooses
    assert len(list((ws.real_scans / "conflicts").glob(f"{scan_id}-*.txt"))) == 1  # and the moved box is kept
    first.button(key="annot-conflict-mine").click().run()
    assert not first.error and saved_classes(ws, scan_id) == ["stem"]
    labels, _ = parse_labels(read_labels(ws.real_scans, scan_id), (1681, 1740))
    crop = read_status(ws.real_scans, scan_id)["edited"][0]
    assert np.allclose(labels.xyxy[0, 0], crop[0] + 52, atol=0.05)  # the moved one


def test_after_a_refusal_reload_shows_the_saved_version_and_saves_nothing(app, monkeypatch):
    first, ws = app
    second = open_page(monkeypatch, ws.root, "pages/annotation.py")
    scan_id = first.selectbox(key="annot-scan").value
    key = f"annot-canvas-{scan_id}-0-2.0"
    second.session_state[key] = canvas_value(("stem", 100))
    second.run()
    first.run()
    second.session_state[key] = canvas_value()
    second.run()
    first.session_state[key] = canvas_value(("stem", 104))
    first.run()
    first.button(key="annot-conflict-reload").click().run()
    first.run()
    assert not first.error and saved_classes(ws, scan_id) == []
    assert read_status(ws.real_scans, scan_id)["version"] == 2


def test_bad_label_status_and_scan_list_files_are_shown_not_a_crash(tmp_path, monkeypatch, page_path):
    ws = Workspace.open(tmp_path / "ws")
    ids = import_scans(ws.real_scans, [DATA / "real_scans" / "tabi.jpg", page_path]).added
    (ws.real_scans / "status").mkdir()
    (ws.real_scans / "status" / f"{ids[0]}.json").write_bytes(b"\xff{not json")
    (ws.real_scans / "labels").mkdir()
    (ws.real_scans / "labels" / f"{ids[0]}.txt").write_bytes(b"0 0.5 0.5 0.1 0.1\n9999 0.5 0.5 0.1 0.1\nbad\n")
    (ws.real_scans / "predictions").mkdir()
    (ws.real_scans / "predictions" / f"{ids[1]}.json").write_text('{"xyxy": [[1, 2, 3]]}')
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")
    shown = " ".join(w.value for w in at.warning)
    assert f"predictions/{ids[1]}.json" in shown  # with the file's name
    at.selectbox(key="annot-scan").set_value(ids[0]).run()
    assert not at.exception, at.exception
    shown = " ".join(w.value for w in at.warning)
    assert f"status/{ids[0]}.json" in shown and f"labels/{ids[0]}.txt: line 2" in shown and "line 3" in shown
    (ws.real_scans / "scans.json").write_text("[{]")
    at.run()
    assert not at.exception and any("rebuilt from images" in w.value for w in at.warning)
    assert len(at.selectbox(key="annot-scan").options) == 2  # both scans, found again from their images
