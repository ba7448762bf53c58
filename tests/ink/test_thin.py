"""Stems, ledger lines and staff boxes from the ink around noteheads: constructed staves with known symbols
(stems up and down, a chord, stems under a beam, ledger lines above and below, a sloped staff), and engraved
pages against their own labels."""

import json

import cv2
import numpy as np
import pytest

from omr_core.ink.thin import thin_symbols
from omr_core.staff import estimate_staff_space
from omr_core.staff.lines import find_staves, page_darkness
from omr_core.structures.boxes import box_iou

SS = 8  # supersampling of the constructed page


class Page:
    """A staff drawn 8x larger and averaged down, with the exact boxes of what was drawn (px of the result)."""

    def __init__(self, space=16.0, thickness=1.6, wh=(900, 400), top=150.0):
        self.space, self.t, self.wh, self.top = space, thickness, wh, top
        self.big = np.full((wh[1] * SS, wh[0] * SS), 255, np.uint8)
        self.heads, self.stems, self.ledgers = [], [], []
        for k in range(5):
            self._line(0, wh[0], self.line_y(k, 0))

    def line_y(self, k, x):
        return self.top + k * self.space

    def _rect(self, x0, y0, x1, y1):
        self.big[int(round(y0 * SS)):int(round(y1 * SS)), int(round(x0 * SS)):int(round(x1 * SS))] = 0

    def _line(self, x0, x1, y):
        self._rect(x0, y - self.t / 2, x1, y + self.t / 2)

    def note(self, x, step, stem=None, length=3.5):
        """A black notehead at staff position `step` (0: top line, 1: the space below, 2: second line...),
        with a stem "up" or "down" (or None)."""
        s = self.space
        cy = self.line_y(0, x) + step * s / 2
        w, h = 1.18 * s, 1.0 * s
        cv2.ellipse(self.big, (int(x * SS), int(cy * SS)), (int(w / 2 * SS), int(h / 2 * SS)), -20, 0, 360, 0, -1)
        head = (x - w / 2, cy - h / 2, x + w / 2, cy + h / 2)
        self.heads.append(head)
        width = 0.1 * s
        if stem == "up":
            box = (head[2] - width, cy - length * s, head[2], cy - 0.167 * s)
        elif stem == "down":
            box = (head[0], cy + 0.167 * s, head[0] + width, cy + length * s)
        else:
            box = None
        if box:
            self._rect(*box)
            self.stems.append(box)
        for k in range(1, 10):  # ledger lines between the head and the staff
            for y, beyond in ((self.line_y(0, x) - k * s, cy <= self.line_y(0, x) - k * s + 0.25 * s),
                              (self.line_y(4, x) + k * s, cy >= self.line_y(4, x) + k * s - 0.25 * s)):
                if beyond:
                    box = (head[0] - 0.27 * s, y - 0.06 * s, head[2] + 0.27 * s, y + 0.06 * s)
                    self._rect(*box)
                    self.ledgers.append(box)
        return head

    def beam(self, x0, x1, y0, y1, thick=0.5):
        s = self.space
        poly = np.array([[x0, y0], [x1, y1], [x1, y1 + thick * s], [x0, y0 + thick * s]]) * SS
        cv2.fillPoly(self.big, [poly.astype(np.int32)], 0)

    def image(self):
        small = cv2.resize(self.big, self.wh, interpolation=cv2.INTER_AREA)
        return np.repeat(small[:, :, None], 3, axis=2)


def found_on(page):
    image = page.image()
    estimate = estimate_staff_space(image)
    darkness = page_darkness(image)
    return thin_symbols(darkness, np.array(page.heads), find_staves(darkness, estimate), estimate.staff_space_px)


def matched(truth, found, at=0.5):
    truth, found = np.array(truth).reshape(-1, 4), np.asarray(found).reshape(-1, 4)
    if len(truth) == 0:
        return np.zeros(0)
    return box_iou(truth, found).max(axis=1) if len(found) else np.zeros(len(truth))


def test_stems_up_and_down_are_found_to_their_edges():
    page = Page()
    for k, x in enumerate(range(80, 840, 60)):
        page.note(x, step=k % 9, stem="up" if k % 2 else "down")
    found = found_on(page)
    assert len(found.stems_xyxy) == len(page.stems)
    assert (matched(page.stems, found.stems_xyxy) >= 0.75).all()
    widths = found.stems_xyxy[:, 2] - found.stems_xyxy[:, 0]
    assert np.allclose(widths, 1.6, atol=0.35)  # 0.1 staff space, read from the anti-aliased ink


def test_a_chord_has_one_stem_from_its_farthest_head():
    page = Page()
    x = 300
    page.note(x, 8, stem="up", length=5.5)  # the lowest head's stem runs through the chord to its tip
    page.note(x, 6, stem=None)
    page.note(x, 4, stem=None)
    found = found_on(page)
    assert len(found.stems_xyxy) == 1
    assert box_iou(np.array(page.stems), found.stems_xyxy)[0, 0] >= 0.8


