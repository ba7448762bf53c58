"""Each suggestion rule fires on a constructed evaluation made to trip it, with its evidence and action."""

import numpy as np
import pytest

from omr_core.evaluation.matching import Flat
from omr_core.evaluation.run import summarise
from omr_core.evaluation.suggestions import MIN_EVIDENCE_BOXES, similar, suggest

NAMES = ["noteheadBlackOnLine", "noteheadHalfOnLine", "restHalf", "augmentationDot"]
BLACK, HALF, REST, DOT = range(4)


def grid(n, size, class_id, y0=0.0):
    xy = np.column_stack([np.arange(n) * 60.0, np.full(n, y0)])
    return np.column_stack([xy, xy + size]), np.full(n, class_id)


def build():
    """40 black heads (found), 40 half heads (30 called black), 30 half rests (6 found), 30 dots (all missed:
    and small), plus black heads found at the wrong place."""
    parts = [grid(40, 20, BLACK, 0), grid(40, 20, HALF, 100), grid(30, 24, REST, 200), grid(30, 6, DOT, 300)]
    gt = Flat(np.zeros(140, np.int64), np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    pred_xyxy = [parts[0][0], parts[1][0], parts[2][0][:6], parts[0][0][:20] + [0, 11, 0, 11]]
    pred_cls = [np.full(40, BLACK), np.r_[np.full(30, BLACK), np.full(10, HALF)], np.full(6, REST), np.full(20, BLACK)]
    pred_conf = [np.full(40, 0.9), np.full(40, 0.6), np.full(6, 0.1), np.full(20, 0.5)]
    pred = Flat(np.zeros(106, np.int64), np.concatenate(pred_xyxy), np.concatenate(pred_cls),
                np.concatenate(pred_conf))
    return summarise(gt, pred, NAMES, ["page.png"], conf=0.3)


def test_rules_fire_with_their_evidence():
    summary, boxes = build()
    found = {(s.rule, s.classes): s for s in suggest(summary, boxes, train_counts=TRAIN)}
    low = found[("low recall", ("restHalf",))]
    assert low.action == {"kind": "label_more", "class": "restHalf", "then": "oversample"}
    assert low.evidence["recall"] == 0.0 and "only 120" in low.message and low.cases["verdicts"] == ["FN"]
    pair = found[("confused pair", ("noteheadHalfOnLine", "noteheadBlackOnLine"))]
    assert pair.action["kind"] == "merge_pair" and pair.evidence == {"confused": 30, "gt": 40, "look_alike": True}
    assert pair.message.startswith("true noteheadHalfOnLine, predicted noteheadBlackOnLine: 30 of 40")
    assert found[("small misses", ("augmentationDot",))].evidence["missed_median_px"] == 6
    assert found[("badly placed", ("noteheadBlackOnLine",))].evidence["FP-localisation"] == 20
    threshold = found[("threshold", ("restHalf",))]
    assert threshold.action == {"kind": "class_threshold", "class": "restHalf", "conf": 0.1}


TRAIN = {"noteheadBlackOnLine": 4000, "noteheadHalfOnLine": 900, "restHalf": 120, "augmentationDot": 300}


@pytest.mark.parametrize("counts, kind", [
    ({**TRAIN, "restHalf": 4000}, "train_longer"),  # the most common class: repeats add nothing
    ({**TRAIN, "restHalf": 2500}, "train_longer"),  # common (over half the most common)
    ({**TRAIN, "restHalf": 1200}, "oversample"),  # rare enough to gain from repeats
    ({**TRAIN, "restHalf": 120}, "label_more"),  # rare and short of real examples
    (None, "train_longer"),  # no training counts: the evaluation's own boxes tell (30 rests, 40 at most: common)
])
def test_low_recall_never_oversamples_a_common_class(counts, kind):
    summary, boxes = build()
    low = next(s for s in suggest(summary, boxes, train_counts=counts) if s.rule == "low recall"
               and s.classes == ("restHalf",))
    assert low.action["kind"] == kind
    if kind == "train_longer":
        assert "oversampling it would only repeat it" in low.message


def test_a_confused_pair_oversamples_only_the_rare_side():
    summary, boxes = build()
    counts = {**TRAIN, "noteheadHalfOnLine": 3000}  # both sides common: no oversampling
    pair = next(s for s in suggest(summary, boxes, train_counts=counts) if s.rule == "confused pair")
    assert "oversample neither" in pair.message
    summary["confusion"][1][2] = 12  # 12 half heads read as half rests: not a look-alike pair
    both_rare = next(s for s in suggest(summary, boxes, train_counts=TRAIN) if s.classes == ("noteheadHalfOnLine", "restHalf"))
    assert both_rare.action == {"kind": "oversample", "classes": ["noteheadHalfOnLine", "restHalf"]}
    pair = next(s for s in suggest(summary, boxes, train_counts=counts) if s.classes == ("noteheadHalfOnLine", "restHalf"))
    assert pair.action == {"kind": "oversample", "classes": ["restHalf"]}  # 3,000 half heads: common, not repeated


def test_every_suggestion_sizes_its_evidence_and_marks_weak_ones():
    summary, boxes = build()
    found = {(s.rule, s.classes): s for s in suggest(summary, boxes, train_counts=TRAIN)}
    threshold = found[("threshold", ("restHalf",))]  # rests on the 30 half rests of one page
    assert (threshold.evidence_boxes, threshold.evidence_images) == (30, 1) and not threshold.weak
    assert threshold.evidence_text() == "rests on 30 boxes on 1 image"
    pair = found[("confused pair", ("noteheadHalfOnLine", "noteheadBlackOnLine"))]
    assert pair.evidence_boxes == 30 and not pair.weak
    few = suggest(summary, boxes, train_counts=TRAIN, min_gt=1)
    summary["per_class"] = [dict(r, gt=12) if r["class"] == "restHalf" else r for r in summary["per_class"]]
    weak = next(s for s in suggest(summary, boxes, train_counts=TRAIN) if s.rule == "threshold"
                and s.classes == ("restHalf",))
    assert weak.weak and f"under {MIN_EVIDENCE_BOXES} boxes" in weak.evidence_text() and weak.to_dict()["weak"]
    assert few  # min_gt still gates which classes are looked at


def test_nothing_fires_on_a_perfect_evaluation():
    xyxy, cls = grid(40, 20, BLACK)
    gt = Flat(np.zeros(40, np.int64), xyxy, cls)
    pred = Flat(np.zeros(40, np.int64), xyxy, cls, np.full(40, 0.9))
    summary, boxes = summarise(gt, pred, NAMES, ["page.png"])
    assert summary["mAP50"] == 1.0 and suggest(summary, boxes) == []


def test_look_alike_pairs_are_symmetric():
    assert similar("accidentalNatural", "accidentalSharp") and not similar("clefG", "stem")
