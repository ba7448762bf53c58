"""Staves found on engraved pages, their phone-photo variants, constructed sloped staves and measure crops,
against the pages' own `staff` boxes."""

import json

import cv2
import numpy as np
import pytest

from omr_core.staff import estimate_staff_space
from omr_core.staff.lines import find_staves, page_darkness
from omr_core.structures.boxes import box_iou

from .test_space import staves_image


def staves_of(image):
    return find_staves(page_darkness(image), estimate_staff_space(image))


def pages(source):
    for line in (source / "generation.jsonl").read_text().splitlines():
        for page in json.loads(line).get("pages", []):
            boxes = np.array(page["xyxy"])[np.array(page["classes"]) == "staff"]
            yield source / "images" / page["file_name"], boxes


def test_every_staff_of_an_engraved_page_is_found_once_with_its_box(engraved):
    for path, truth in pages(engraved):
        found = np.array([s.xyxy for s in staves_of(cv2.imread(str(path)))])
        assert len(found) == len(truth), path.name
        iou = box_iou(truth, found)
        assert (iou.max(axis=1) >= 0.95).all() and (iou.max(axis=0) >= 0.95).all(), path.name


def test_the_staves_of_a_phone_photo_are_followed_along_their_slope(engraved):
    from omr_core.datasets.scan_noise import ScanConfig, scan_page

    found_all = []
    for k, (path, truth) in enumerate(pages(engraved)):
        scanned = scan_page(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), truth, np.random.default_rng([9, k]),
                            ScanConfig.preset("phone"))
        moved = scanned.xyxy[scanned.visible]
        found = np.array([s.xyxy for s in staves_of(scanned.pixels)])
        best = box_iou(moved, found).max(axis=1)
        found_all.extend(best)
    found_all = np.array(found_all)
    # every staff (a faint one under ledger-lined chords too); the boxes of a photo's keystoned staves are the
    # moved boxes' envelopes, so a few read lower
    assert (found_all >= 0.5).all() and (found_all >= 0.9).mean() >= 0.8, np.round(found_all, 2)


@pytest.mark.parametrize("slope_deg", [0.0, 1.5, -3.0])
def test_constructed_sloped_staves_keep_their_lines(slope_deg):
    image = staves_image(15.0, 1.6, slope_deg, wh=(1400, 900), staves=3)
    staves = staves_of(image)
    assert len(staves) == 3
    for staff in staves:
        x = np.linspace(staff.x0 + 20, staff.x1 - 20, 9)
        lines = staff.line_y(x)
        assert lines.shape == (5, 9)
        spacing = np.diff(lines, axis=0)
        assert np.allclose(spacing, 15.0 / np.cos(np.deg2rad(slope_deg)), atol=0.5)
        slope = np.polyfit(x, lines[0], 1)[0]
        assert slope == pytest.approx(np.tan(np.deg2rad(slope_deg)), abs=0.004)
        assert staff.x0 < 15 and staff.x1 > 1385  # the lines run the width of the image


def test_five_ledger_lines_over_a_run_of_high_notes_are_no_staff():
    space = 14.0
    image = staves_image(space, 1.6, 0.0, wh=(1400, 900), staves=3, notes=False)
    top = 0.6 * 900 / 3.2 + 900 / 3.2  # the second staff's top line
    for x in np.arange(300, 900, 2 * space):  # sixteenths up to five ledger lines above it, for 20 staff spaces
        for k in range(1, 6):
            y = int(round(top - k * space))
            cv2.line(image, (int(x), y), (int(x + 1.6 * space), y), 0, 2)
        cv2.ellipse(image, (int(x + 0.8 * space), int(top - 5.5 * space)), (int(0.6 * space), int(0.45 * space)),
                    -20, 0, 360, 0, -1)
    staves = staves_of(image)
    assert len(staves) == 3
    assert all(abs(s.top_y(700) - t) < 2 for s, t in zip(staves, [0.6 * 900 / 3.2 + k * 900 / 3.2 for k in range(3)]))


def test_a_measure_crop_holds_one_staff(engraved):
    path, truth = next(pages(engraved))
    image = cv2.imread(str(path))
    x0, y0, x1, y1 = truth[0]
    crop = image[int(y0 - 40) : int(y1 + 40), int(x0 + 200) : int(x0 + 520)]
    staves = staves_of(crop)
    assert len(staves) == 1 and staves[0].x0 <= 2 and staves[0].x1 >= crop.shape[1] - 2


def test_nothing_is_found_where_no_staff_is():
    assert staves_of(np.full((800, 600, 3), 255, np.uint8)) == []
