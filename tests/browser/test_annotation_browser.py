"""The labelling work, measured in the real browser: one work unit of the real phone photo, pre-labelled by the
bundled model, corrected as a labeller does it (a class changed, a false box deleted, a missing box drawn, the
unit accepted), then a reload finds every change. Mouse and keys are the user's; the canvas's own state is read
(never written) to know where its boxes are drawn. Screenshots go to $SCOREEYE_SCREENSHOTS (or the test's
temporary folder)."""

import importlib.util
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from omr_core.annotation.canvas import class_names, unit_drawing
from omr_core.annotation.store import read_labels, read_status
from omr_core.annotation.units import load_units
from omr_core.formats.yolo import parse_labels

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Debian chromium at {CHROMIUM} (apt-get install "
                                                           f"chromium): the annotation browser test needs it"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None,
                       reason="playwright is not installed (requirements.txt): the annotation browser test needs it"),
]
NAMES = class_names()
PHOTO_WH = (1681, 1740)
NEW_CLASS = "accidentalSharp"  # a class the bundled model does not know: the box the user draws is theirs
FRAME = '[data-testid="stCustomComponentV1"]'


class Actions:
    """The user's actions, counted: a click, a drag, a key (typing a search counts as one, with its Enter)."""

    def __init__(self, page):
        self.page, self.count, self.log = page, 0, []

    def click(self, x, y, what):
        self.page.mouse.click(x, y)
        self._did(f"click {what}")

    def drag(self, x0, y0, x1, y1, what):
        self.page.mouse.move(x0, y0)
        self.page.mouse.down()
        self.page.mouse.move(x1, y1, steps=8)
        self.page.mouse.up()
        self._did(f"drag {what}")

    def key(self, key, what):
        self.page.keyboard.press(key)
        self._did(f"key {key}: {what}")

    def search(self, frame, name, what):
        frame.locator("#search").fill(name)
        frame.locator("#search").press("Enter")
        self._did(f"search {name}: {what}")

    def _did(self, what):
        self.count += 1
        self.log.append(what)


@pytest.fixture(scope="module")
def labelling_server(tmp_path_factory, prelabelled_photo, engraved):
    from tests.browser.test_workbench_browser import serve

    photo_ws, scan_id, _ = prelabelled_photo
    root = tmp_path_factory.mktemp("labelling") / "ws"
    shutil.copytree(photo_ws.root, root)  # the shared pre-labelled workspace stays as it was
    from omr_core.workspace import Workspace

    ws = Workspace.open(root)
    shutil.copytree(engraved, ws.source("engraved"))  # not empty: no first-start job competing for the CPU
    for url in serve(ws):
        yield url, ws, scan_id


def canvas_state(page):
    """The canvas's boxes (unit-view px) and scale as it draws them."""
    frame = [f for f in page.frames if "scoreeye_annotator" in f.url and not f.is_detached()][-1]
    frame.wait_for_function("S.image !== null", timeout=60_000)
    return frame.evaluate("""() => ({scale: S.scale, fit: S.fit, newClass: S.newClass, recent: S.recent,
        boxes: S.boxes.map((b, k) => ({k: k, label: b.label, xyxy: [b.x0, b.y0, b.x1, b.y1], unsure: b.unsure,
                                       hitsItself: hit({x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2}) === k})),
        viewScrolls: view.scrollWidth > view.clientWidth + 1, overflowX: getComputedStyle(view).overflowX})""")


def screen_of(page, state, xy):
    """The screen point of a point of the unit's view."""
    box = page.frame_locator(FRAME).first.locator("#canvas").bounding_box()
    return box["x"] + xy[0] * state["scale"], box["y"] + xy[1] * state["scale"]


def centre(box):
    return ((box["xyxy"][0] + box["xyxy"][2]) / 2, (box["xyxy"][1] + box["xyxy"][3]) / 2)


def wait_until(page, test, what, timeout_s=60):
    for _ in range(int(timeout_s / 0.25)):
        if test():
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"not saved: {what}")


def on_disk(ws, scan_id):
    """The scan's boxes as saved, page px: (n, 4) and their class names."""
    labels, problems = parse_labels(read_labels(ws.real_scans, scan_id), PHOTO_WH)
    assert not problems
    return labels.xyxy, [NAMES[c] for c in labels.class_id]


def find(xyxy, names, page_xyxy, tol=0.5):
    """The names of the saved boxes at `page_xyxy`."""
    at = np.abs(xyxy - np.asarray(page_xyxy)).max(axis=1) < tol
    return [n for n, hit in zip(names, at) if hit]


