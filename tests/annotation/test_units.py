"""Work units: every staff in the unit of its system, every inked region in some unit, no unit of blank paper;
kept per scan so that their numbers keep meaning the same part of the page."""

import json

import cv2
import numpy as np
import pytest

from omr_core.annotation.units import find_units, load_units, unit_of, units_path, view_xyxy
from omr_core.staff.lines import page_darkness
from omr_core.structures.problems import ProblemLog
from tests.conftest import DATA


def tabi():
    return cv2.cvtColor(cv2.imread(str(DATA / "tabi.jpg")), cv2.COLOR_BGR2RGB)


def regions(units):
    return np.array([u.xyxy for u in units], dtype=np.float64).reshape(-1, 4)


def inside(boxes, units):
    """(n, u) whether each box lies wholly in each unit's region."""
    r = regions(units)
    return ((r[None, :, 0] <= boxes[:, None, 0] + 1) & (r[None, :, 1] <= boxes[:, None, 1] + 1)
            & (boxes[:, None, 2] <= r[None, :, 2] + 1) & (boxes[:, None, 3] <= r[None, :, 3] + 1))


def assert_no_overlap(units):
    r = regions(units)
    for i in range(len(r)):
        for j in range(i + 1, len(r)):
            w = min(r[i, 2], r[j, 2]) - max(r[i, 0], r[j, 0])
            h = min(r[i, 3], r[j, 3]) - max(r[i, 1], r[j, 1])
            assert w <= 0 or h <= 0, f"units {units[i].name} and {units[j].name} overlap"


def assert_no_blank_unit(image, units):
    darkness = page_darkness(image)
    for unit in units:
        x0, y0, x1, y1 = unit.xyxy
        assert (darkness[y0:y1, x0:x1] > 0.3).sum() >= 20, f"{unit.name} is blank paper"


def test_the_photo_gives_its_four_systems_of_two_staves_and_its_text():
    image = tabi()
    found = find_units(image)
    systems = [u for u in found.units if u.kind == "system"]
    assert [u.name for u in systems] == [f"system {k} (2 staves)" for k in range(1, 5)]
    assert found.staves == 8 and "8 staves in 4 systems" in found.note
    texts = [u for u in found.units if u.kind == "ink"]
    assert len(texts) == 1 and texts[0].name == "ink above system 1 (no staff)"  # the composer's credits
    assert texts[0].xyxy[0] > image.shape[1] / 2  # they stand top right
    assert_no_overlap(found.units)
    assert_no_blank_unit(image, found.units)
    # system 3 holds both staves of bars 15-21 (its treble staff was in no unit before)
    third = systems[2].xyxy
    assert third[3] - third[1] > 30 * 12.7 and third[2] - third[0] > 0.9 * image.shape[1]


def test_units_of_engraved_pages_and_their_phone_photos_follow_the_systems(system_pages):
    for page in system_pages:
        found = find_units(page.pixels)
        systems = [u for u in found.units if u.kind == "system"]
        holds = inside(page.staves_xyxy, systems)
        assert (holds.sum(axis=1) == 1).all(), f"{page.name}: a staff is not in exactly one unit"
        assert holds.argmax(axis=1).tolist() == page.systems, page.name  # as engraved: never split, never joined
        assert [u.staves for u in systems] == np.bincount(page.systems).tolist()
        assert (unit_of(page.heads_xyxy, found.units) >= 0).all(), f"{page.name}: a notehead lies in no unit"
        assert_no_overlap(found.units)
        assert_no_blank_unit(page.pixels, found.units)


def test_a_page_without_staves_is_cut_into_its_inked_regions_named_as_such():
    page = np.full((1600, 1200, 3), 255, np.uint8)
    for k, y in enumerate((150, 190, 700, 1400)):
        cv2.putText(page, f"Line of text number {k}", (100, y), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3)
    page[900:903, 600:603] = 0  # a speck of dust is no region
    found = find_units(page)
    assert found.staves == 0 and "no staff found" in found.note
    assert len(found.units) == 3  # the two lines close together are one region; the speck is none
    assert all(u.kind == "ink" and "no staff found" in u.name for u in found.units)
    ink = page.min(axis=2) < 128
    ink[900:903, 600:603] = False
    covered = np.zeros_like(ink)
    for x0, y0, x1, y1 in regions(found.units).astype(int):
        covered[y0:y1, x0:x1] = True
    assert not (ink & ~covered).any(), "ink outside every unit"
    assert covered.mean() < 0.25  # tight around the ink, no tiles of blank paper
    assert_no_blank_unit(page, found.units)


@pytest.mark.parametrize("shape", [(1000, 800), (40, 40), (2000, 30)])
def test_blank_tiny_or_thin_pages_have_no_unit_and_do_not_fail(shape):
    found = find_units(np.full((*shape, 3), 255, np.uint8))
    assert found.units == [] and "blank page" in found.note


def test_boxes_belong_to_the_unit_their_centre_is_in_and_the_view_holds_them_whole():
    found = find_units(tabi())
    first = found.units[1]  # system 1
    x0, y0, x1, y1 = first.xyxy
    boxes = np.array([[x0 + 10, y0 + 10, x0 + 20, y0 + 20], [x0 + 10, y1 - 30, x0 + 20, y1 + 10], [-50, -50, -40, -40]])
    assert unit_of(boxes, found.units).tolist() == [1, 1, -1]
    view = view_xyxy(first, boxes[:2], (1681, 1740))
    assert view[3] >= y1 + 10 and view[:3] == (x0, y0, x1)  # widened to the box that runs out of it, no more


def test_units_are_kept_per_scan_and_a_damaged_file_is_found_again(tmp_path):
    image = tabi()
    first = load_units(tmp_path, "scan1", image)
    path = units_path(tmp_path, "scan1")
    assert path.is_file()
    kept = json.loads(path.read_text())
    kept["units"][0]["name"] = "as first found"  # the kept units win over finding them again
    path.write_text(json.dumps(kept))
    again = load_units(tmp_path, "scan1", image)
    assert again.units[0].name == "as first found" and again.units[1:] == first.units[1:]
    path.write_text('{"format": 1, "units": [{"xyxy": [5, 5, 1]}]}')
    problems = ProblemLog()
    recovered = load_units(tmp_path, "scan1", image, problems)
    assert recovered.units == first.units
    assert problems.count("bad_units") == 1 and "units/scan1.json" in str(problems.problems[0])
