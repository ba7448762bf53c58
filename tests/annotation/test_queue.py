"""The labelling queue: in progress, then the most uncertain, then the rest; done and skipped last."""

import json

import numpy as np
import pytest

from omr_core.annotation.queue import queue, save_predictions, uncertainty, unit_uncertainty
from omr_core.annotation.units import WorkUnit
from omr_core.annotation.store import save_labels, write_atomic
from omr_core.structures.detections import Detections


def test_uncertainty_peaks_at_a_coin_toss():
    assert uncertainty([0.5, 0.5]) == 1.0 and uncertainty([]) == 1.0 and uncertainty([0.01]) == 1.0
    assert uncertainty([1.0, 0.95]) == pytest.approx(0.05)
    assert uncertainty([0.3]) > uncertainty([0.9])


def make_set(root, ids):
    import cv2

    (root / "images").mkdir(parents=True, exist_ok=True)
    for i in ids:
        cv2.imwrite(str(root / "images" / f"{i}.png"), np.full((100, 100), 255, np.uint8))
    write_atomic(root / "scans.json", json.dumps([{"id": i, "source": f"{i}.png", "page": 1, "width": 100,
                                                   "height": 100} for i in ids]).encode())


def predictions(confidences, y=10.0):
    n = len(confidences)
    return Detections(np.tile([10, y, 20, y + 10], (n, 1)).astype(float), np.zeros(n, int), np.array(confidences))


def test_queue_order(tmp_path):
    make_set(tmp_path, ["sure", "unsure", "fresh", "busy", "finished", "skipped"])
    for scan, conf in (("sure", [0.97, 0.99]), ("unsure", [0.45, 0.6]), ("busy", [0.99]), ("finished", [0.5]),
                       ("skipped", [0.5])):
        save_predictions(tmp_path, scan, "m", predictions(conf), ["noteheadBlackOnLine"])
    save_labels(tmp_path, "busy", "0 0.1 0.1 0.1 0.1\n", "in progress")
    save_labels(tmp_path, "finished", "", "done")
    save_labels(tmp_path, "skipped", "", "skipped")
    order = queue(tmp_path)
    assert [r["id"] for r in order] == ["busy", "unsure", "sure", "fresh", "finished", "skipped"]
    assert order[1]["uncertainty"] > order[2]["uncertainty"] and order[3]["uncertainty"] is None


def test_units_are_scored_on_their_own_boxes(tmp_path):
    both = Detections.merge([predictions([0.99, 0.98], y=10), predictions([0.5, 0.55], y=60)])
    save_predictions(tmp_path, "p", "m", both, ["noteheadBlackOnLine"])
    document = json.loads((tmp_path / "predictions" / "p.json").read_text())
    units = [WorkUnit((0, 0, 100, 50), "system", "system 1"), WorkUnit((0, 50, 100, 100), "system", "system 2")]
    assert unit_uncertainty(document, units, 1) > unit_uncertainty(document, units, 0)


def test_scans_holding_a_wanted_class_come_first(tmp_path):
    from omr_core.annotation.queue import add_wanted

    make_set(tmp_path, ["plain", "rest"])
    save_predictions(tmp_path, "plain", "m", predictions([0.5]), ["noteheadBlackOnLine"])
    save_predictions(tmp_path, "rest", "m", predictions([0.99]), ["restHalf"])
    assert [r["id"] for r in queue(tmp_path)] == ["plain", "rest"]
    add_wanted(tmp_path, ["restHalf"])
    assert [r["id"] for r in queue(tmp_path)] == ["rest", "plain"] and queue(tmp_path)[0]["wanted"]
