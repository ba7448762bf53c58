"""Exporting labelled scans: a YOLO set in the class set's ids, split by scan, optionally tiled."""

import numpy as np
import pytest
import yaml

from omr_core.annotation.canvas import class_names
from omr_core.annotation.export import export_dataset
from omr_core.annotation.scans import import_scans
from omr_core.annotation.store import save_labels
from omr_core.datasets.tiling import tile_grid
from omr_core.formats.yolo import format_labels, parse_labels
from omr_core.structures.detections import Detections
from tests.conftest import DATA

NAMES = class_names()


@pytest.fixture
def labelled(tmp_path, engraved):
    root = tmp_path / "real"
    pages = sorted((engraved / "images").glob("*.png")) + [DATA / "real_scans" / "tabi.jpg"]
    ids = import_scans(root, pages).added
    boxes = Detections(np.array([[100, 100, 126, 120], [124, 40, 126, 110], [300, 300, 340, 380]], float),
                       [NAMES.index("noteheadBlackOnLine"), NAMES.index("stem"), NAMES.index("clefF")])
    for scan_id in ids[:2]:
        save_labels(root, scan_id, format_labels(boxes, (1960, 2772)), "done")
    save_labels(root, ids[2], format_labels(boxes, (1681, 1740)), "in progress")  # not done: stays out
    return root, ids


def test_export_maps_classes_by_name_and_splits_by_scan(labelled, tmp_path):
    root, ids = labelled
    summary = export_dataset(root, tmp_path / "real-3.1", ["noteheadBlackOnLine", "stem"], val_fraction=0.5)
    assert summary["scans"] == 2 and summary["images"] == {"train": 1, "val": 1} and summary["left_out"] == {"clefF": 2}
    spec = yaml.safe_load((tmp_path / "real-3.1" / "data.yaml").read_text())
    assert spec["names"] == {0: "noteheadBlackOnLine", 1: "stem"} and spec["val"] == "images/val"
    label = next((tmp_path / "real-3.1" / "labels" / "train").glob("*.txt"))
    boxes, problems = parse_labels(label.read_text(), (1960, 2772))
    assert not problems and boxes.class_id.tolist() == [0, 1]
    assert np.allclose(boxes.xyxy, [[100, 100, 126, 120], [124, 40, 126, 110]], atol=0.01)
    with pytest.raises(FileExistsError):
        export_dataset(root, tmp_path / "real-3.1", ["stem"])


def test_tiled_export_cuts_pages_like_the_converter(labelled, tmp_path):
    root, _ = labelled
    summary = export_dataset(root, tmp_path / "tiled", ["noteheadBlackOnLine", "stem"], tile_px=640, overlap_px=160)
    per_page = len(tile_grid((1960, 2772), 640, 160))  # 4 x 6 tiles
    assert summary["images"]["train"] + summary["images"]["val"] == 2 * per_page
    assert summary["boxes"] >= 4  # each box lies whole in at least one tile


def test_nothing_done_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no scan is marked done"):
        export_dataset(tmp_path / "empty", tmp_path / "out", ["stem"])
