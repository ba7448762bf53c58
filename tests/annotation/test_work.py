"""The Annotation page's decisions: label boxes from a model, work units least sure first, the class picker,
the status a save gives, boxes per class."""

import json

import numpy as np
import pandas as pd
import pytest

from omr_core.annotation.queue import save_predictions
from omr_core.annotation.store import save_labels, write_atomic
from omr_core.annotation.work import (
    WorkUnit,
    boxes_per_class,
    class_choices,
    detected_as_labels,
    labelled_classes,
    predicted_labels,
    remember,
    saving_status,
    work_units,
)
from omr_core.structures.detections import Detections

NAMES = ["noteheadBlackOnLine", "stem", "clefG"]


def test_a_detectors_boxes_become_label_ids_and_unknown_classes_are_left_out():
    xyxy = np.array([[0, 0, 10, 10], [5, 5, 9, 9], [1, 2, 3, 4]], float)
    found = Detections(xyxy, np.array([7, 3, 0]), np.array([0.9, 0.4, 0.6]),
                       data={"class_name": np.array(["clefG", "dynamicMF", "noteheadBlackOnLine"])})
    labels = detected_as_labels(found, NAMES)
    assert labels.class_id.tolist() == [2, 0]
    np.testing.assert_array_equal(labels.xyxy, xyxy[[0, 2]])
    assert labels.confidence.tolist() == [0.9, 0.6]


def test_saved_predictions_read_back_as_the_label_boxes_they_were(tmp_path):
    boxes = Detections(np.array([[10, 10, 20, 20], [30, 30, 40, 45]], float), np.array([1, 2]), np.array([0.3, 0.8]))
    save_predictions(tmp_path, "p", "m", boxes, NAMES)
    document = json.loads((tmp_path / "predictions" / "p.json").read_text())
    document["class"].append("dynamicMF")  # a class the label list does not have
    document["xyxy"].append([0, 0, 1, 1])
    document["confidence"].append(0.5)
    back = predicted_labels(document, NAMES)
    assert back.class_id.tolist() == [1, 2] and back.confidence.tolist() == [0.3, 0.8]
    np.testing.assert_allclose(back.xyxy, boxes.xyxy)
    empty = predicted_labels({"class": [], "xyxy": [], "confidence": []}, NAMES)
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4)


def test_only_boxes_of_a_label_class_are_kept():
    boxes = Detections(np.zeros((4, 4)) + [0, 0, 1, 1], np.array([-1, 0, 2, 3]))
    assert labelled_classes(boxes, len(NAMES)).class_id.tolist() == [0, 2]


@pytest.mark.parametrize(("status", "after"), [("todo", "in progress"), ("in progress", "in progress"),
                                               ("done", "done"), ("skipped", "skipped")])
def test_saving_a_work_unit_starts_a_todo_scan_and_keeps_any_other_status(status, after):
    assert saving_status(status) == after


def test_work_units_come_unedited_first_then_least_sure_then_in_page_order():
    systems = [(0, 0, 100, 50), (0, 50, 100, 100), (0, 100, 100, 150), (0, 150, 100, 200)]
    predictions = {"xyxy": [[10, 10, 20, 20], [10, 60, 20, 70], [10, 110, 20, 120], [10, 160, 20, 170]],
                   "class": ["stem"] * 4, "confidence": [0.99, 0.5, 0.7, 0.5]}
    units = work_units(systems, predictions, edited=[[0, 50, 100, 100]])
    assert [u.index for u in units] == [3, 2, 0, 1]  # the edited unsure one last; equal uncertainty: page order
    assert units[-1].edited and units[-1].label == "system 2 · uncertainty 1.00 · edited"
    assert units[0].crop_xyxy == (0, 150, 100, 200)
    plain = work_units(systems[:2], None, [])
    assert [u.index for u in plain] == [0, 1] and plain[0] == WorkUnit(0, (0, 0, 100, 50), None, False)
    assert plain[0].label == "system 1"


def test_the_picker_offers_the_stage_then_recent_then_the_rest_once_each_and_search_narrows():
    assert class_choices(["stem"], ["clefG", "stem"], NAMES) == ["stem", "clefG", "noteheadBlackOnLine"]
    assert class_choices(["stem"], [], NAMES, "NOTE") == ["noteheadBlackOnLine"]
    assert class_choices(["stem"], [], NAMES, "nothing like it") == ["stem", "noteheadBlackOnLine", "clefG"]


def test_a_used_class_goes_first_in_the_recent_ones_and_the_oldest_drop_off():
    recent = ["a", "b", "c"]
    remember(recent, "b")
    assert recent == ["b", "a", "c"]
    remember(recent, "d", keep=3)
    assert recent == ["d", "b", "a"]


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
