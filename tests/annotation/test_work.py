"""The Annotation page's decisions: label boxes from a model, work units least sure first, the class picker,
the status a save gives, boxes per class."""

import json

import numpy as np
import pandas as pd

from omr_core.annotation.store import save_labels, write_atomic
from omr_core.annotation.work import boxes_per_class, class_choices

NAMES = ["noteheadBlackOnLine", "stem", "clefG"]


def test_the_picker_offers_the_stage_then_recent_then_the_rest_once_each_and_search_narrows():
    assert class_choices(["stem"], ["clefG", "stem"], NAMES) == ["stem", "clefG", "noteheadBlackOnLine"]
    assert class_choices(["stem"], [], NAMES, "NOTE") == ["noteheadBlackOnLine"]
    assert class_choices(["stem"], [], NAMES, "nothing like it") == ["stem", "noteheadBlackOnLine", "clefG"]
    assert class_choices(["stem", "tupletBracket"], ["slur"], NAMES) == ["stem", "noteheadBlackOnLine", "clefG"]


def test_boxes_per_class_count_done_scans_beside_a_training_set(tmp_path):
    import cv2

    root = tmp_path / "real"
    (root / "images").mkdir(parents=True)
    rows = []
    for scan, status in (("a", "done"), ("b", "in progress")):
        cv2.imwrite(str(root / "images" / f"{scan}.png"), np.full((100, 100), 255, np.uint8))
        save_labels(root, scan, "0 0.1 0.1 0.1 0.1\n0 0.5 0.5 0.1 0.1\n2 0.3 0.3 0.1 0.1\n", status)
        rows.append({"id": scan, "status": status, "width": 100, "height": 100})
    write_atomic(root / "scans.json", json.dumps([{"id": r["id"], "source": f"{r['id']}.png", "page": 1, "width": 100,
                                                   "height": 100} for r in rows]).encode())
    alone = boxes_per_class(root, rows, NAMES)
    assert alone["real scans"].to_dict() == {"noteheadBlackOnLine": 2, "clefG": 1}  # the scan in progress is not counted
    dataset = tmp_path / "set"
    dataset.mkdir()
    pd.DataFrame({"class_name": pd.Categorical(["stem", "stem", "clefG"], categories=NAMES)}).to_parquet(
        dataset / "index.parquet")
    both = boxes_per_class(root, rows, NAMES, dataset)
    assert both.to_dict("index") == {"noteheadBlackOnLine": {"real scans": 2, "training set": 0},
                                     "clefG": {"real scans": 1, "training set": 1},
                                     "stem": {"real scans": 0, "training set": 2}}
    assert list(both.index)[:2] == ["noteheadBlackOnLine", "clefG"]  # most labelled first
    assert boxes_per_class(root, rows, NAMES, tmp_path / "no index").equals(alone)
