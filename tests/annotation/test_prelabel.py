"""Pre-labelling: the bundled model on the real phone photo lands wholly in its work units, and units the user
worked on keep their boxes."""

import numpy as np

from omr_core.annotation.canvas import class_names
from omr_core.annotation.prelabel import KEEP_FROM, fill_units
from omr_core.annotation.queue import load_predictions
from omr_core.annotation.store import read_labels, read_status
from omr_core.annotation.units import WorkUnit, load_units
from omr_core.formats.yolo import format_labels, parse_labels
from omr_core.structures.detections import Detections

NAMES = class_names()


def test_every_notehead_the_bundled_model_finds_on_the_photo_lies_in_a_unit(prelabelled_photo):
    ws, scan_id, said = prelabelled_photo
    page = load_units(ws.real_scans, scan_id)
    assert "8 staves in 4 systems" in page.note
    predicted = load_predictions(ws.real_scans, scan_id)
    xyxy = np.asarray(predicted["xyxy"], dtype=np.float64).reshape(-1, 4)
    heads = xyxy[[c.startswith("notehead") for c in predicted["class"]]]
    assert len(heads) > 300, f"the model found {len(heads)} noteheads on a page of ~340"  # the test means something
    regions = np.array([u.xyxy for u in page.units], dtype=np.float64)
    wholly = ((regions[None, :, :2] <= heads[:, None, :2]) & (heads[:, None, 2:] <= regions[None, :, 2:])).all(axis=2)
    assert wholly.any(axis=1).all(), f"noteheads in no unit: {heads[~wholly.any(axis=1)].round().tolist()}"
    # and every box kept lies on the labels, where the units show them
    labels, problems = parse_labels(read_labels(ws.real_scans, scan_id), (1681, 1740))
    kept = int((np.asarray(predicted["confidence"]) >= KEEP_FROM).sum())
    assert not problems and len(labels) == kept
    assert "outside every unit" not in said and f"{kept} boxes in {len(page.units)} units" in said
    assert read_status(ws.real_scans, scan_id)["prelabelled"]["boxes"] == kept


def test_untouched_units_take_the_model_boxes_and_worked_units_keep_the_users():
    units = [WorkUnit((0, 0, 100, 100), "system", "system 1 (1 staff)", 1),
             WorkUnit((0, 100, 100, 200), "system", "system 2 (1 staff)", 1)]
    wh = (100, 200)
    stem, head = NAMES.index("stem"), NAMES.index("noteheadBlackOnLine")
    earlier = format_labels(Detections(np.array([[10, 10, 20, 20], [10, 110, 20, 120]], float), [head, head]), wh)
    model = Detections(np.array([[30, 30, 40, 40], [10.5, 110, 20.5, 120], [50, 150, 53, 190], [60, 60, 70, 70]],
                                float), [head, head, stem, head], np.array([0.9, 0.9, 0.3, 0.1]))
    text, unsure, report = fill_units(earlier, wh, len(NAMES), units, ["seen", "edited"], model)
    boxes, _ = parse_labels(text, wh)
    # unit 1 (only seen): the earlier box goes, the model's sure box comes; the one under KEEP_FROM does not
    # unit 2 (edited): the user's box stays, the model's copy of it is not added, its new stem is, to check
    assert sorted(map(tuple, boxes.xyxy.round().astype(int).tolist())) == [(10, 110, 20, 120), (30, 30, 40, 40),
                                                                          (50, 150, 53, 190)]
    assert report == {"placed": 1, "added_to_edited": 1, "outside_units": 0, "replaced": 1}
    assert len(unsure) == 1 and int(unsure[0].split()[0]) == stem