def view_of(ws, scan_id, units, unit):
    status = read_status(ws.real_scans, scan_id)
    drawing = unit_drawing(read_labels(ws.real_scans, scan_id), PHOTO_WH, NAMES, units, unit, status.get("unsure", []))
    return np.array(drawing["view_xyxy"][:2] * 2, dtype=np.float64), len(drawing["boxes"])


def open_unit(page, label_start, boxes):
    page.get_by_text(re.compile("^" + re.escape(label_start))).first.click()
    page.get_by_text(re.compile(rf"^{boxes} boxes in this unit")).wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # the canvas is drawn and the rerun settled


def empty_spot(state, side):
    """A square of a staff space in the unit's view where no box is, nor near enough to be grabbed."""
    boxes = np.array([b["xyxy"] for b in state["boxes"]], dtype=np.float64).reshape(-1, 4)
    margin = 12 / state["scale"]
    for y in np.arange(20, 300, side):
        for x in np.arange(300, 1200, side):
            apart = (boxes[:, 2] < x - margin) | (boxes[:, 0] > x + side + margin) | \
                    (boxes[:, 3] < y - margin) | (boxes[:, 1] > y + 1.5 * side + margin)
            if apart.all():
                return float(x), float(y)
    raise AssertionError("no empty place in system 1 to draw a box")


