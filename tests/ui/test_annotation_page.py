"""The Annotation page with AppTest: the canvas is not rendered here, so what it is given is read from its
arguments and its answers are injected through session state, as the browser would send them."""

import json

import numpy as np
import pytest

from omr_core.annotation.canvas import class_names
from omr_core.annotation.prelabel import prelabel_scan
from omr_core.annotation.scans import import_scans
from omr_core.annotation.store import read_labels, read_status
from omr_core.annotation.units import load_units
from omr_core.formats.yolo import parse_labels
from omr_core.formats.images import read_image
from omr_core.structures.detections import Detections
from omr_core.workspace import Workspace
from tests.conftest import DATA
from tests.ui.apptest import open_page

NAMES = class_names()
TABI_WH = (1681, 1740)


@pytest.fixture
def app(tmp_path, monkeypatch, page_path):
    ws = Workspace.open(tmp_path / "ws")
    import_scans(ws.real_scans, [DATA / "tabi.jpg", page_path])
    return open_page(monkeypatch, ws.root, "pages/annotation.py"), ws


def canvas(at) -> dict:
    """What the page gave the canvas: its arguments (drawing_id, boxes, new_class, recent...)."""
    found = at.get("component_instance")
    assert len(found) == 1, "expected one annotation canvas on the page"
    return json.loads(found[0].proto.json_args)


def answer(at, boxes, seq=1, action=None, new_class=None, recent=None):
    """Send what the canvas answers after a change, for the unit it shows."""
    given = canvas(at)
    at.session_state[given["key"]] = {"drawing": given["drawing_id"], "seq": seq, "boxes": boxes, "action": action,
                                      "new_class": new_class or given["new_class"], "recent": recent or given["recent"]}
    at.run()
    assert not at.exception, at.exception


def new_box(label, left, top=40, width=6, height=80):
    return {"id": None, "label": label, "xyxy": [left, top, left + width, top + height], "unsure": False,
            "touched": True}


def saved_classes(ws, scan_id):
    labels, _ = parse_labels(read_labels(ws.real_scans, scan_id), TABI_WH)
    return sorted(NAMES[c] for c in labels.class_id)


def unit_radio(at):
    """The unit picker; its options are the units' labels, its values their numbers."""
    return next(r for r in at.radio if str(r.key).startswith("annot-unit-"))


def open_unit(at, name_start):
    radio = unit_radio(at)
    unit = next(k for k, label in enumerate(radio.options) if label.split(". ", 1)[1].startswith(name_start))
    radio.set_value(unit).run()
    assert not at.exception, at.exception
    return unit


def test_the_photo_shows_its_five_units_and_a_box_drawn_lands_in_page_pixels(app):
    at, ws = app
    scan_id = at.selectbox(key="annot-scan").value
    shown = unit_radio(at).options
    assert len(shown) == 5 and sum("system" in s and "(2 staves)" in s for s in shown) == 4
    assert any("ink above system 1 (no staff)" in s for s in shown)
    assert any("8 staves in 4 systems" in c.value for c in at.caption)  # under the page and its units
    unit = open_unit(at, "system 1")
    view = load_units(ws.real_scans, scan_id).units[unit].xyxy
    assert unit_radio(at).options[unit].endswith("· seen")  # opened, nothing changed
    answer(at, [new_box("stem", 100)])
    status = read_status(ws.real_scans, scan_id)
    assert status["status"] == "in progress" and status["boxes"] == 1 and status["review"][str(unit)] == "edited"
    assert unit_radio(at).options[unit].endswith("· edited")
    labels, _ = parse_labels(read_labels(ws.real_scans, scan_id), TABI_WH)
    assert labels.class_id.tolist() == [NAMES.index("stem")]
    assert np.allclose(labels.xyxy[0], [view[0] + 100, view[1] + 40, view[0] + 106, view[1] + 120], atol=0.01)
    assert any("1 boxes in this unit" in c.value for c in at.caption)


