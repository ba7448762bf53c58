"""A canvas's answers, one after another on one drawing, as the browser sends them: the box ids stay those of
the drawing it was first given, while every save rewrites the label file (the unit's lines go to its end). After
each answer the saved unit is exactly what the canvas shows, and the other unit is untouched."""

import numpy as np
import pytest

from omr_core.annotation.canvas import class_names, unit_drawing
from omr_core.annotation.editing import CanvasSession, save_answer
from omr_core.annotation.store import read_version, save_labels
from omr_core.annotation.units import WorkUnit
from omr_core.formats.yolo import format_labels, parse_labels
from omr_core.structures.detections import Detections

NAMES = class_names()
HEAD, SPACE, STEM = (NAMES.index(n) for n in ("noteheadBlackOnLine", "noteheadBlackInSpace", "stem"))
WH = (2000, 1200)
UNITS = [WorkUnit((0, 0, 2000, 600), "system", "system 1 (2 staves)", 2),
         WorkUnit((0, 600, 2000, 1200), "system", "system 2 (2 staves)", 2)]


def saved(root, unit, view=None):
    """The unit's boxes on disk as (class, page box to 0.1 px), sorted; and the other unit's lines."""
    _, text = read_version(root, "scan")
    boxes, _ = parse_labels(text, WH)
    centre_y = (boxes.xyxy[:, 1] + boxes.xyxy[:, 3]) / 2
    mine = (centre_y >= 600) == bool(unit)
    return (sorted((NAMES[c], *np.round(b, 1)) for c, b in zip(boxes.class_id[mine], boxes.xyxy[mine])),
            sorted(line for line, m in zip(text.splitlines(), mine) if not m))


def shown(boxes, view):
    x, y = view[:2]
    return sorted((b["label"], *np.round(np.array(b["xyxy"]) + [x, y, x, y], 1)) for b in boxes)


@pytest.mark.parametrize("seed", range(4))
def test_answers_on_one_drawing_save_what_the_canvas_shows(tmp_path, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform([20, 20], [1900, 1100], (40, 2)).round()
    save_labels(tmp_path, "scan", format_labels(Detections(np.column_stack([xy, xy + 12]), rng.choice([HEAD, STEM], 40)),
                                                WH), None)
    unit = int(seed % 2)
    session = CanvasSession("annot-canvas-scan-0")
    version, text = read_version(tmp_path, "scan")
    drawing = unit_drawing(text, WH, NAMES, UNITS, unit)
    drawing_id = session.give(drawing, version, text)
    view = drawing["view_xyxy"]
    canvas = [dict(b, touched=False) for b in drawing["boxes"]]  # what the browser holds, ids and all
    _, others = saved(tmp_path, unit)
    for seq in range(1, 13):
        k = int(rng.integers(len(canvas)))
        step = ("relabel", "delete", "draw", "move")[seq % 4]
        if step == "relabel":
            canvas[k] = dict(canvas[k], label=NAMES[SPACE if canvas[k]["label"] != NAMES[SPACE] else HEAD],
                             touched=True, unsure=False)
        elif step == "delete":
            canvas.pop(k)
        elif step == "draw":
            x, y = rng.uniform(50, 500, 2).round()
            canvas.append({"id": None, "label": "accidentalSharp", "xyxy": [x, y, x + 9, y + 20], "unsure": False,
                           "touched": True})
        else:
            canvas[k] = dict(canvas[k], xyxy=[v + 3 for v in canvas[k]["xyxy"]], touched=True)
        answer = {"drawing": drawing_id, "seq": seq, "boxes": [dict(b) for b in canvas], "action": None}
        assert session.new_answer(answer) is answer
        result = save_answer(tmp_path, "scan", session, answer, NAMES, UNITS, unit, WH, "seen")
        assert result.conflict is None
        mine, others_now = saved(tmp_path, unit)
        assert mine == shown(canvas, view), f"after {step} (answer {seq})"
        assert others_now == others
        # the page's rerun: the canvas keeps its drawing (and its ids), the session the saved version
        version, text = read_version(tmp_path, "scan")
        assert session.give(unit_drawing(text, WH, NAMES, UNITS, unit), version, text) == drawing_id