def test_stems_under_a_beam_end_at_the_beam():
    page = Page()
    xs = [200, 260, 320, 380]
    for x in xs:
        page.note(x, 6, stem="up", length=3.5)
    s = page.space
    cy = page.line_y(0, 0) + 3 * s
    page.beam(xs[0] + 0.59 * s - 0.1 * s, xs[-1] + 0.59 * s, cy - 3.5 * s, cy - 3.5 * s)
    found = found_on(page)
    assert len(found.stems_xyxy) == 4
    assert (matched(page.stems, found.stems_xyxy) >= 0.7).all()


def test_ledger_lines_above_and_below():
    page = Page(wh=(900, 520), top=200.0)
    page.note(200, -4, stem="down")  # two ledger lines above (a head on the second)
    page.note(320, -3)  # in the space above the first ledger line: one
    page.note(440, 12, stem="up")  # two below
    page.note(560, 11)
    found = found_on(page)
    assert len(page.ledgers) == 6
    assert len(found.ledgers_xyxy) == 6
    assert (matched(page.ledgers, found.ledgers_xyxy) >= 0.7).all()


def test_a_sloped_staff_keeps_its_ledger_lines_and_stems():
    """The page turned by 1.5 degrees, the heads' boxes turned with it: a photo's rotation."""
    image_page = Page()
    for k, x in enumerate(range(100, 800, 100)):
        image_page.note(x, -2 if k % 2 else 10, stem="up" if k % 2 else "down")
    rotated = image_page.image()
    matrix = cv2.getRotationMatrix2D((450, 200), 1.5, 1.0)
    turned = cv2.warpAffine(rotated, matrix, (900, 400), borderValue=(255, 255, 255))
    heads = np.array(image_page.heads)
    corners = np.stack([heads[:, [0, 1]], heads[:, [2, 1]], heads[:, [0, 3]], heads[:, [2, 3]]], axis=1)
    moved = corners @ matrix[:, :2].T + matrix[:, 2]
    heads_turned = np.column_stack([moved[..., 0].min(1), moved[..., 1].min(1), moved[..., 0].max(1), moved[..., 1].max(1)])
    estimate = estimate_staff_space(turned)
    darkness = page_darkness(turned)
    found = thin_symbols(darkness, heads_turned, find_staves(darkness, estimate), estimate.staff_space_px)
    assert len(found.stems_xyxy) == 7 and len(found.ledgers_xyxy) == 7
    assert len(found.staves_xyxy) == 1


def test_no_stem_where_there_is_none():
    page = Page()
    for x in range(100, 800, 120):
        page.note(x, 5)  # whole notes have no stem
    assert len(found_on(page).stems_xyxy) == 0


def _labels(source):
    for line in (source / "generation.jsonl").read_text().splitlines():
        for page in json.loads(line).get("pages", []):
            yield source / "images" / page["file_name"], np.array(page["xyxy"]), np.array(page["classes"]).astype(str)


def test_engraved_pages_against_their_labels(engraved):
    """With the pages' own noteheads as anchors: stems, ledger lines and staves as the generator labels them."""
    totals = {"stem": [0, 0, 0], "legerLine": [0, 0, 0], "staff": [0, 0, 0]}
    for path, xyxy, classes in _labels(engraved):
        image = cv2.imread(str(path))
        estimate = estimate_staff_space(image)
        darkness = page_darkness(image)
        found = thin_symbols(darkness, xyxy[np.char.startswith(classes, "notehead")],
                             find_staves(darkness, estimate), estimate.staff_space_px)
        for name, boxes in (("stem", found.stems_xyxy), ("legerLine", found.ledgers_xyxy), ("staff", found.staves_xyxy)):
            truth = xyxy[classes == name]
            best = matched(truth, boxes)
            totals[name][0] += int((best >= 0.5).sum())
            totals[name][1] += len(truth)
            totals[name][2] += len(boxes)
    for name, (hits, truth, predicted) in totals.items():
        assert truth > 0, name
        assert hits / truth >= 0.95 and hits / predicted >= 0.95, (name, hits, truth, predicted)


def test_phone_photo_variants_keep_their_stems_and_ledger_lines(engraved):
    """The phone preset blurs the 1.7-px strokes to the faintness of its staff lines: ink is read against them."""
    from omr_core.datasets.scan_noise import ScanConfig, scan_page

    totals = {"stem": [0, 0], "legerLine": [0, 0]}
    for k, (path, xyxy, classes) in enumerate(_labels(engraved)):
        scanned = scan_page(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), xyxy, np.random.default_rng([3, k]),
                            ScanConfig.preset("phone"))
        moved, seen = scanned.xyxy[scanned.visible], classes[scanned.visible]
        estimate = estimate_staff_space(scanned.pixels)
        darkness = page_darkness(scanned.pixels)
        found = thin_symbols(darkness, moved[np.char.startswith(seen, "notehead")],
                             find_staves(darkness, estimate), estimate.staff_space_px)
        for name, boxes in (("stem", found.stems_xyxy), ("legerLine", found.ledgers_xyxy)):
            best = matched(moved[seen == name], boxes)
            totals[name][0] += int((best >= 0.5).sum())
            totals[name][1] += len(best)
    for name, (hits, truth) in totals.items():
        assert truth > 0 and hits / truth >= 0.85, (name, hits, truth)