def prelabel(ws, scan_id):
    """Pre-label the photo as the job does, with boxes of known confidence: a sure and an unsure notehead and
    a sure stem in each system."""
    image = read_image(DATA / "tabi.jpg")
    units = load_units(ws.real_scans, scan_id, image).units
    rows, classes, confidence = [], [], []
    for unit in units:
        if unit.kind != "system":
            continue
        x0, y0 = unit.xyxy[:2]
        rows += [[x0 + 300, y0 + 100, x0 + 316, y0 + 113], [x0 + 400, y0 + 100, x0 + 416, y0 + 113],
                 [x0 + 500, y0 + 60, x0 + 503, y0 + 110]]
        classes += ["noteheadBlackOnLine", "noteheadBlackInSpace", "stem"]
        confidence += [0.9, 0.3, 0.8]
    found = Detections(np.array(rows, float), np.zeros(len(rows), int), np.array(confidence),
                       data={"class_name": np.array(classes, dtype=object)})
    return prelabel_scan(ws.real_scans, scan_id, image, found, "test-model")


def test_pre_labels_show_the_first_time_a_unit_opens_and_unsure_survives_reloads(app, monkeypatch):
    at, ws = app
    scan_id = at.selectbox(key="annot-scan").value
    open_unit(at, "system 1")  # shown before the model ran: seen, and its pre-labels must still come
    report = prelabel(ws, scan_id)
    assert report["placed"] == 12 and report["outside_units"] == 0 and report["unsure"] == 4
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")
    assert len(canvas(at)["boxes"]) == 3  # the page opens on system 1, the unit last worked on
    open_unit(at, "system 2")
    boxes = canvas(at)["boxes"]
    assert sorted(b["label"] for b in boxes) == ["noteheadBlackInSpace", "noteheadBlackOnLine", "stem"]
    assert [b["label"] for b in boxes if b["unsure"]] == ["noteheadBlackInSpace"]
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")  # a reload
    open_unit(at, "system 2")
    boxes = canvas(at)["boxes"]
    assert [b["label"] for b in boxes if b["unsure"]] == ["noteheadBlackInSpace"]
    # touching the unsure box (moved by a pixel) makes it the user's
    moved = [dict(b, xyxy=[v + 1 for v in b["xyxy"]], touched=True, unsure=False) if b["unsure"] else b for b in boxes]
    answer(at, moved)
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")
    open_unit(at, "system 2")
    assert not any(b["unsure"] for b in canvas(at)["boxes"]) and len(canvas(at)["boxes"]) == 3
    # the other units' unsure boxes are still marked; one click removes those of a unit
    open_unit(at, "system 3")
    assert at.button(key="annot-remove-unsure").label == "Remove 1 unsure"
    at.button(key="annot-remove-unsure").click().run()
    assert sorted(b["label"] for b in canvas(at)["boxes"]) == ["noteheadBlackOnLine", "stem"]
    assert read_status(ws.real_scans, scan_id)["boxes"] == 11


def test_review_states_done_only_when_reviewed_or_confirmed(app, monkeypatch):
    at, ws = app
    scan_id = at.selectbox(key="annot-scan").value
    prelabel(ws, scan_id)
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")
    radio = unit_radio(at)
    assert radio.value == 0 and radio.options[0].endswith("· seen · uncertainty 1.00") and "not seen" in radio.options[1]
    at.button(key="annot-accept").click().run()  # accepted as it is, in one click: on to the next unit
    radio = unit_radio(at)
    assert radio.value == 1 and "reviewed" in radio.options[0]
    assert read_status(ws.real_scans, scan_id)["review"]["0"] == "reviewed"
    assert sum(b["unsure"] for b in canvas(at)["boxes"]) == 1  # system 1, with its unsure notehead
    answer(at, canvas(at)["boxes"], action="accept")  # the canvas's key A does the same
    status = read_status(ws.real_scans, scan_id)
    assert status["review"]["1"] == "reviewed"
    assert len(status["unsure"]) == 3  # accepting vouched for system 1's unsure box; the others stay marked
    open_unit(at, "system 1")
    assert not any(b["unsure"] for b in canvas(at)["boxes"]) and len(canvas(at)["boxes"]) == 3
    at.button(key="annot-status-done").click().run()
    assert read_status(ws.real_scans, scan_id)["status"] != "done"
    assert any("3 work units are not reviewed" in w.value for w in at.warning)
    at.button(key="annot-done-confirm").click().run()
    status = read_status(ws.real_scans, scan_id)
    assert status["status"] == "done" and status["done_unreviewed"]["units"] == [2, 3, 4]
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")  # a reload: the scan picker says so
    picker = at.selectbox(key="annot-scan")
    assert picker.value == scan_id and picker.options[picker.index].endswith("· done")


