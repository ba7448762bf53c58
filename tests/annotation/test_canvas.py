"""Label text <-> canvas: a unit's boxes go out in its own pixels and come back where they were drawn; an
untouched box comes back as the very line it was; other units and unreadable lines are never touched."""

import numpy as np
import pytest

from omr_core.annotation.canvas import apply_edit, class_names, owned_lines, unit_drawing, unit_lines, without_unsure
from omr_core.annotation.units import WorkUnit
from omr_core.formats.yolo import format_labels, parse_labels
from omr_core.structures.detections import Detections

NAMES = class_names()
HEAD, STEM = NAMES.index("noteheadBlackOnLine"), NAMES.index("stem")
WH = (2000, 1200)
UNITS = [WorkUnit((0, 0, 2000, 600), "system", "system 1 (2 staves)", 2),
         WorkUnit((0, 600, 2000, 1200), "system", "system 2 (2 staves)", 2)]


def page_text(rng, n=40):
    xy = rng.uniform([20, 20], [1900, 1100], (n, 2))
    boxes = Detections(np.column_stack([xy, xy + rng.uniform(2, 40, (n, 2))]), rng.choice([HEAD, STEM], n))
    return format_labels(boxes, WH), boxes


@pytest.mark.parametrize("seed", range(3))
def test_untouched_boxes_come_back_as_their_own_lines(seed):
    text, boxes = page_text(np.random.default_rng(seed))
    for unit in (0, 1):
        drawing = unit_drawing(text, WH, NAMES, UNITS, unit)
        assert len(drawing["boxes"]) == len(unit_lines(text, WH, len(NAMES), UNITS, unit))
        edit = apply_edit(text, WH, NAMES, UNITS, unit, drawing["view_xyxy"], drawing["boxes"])
        assert not edit.changed and sorted(edit.text.splitlines()) == sorted(text.splitlines())
    # boxes in unit px: the view starts at the unit's region, or before it where a box runs out of it
    drawing = unit_drawing(text, WH, NAMES, UNITS, 1)
    x0, y0 = drawing["view_xyxy"][:2]
    page = np.array([b["xyxy"] for b in drawing["boxes"]]) + [x0, y0, x0, y0]
    mine = boxes.xyxy[(boxes.xyxy[:, 1] + boxes.xyxy[:, 3]) / 2 >= 600]
    assert np.allclose(np.sort(page, axis=0), np.sort(mine, axis=0), atol=0.01)


def test_an_edit_changes_its_unit_only_and_lands_where_it_was_drawn():
    text, _ = page_text(np.random.default_rng(5))
    text += "garbage line\n"  # reported when read; kept as it is
    drawing = unit_drawing(text, WH, NAMES, UNITS, 1)
    boxes = drawing["boxes"]
    moved = dict(boxes[0], xyxy=[v + 3 for v in boxes[0]["xyxy"]], touched=True)
    relabelled = dict(boxes[1], label="accidentalSharp", touched=True)
    new = {"id": None, "label": "stem", "xyxy": [100.0, 50.0, 103.0, 120.0], "unsure": False, "touched": True}
    reported = [moved, relabelled, new, *boxes[3:]]  # boxes[2] deleted
    edit = apply_edit(text, WH, NAMES, UNITS, 1, drawing["view_xyxy"], reported)
    assert edit.changed
    others = [line for n, line in enumerate(text.splitlines(), 1)
              if owned_lines(text, WH, len(NAMES), UNITS).get(n) != 1]
    assert set(others) <= set(edit.text.splitlines()) and "garbage line" in edit.text
    after, _ = parse_labels(edit.text, WH)
    in_unit = after[(after.xyxy[:, 1] + after.xyxy[:, 3]) / 2 >= 600]
    assert len(in_unit) == len(boxes)  # one deleted, one drawn
    x0, y0 = drawing["view_xyxy"][:2]
    assert any(np.allclose(b, [100 + x0, 50 + y0, 103 + x0, 120 + y0], atol=0.01) for b in in_unit.xyxy)
    assert NAMES.index("accidentalSharp") in in_unit.class_id.tolist()


def test_labels_that_are_no_class_are_named_and_left_out():
    text, _ = page_text(np.random.default_rng(1))
    drawing = unit_drawing(text, WH, NAMES, UNITS, 0)
    bad = {"id": None, "label": "notAClass", "xyxy": [1, 1, 9, 9], "touched": True}
    click = {"id": None, "label": "stem", "xyxy": [5, 5, 5.5, 5.2], "touched": True}  # a click, not a box
    edit = apply_edit(text, WH, NAMES, UNITS, 0, drawing["view_xyxy"], [*drawing["boxes"], bad, click])
    assert edit.unknown == ["notAClass"] and not edit.changed


def test_unsure_marks_follow_the_lines_and_remove_unsure_takes_only_the_units():
    text, _ = page_text(np.random.default_rng(2))
    first, second = unit_lines(text, WH, len(NAMES), UNITS, 0), unit_lines(text, WH, len(NAMES), UNITS, 1)
    unsure = {first[0], second[0]}
    drawing = unit_drawing(text, WH, NAMES, UNITS, 0, unsure)
    assert [b["unsure"] for b in drawing["boxes"]].count(True) == 1
    edit = apply_edit(text, WH, NAMES, UNITS, 0, drawing["view_xyxy"], drawing["boxes"])
    assert edit.unsure == [first[0]] and first[0] not in edit.sure
    cleaned, removed = without_unsure(text, WH, len(NAMES), UNITS, 0, unsure)
    assert removed == 1 and first[0] not in cleaned and second[0] in cleaned
    assert len(cleaned.splitlines()) == len(text.splitlines()) - 1
