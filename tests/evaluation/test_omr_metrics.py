"""OMR metrics on constructed pages: which notes are complete, which chords stay aligned."""

import pytest
import numpy as np

from omr_core.evaluation.matching import Flat
from omr_core.evaluation.omr_metrics import columns, note_completeness, vertical_alignment
from omr_core.evaluation.verdicts import judge

NAMES = ["noteheadBlackOnLine", "noteheadHalfInSpace", "noteheadWholeOnLine", "stem"]
BLACK, HALF, WHOLE, STEM = range(4)
SS = 20  # staff space in px: a notehead is 20 px high


def page(rows):
    rows = np.array(rows, dtype=float)
    return Flat(np.zeros(len(rows), np.int64), rows[:, :4], rows[:, 4].astype(np.int64))


def preds(gt: Flat, keep: list[int], shift_x: dict | None = None) -> Flat:
    xyxy = gt.xyxy[keep].copy()
    for i, dx in (shift_x or {}).items():
        xyxy[keep.index(i)] += [dx, 0, dx, 0]
    return Flat(np.zeros(len(keep), np.int64), xyxy, gt.class_id[keep], np.full(len(keep), 0.9))


# Three stemmed notes (black, black, half), one whole note (no stem), one stray black head with no stem.
NOTES = page([
    [100, 100, 126, 120, BLACK], [124, 40, 126, 110, STEM],
    [200, 100, 226, 120, BLACK], [224, 40, 226, 110, STEM],
    [300, 100, 326, 120, HALF], [324, 40, 326, 110, STEM],
    [400, 100, 430, 120, WHOLE],
    [500, 100, 526, 120, BLACK],
])


def test_a_note_is_complete_only_with_its_stem():
    names = np.array(NAMES)[NOTES.class_id]
    found = preds(NOTES, [0, 1, 2, 4, 6, 7])  # note 1 whole; note 2 lost its stem; note 3 lost its head
    result = note_completeness(NOTES, names, judge(NOTES, found))
    assert result["with_stem"] == 3 and result["without_stem"] == 1 and result["noteheads"] == 4
    assert result["complete"] == 1 and result["share"] == 1 / 3


# A three-note chord, a two-staff column 6 staff spaces below it, a lone note, and a far-away head in the
# same x column but 20 staff spaces down (another system: not the same onset).
CHORD = page([
    [100, 100, 126, 120, BLACK], [100, 120, 126, 140, BLACK], [100, 140, 126, 160, HALF],
    [300, 100, 326, 120, BLACK], [302, 220, 328, 240, BLACK],
    [500, 100, 526, 120, BLACK],
    [100, 560, 126, 580, BLACK],
])


def test_columns_chain_chords_and_staves_but_not_systems():
    label = columns(CHORD.xyxy, SS, tolerance=0.5, max_gap=8.0)
    assert label[0] == label[1] == label[2] >= 0 and label[3] == label[4] >= 0 and label[0] != label[3]
    assert label[5] == -1 and label[6] == -1


def test_alignment_needs_every_head_found_and_kept_in_line():
    names = np.array(NAMES)[CHORD.class_id]
    perfect = vertical_alignment(CHORD, names, p := preds(CHORD, list(range(7))), judge(CHORD, p))
    assert perfect["aligned_noteheads"] == 5 and perfect["share"] == 1.0
    # the chord loses a head; the two-staff column drifts apart by 12 px (0.6 staff spaces) but still matches
    drifted = preds(CHORD, [0, 1, 3, 4, 5, 6], shift_x={4: 12})
    result = vertical_alignment(CHORD, names, drifted, judge(CHORD, drifted, iou=0.3))
    assert result["kept_aligned"] == 0 and result["share"] == 0.0
    nudged = preds(CHORD, list(range(7)), shift_x={4: 4})  # 0.2 staff spaces: still one column
    assert vertical_alignment(CHORD, names, nudged, judge(CHORD, nudged))["share"] == 1.0


@pytest.mark.parametrize("notes, classes, says", [
    ({"share": 0.0, "with_stem": 10, "complete": 0, "stem_missed": 10, "head_missed": 0, "without_stem": 2},
     ["noteheadBlackOnLine"], ["no stem class", "10 were found without their stem", "2 noteheads carry no stem"]),
    ({"share": 0.8, "with_stem": 10, "complete": 8, "stem_missed": 1, "head_missed": 1, "without_stem": 0},
     ["noteheadBlackOnLine", "stem"], ["2 of 10 stemmed noteheads are incomplete", "1 were not found themselves"]),
    ({"share": 1.0, "with_stem": 4, "complete": 4, "stem_missed": 0, "head_missed": 0, "without_stem": 0},
     ["stem"], ["All 4 stemmed noteheads were found with their stem"]),
    ({"share": None, "with_stem": 0, "complete": 0}, ["stem"], ["nothing to measure"]),
])
def test_the_completeness_explanation(notes, classes, says):
    from omr_core.evaluation.omr_metrics import explain_completeness

    text = explain_completeness(notes, classes)
    assert all(part in text for part in says), text
    assert ("no stem class" in text) == ("stem" not in classes and notes["share"] is not None)