def test_a_page_whose_units_are_all_reviewed_is_done_without_asking(app, monkeypatch):
    at, ws = app
    scan_id = at.selectbox(key="annot-scan").value
    prelabel(ws, scan_id)
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")
    for _ in range(5):  # accept each unit: the page moves on to the next one not reviewed
        at.button(key="annot-accept").click().run()
    assert all(label.split(" · ")[1] == "reviewed" for label in unit_radio(at).options)
    at.button(key="annot-status-done").click().run()
    status = read_status(ws.real_scans, scan_id)
    assert status["status"] == "done" and status["done_unreviewed"] is None
    assert not any("not reviewed" in w.value for w in at.warning)
    assert any("1 scans marked done: 5 of 5 work units reviewed, 0 not" in c.value for c in at.caption)
    assert not any("half-reviewed" in w.value for w in at.warning) and not at.button(key="annot-export").disabled


def test_export_counts_units_and_warns_before_a_half_reviewed_page(app, monkeypatch):
    at, ws = app
    scan_id = at.selectbox(key="annot-scan").value
    prelabel(ws, scan_id)
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")
    at.button(key="annot-accept").click().run()
    at.button(key="annot-status-done").click().run()
    at.button(key="annot-done-confirm").click().run()
    at.run()
    assert any("1 scans marked done: 1 of 5 work units reviewed, 4 not" in c.value for c in at.caption)
    assert any("half-reviewed" in w.value and "4 of 5 units not reviewed" in w.value for w in at.warning)
    assert at.button(key="annot-export").disabled
    at.checkbox(key="annot-export-anyway").check().run()
    at.button(key="annot-export").click().run()
    assert not at.exception and not at.error, at.error
    assert any("units reviewed 1, not reviewed 4" in s.value for s in at.success), [s.value for s in at.success]
    name = at.text_input(key="annot-export-name").value  # real-scans-<the newest class set>
    summary = json.loads((ws.dataset(name) / "export.json").read_text())
    assert summary["units"] == {"reviewed": 1, "unreviewed": 4} and summary["half_reviewed"] == [scan_id]


def test_the_new_box_class_recent_classes_scan_and_unit_are_remembered(app, monkeypatch):
    at, ws = app
    scan_id = at.selectbox(key="annot-scan").value
    unit = open_unit(at, "system 3")
    answer(at, [], new_class="accidentalSharp", recent=["accidentalSharp", "stem"])
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")  # a reload
    given = canvas(at)
    assert given["new_class"] == "accidentalSharp" and given["recent"][:2] == ["accidentalSharp", "stem"]
    assert at.selectbox(key="annot-scan").value == scan_id
    assert unit_radio(at).value == unit
    assert given["classes"].index("accidentalSharp") < given["classes"].index("accidentalFlat")  # recent first


def test_classes_of_the_chosen_stage_come_first(app):
    at, _ = app
    at.selectbox(key="annot-stage").set_value("3.1").run()
    assert canvas(at)["classes"][:2] == ["noteheadBlackOnLine", "noteheadBlackInSpace"]


def test_a_box_deleted_on_the_canvas_is_deleted_on_disk(app):
    at, ws = app
    scan_id = at.selectbox(key="annot-scan").value
    open_unit(at, "system 1")
    answer(at, [new_box("stem", 100), new_box("noteheadBlackOnLine", 120)])
    assert read_status(ws.real_scans, scan_id)["boxes"] == 2
    kept = [b for b in canvas(at)["boxes"] if b["label"] == "noteheadBlackOnLine"]
    answer(at, kept, seq=2)
    assert saved_classes(ws, scan_id) == ["noteheadBlackOnLine"]