def test_one_unit_corrected_in_the_browser_is_all_there_after_a_reload(labelling_server, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.browser.test_workbench_browser import open_app

    url, ws, scan_id = labelling_server
    shots = Path(os.environ.get("SCOREEYE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    units = load_units(ws.real_scans, scan_id).units
    system_1 = next(k for k, u in enumerate(units) if u.name.startswith("system 1"))
    label = f"{system_1 + 1}. {units[system_1].name}"
    offset, n = view_of(ws, scan_id, units, system_1)
    before_xyxy, _ = on_disk(ws, scan_id)
    space = load_units(ws.real_scans, scan_id).staff_space_px or 12.0
    with sync_playwright() as p:
        browser, page = open_app(p, url)
        page.get_by_role("link", name="Annotation").click()
        page.get_by_role("heading", name="Annotation").wait_for(timeout=60_000)
        open_unit(page, label, n)
        state = canvas_state(page)
        assert n > 80 and len(state["boxes"]) == n, "system 1 shows the model's pre-labels the first time it opens"
        # readable at many boxes, at fit: no sideways scrolling, inside the canvas or on the page
        assert abs(state["scale"] - state["fit"]) < 1e-6 and not state["viewScrolls"] and state["overflowX"] == "hidden"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        frame = page.frame_locator(FRAME).first
        assert frame.locator("#legend .chip").count() >= 3  # a legend of the classes drawn, with their counts
        page.screenshot(path=str(shots / "annotation-unit-prelabelled.png"), full_page=True)
        frame.locator("#view").screenshot(path=str(shots / "annotation-canvas-fit.png"))
        first_seen = [(np.array(b["xyxy"]) + offset, b["label"]) for b in state["boxes"]]
        heads = [b for b in state["boxes"] if b["label"].startswith("notehead") and b["hitsItself"]]
        relabel, false_box = heads[len(heads) // 3], heads[2 * len(heads) // 3]
        to = "noteheadBlackOnLine" if relabel["label"] != "noteheadBlackOnLine" else "noteheadBlackInSpace"
        act = Actions(page)

        # 1. a class changed: select the box (a click), give it its class (the search and Enter)
        act.click(*screen_of(page, state, centre(relabel)), "a notehead")
        page.wait_for_timeout(300)
        frame.locator("#view").screenshot(path=str(shots / "annotation-selected.png"))  # its label, the only one
        act.search(frame, to, "its class")
        wait_until(page, lambda: find(*on_disk(ws, scan_id), relabel["xyxy"] + offset) == [to], "the new class")
        # 2. a false box deleted: select it, Delete
        state = canvas_state(page)
        act.click(*screen_of(page, state, centre(false_box)), "a false box")
        act.key("Delete", "remove it")
        wait_until(page, lambda: not find(*on_disk(ws, scan_id), false_box["xyxy"] + offset), "the deletion")
        # 3. a missing box drawn: its class as the new-box class (nothing selected: the search sets it), one drag
        act.search(frame, NEW_CLASS, "the new-box class")
        state = canvas_state(page)
        x, y = empty_spot(state, space)
        act.drag(*screen_of(page, state, (x, y)), *screen_of(page, state, (x + space, y + 1.5 * space)), "a new box")
        wait_until(page, lambda: NEW_CLASS in on_disk(ws, scan_id)[1], "the new box")
        state = canvas_state(page)
        drawn = next(b for b in state["boxes"] if b["label"] == NEW_CLASS)
        assert drawn["label"] == NEW_CLASS and drawn["xyxy"][0] == pytest.approx(x, abs=3)
        # a box's name shows on hover only, beside the pointer and inside the view: the rightmost box's too
        rightmost = max((b for b in state["boxes"] if b["hitsItself"]), key=lambda b: b["xyxy"][2])
        page.mouse.move(*screen_of(page, state, centre(rightmost)))
        frame.locator("#tip").wait_for(state="visible", timeout=10_000)
        tip, view = frame.locator("#tip").bounding_box(), frame.locator("#view").bounding_box()
        assert view["x"] <= tip["x"] and tip["x"] + tip["width"] <= view["x"] + view["width"]
        assert frame.locator("#tip").inner_text() == rightmost["label"] + (" (unsure)" if rightmost["unsure"] else "")
        frame.locator("#view").screenshot(path=str(shots / "annotation-hover.png"))
        page.locator(FRAME).first.screenshot(path=str(shots / "annotation-canvas-and-legend.png"))
        # 4. accepted, in one click: on to the next unit
        box = page.get_by_role("button", name="Accept unit").bounding_box()
        act.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, "Accept unit")
        wait_until(page, lambda: read_status(ws.real_scans, scan_id)["review"].get(str(system_1)) == "reviewed",
                   "the review")
        page.get_by_text(re.compile("^" + re.escape(label) + r" · reviewed")).wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "annotation-accepted.png"), full_page=True)
        (shots / "annotation-actions.txt").write_text(f"{act.count} actions\n" + "\n".join(act.log) + "\n")
        assert act.count == 7, act.log
        frame = page.frame_locator(FRAME).first  # the next unit, zoomed to 2x by keys: it scrolls now, only then
        frame.locator("#fit").click()
        for _ in range(3):
            page.keyboard.press("+")
        page.wait_for_timeout(500)
        frame.locator("#view").screenshot(path=str(shots / "annotation-zoom-2x.png"))
        assert canvas_state(page)["viewScrolls"]

        # the reload: a new session on the page's own URL finds every change, from disk
        page.reload()
        page.get_by_role("heading", name="Annotation").wait_for(timeout=60_000)
        offset_now, n_now = view_of(ws, scan_id, units, system_1)
        assert n_now == n
        open_unit(page, label, n)
        state = canvas_state(page)
        page.screenshot(path=str(shots / "annotation-after-reload.png"), full_page=True)
        shown = [(np.array(b["xyxy"]) + offset_now, b["label"]) for b in state["boxes"]]
        at = lambda xyxy: [name for box, name in shown if np.abs(box - xyxy).max() < 0.5]  # noqa: E731
        assert at(relabel["xyxy"] + offset) == [to]
        assert at(false_box["xyxy"] + offset) == []
        assert at(np.array(drawn["xyxy"]) + offset) == [NEW_CLASS]
        assert len(state["boxes"]) == n and not any(b["unsure"] for b in state["boxes"])  # accepted: vouched for
        # and every other box of the unit exactly as the model put it
        untouched = [(xyxy, name) for xyxy, name in first_seen
                     if np.abs(xyxy - (relabel["xyxy"] + offset)).max() >= 0.5
                     and np.abs(xyxy - (false_box["xyxy"] + offset)).max() >= 0.5]
        assert len(untouched) == n - 2
        assert all(name in at(xyxy) for xyxy, name in untouched), "a box the user did not touch changed"
        assert page.get_by_text(re.compile("^" + re.escape(label) + r" · reviewed")).count() == 1
        assert state["newClass"] == NEW_CLASS and state["recent"][:2] == [NEW_CLASS, to]
        browser.close()

    # on disk, in page px: one box relabelled, one gone, one new; as many boxes as before
    after_xyxy, after_names = on_disk(ws, scan_id)
    assert len(after_xyxy) == len(before_xyxy)
    assert find(after_xyxy, after_names, np.array(drawn["xyxy"]) + offset, tol=0.5) == [NEW_CLASS]
    assert read_status(ws.real_scans, scan_id)["status"] == "in progress"