def test_two_tabs_on_one_scan_lose_no_box(app, monkeypatch):
    first, ws = app
    second = open_page(monkeypatch, ws.root, "pages/annotation.py")  # opened before either saved
    scan_id = first.selectbox(key="annot-scan").value
    open_unit(first, "system 1")
    open_unit(second, "system 1")
    answer(second, [new_box("stem", 100)])
    answer(first, [new_box("noteheadBlackOnLine", 200)])  # the stale tab draws its own box
    assert not first.error, first.error
    assert saved_classes(ws, scan_id) == ["noteheadBlackOnLine", "stem"]  # both boxes, neither written over
    version = read_status(ws.real_scans, scan_id)["version"]
    second.run()
    first.run()  # reruns with nothing new drawn save nothing
    assert saved_classes(ws, scan_id) == ["noteheadBlackOnLine", "stem"]
    assert read_status(ws.real_scans, scan_id)["version"] == version
    assert sorted(b["label"] for b in canvas(first)["boxes"]) == ["noteheadBlackOnLine", "stem"]  # given anew


def test_two_tabs_changing_one_box_differently_refuse_and_keep_the_users_boxes(app, monkeypatch):
    first, ws = app
    second = open_page(monkeypatch, ws.root, "pages/annotation.py")
    scan_id = first.selectbox(key="annot-scan").value
    open_unit(first, "system 1")
    open_unit(second, "system 1")
    answer(second, [new_box("stem", 100)])
    first.run()  # the first tab now shows the stem
    stem = canvas(first)["boxes"]
    answer(second, [], seq=2)  # the second tab deletes it...
    answer(first, [dict(stem[0], xyxy=[104, 40, 110, 120], touched=True)])  # ...while the first moves it
    assert any("Nothing of yours is lost" in e.value for e in first.error)
    assert saved_classes(ws, scan_id) == []  # refused: the deletion stands
    assert len(list((ws.real_scans / "conflicts").glob(f"{scan_id}-*.txt"))) == 1  # and the moved box is kept


def test_bad_label_status_units_and_scan_list_files_are_shown_not_a_crash(tmp_path, monkeypatch, page_path):
    ws = Workspace.open(tmp_path / "ws")
    ids = import_scans(ws.real_scans, [DATA / "tabi.jpg", page_path]).added
    (ws.real_scans / "status").mkdir()
    (ws.real_scans / "status" / f"{ids[0]}.json").write_bytes(b"\xff{not json")
    (ws.real_scans / "labels").mkdir()
    (ws.real_scans / "labels" / f"{ids[0]}.txt").write_bytes(b"0 0.5 0.5 0.1 0.1\n9999 0.5 0.5 0.1 0.1\nbad\n")
    (ws.real_scans / "predictions").mkdir()
    (ws.real_scans / "predictions" / f"{ids[1]}.json").write_text('{"xyxy": [[1, 2, 3]]}')
    (ws.real_scans / "units").mkdir()
    (ws.real_scans / "units" / f"{ids[0]}.json").write_text("[")
    at = open_page(monkeypatch, ws.root, "pages/annotation.py")
    assert at.selectbox(key="annot-scan").value == ids[0]
    shown = " ".join(w.value for w in at.warning)
    assert f"predictions/{ids[1]}.json" in shown  # with the file's name
    assert f"status/{ids[0]}.json" in shown and f"units/{ids[0]}.json" in shown
    assert f"labels/{ids[0]}.txt: line 2" in shown and "line 3" in shown
    open_unit(at, "system 3")  # the box in the middle of the page
    assert not at.exception, at.exception
    (ws.real_scans / "scans.json").write_text("[{]")
    at.run()
    assert not at.exception and any("rebuilt from images" in w.value for w in at.warning)
    assert len(at.selectbox(key="annot-scan").options) == 2  # both scans, found again from their images
