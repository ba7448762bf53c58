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


def test_a_failed_export_leaves_the_previous_one_whole(labelled, tmp_path, monkeypatch):
    import hashlib

    import cv2

    root, ids = labelled
    out = tmp_path / "real-scans-3.4"
    export_dataset(root, out, ["noteheadBlackOnLine", "stem"])
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
    calls = []

    def full_disk(path, pixels, *args):
        calls.append(path)
        return len(calls) < 2 and cv2.imwrite(path, pixels, *args)  # the second image does not fit

    monkeypatch.setattr("omr_core.annotation.export.cv2.imwrite", full_disk)
    with pytest.raises(OSError, match="could not write"):
        export_dataset(root, out, ["stem"], overwrite=True)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
    assert after == before  # nothing of the previous export was removed


def test_nothing_to_export_touches_nothing(tmp_path, labelled):
    root, _ = labelled
    out = tmp_path / "kept"
    export_dataset(root, out, ["stem"])
    for scan_status in (root / "status").glob("*.json"):
        scan_status.write_text(scan_status.read_text().replace('"done"', '"todo"'))
    with pytest.raises(ValueError, match="no scan is marked done"):
        export_dataset(root, out, ["stem"], overwrite=True)
    assert (out / "data.yaml").is_file()  # the refusal came before anything was removed


def test_bad_status_label_and_scan_list_files_are_reported_and_the_rest_exported(labelled, tmp_path):
    root, ids = labelled
    (root / "status" / f"{ids[0]}.json").write_bytes(b'{"status": "done", \xff')  # unreadable: counts as todo
    labels = root / "labels" / f"{ids[1]}.txt"
    labels.write_bytes(labels.read_bytes() + b"0 0.5 0.5 0.1\n9999 0.5 0.5 0.1 0.1\n\xff\xfe\n")
    summary = export_dataset(root, tmp_path / "out", ["noteheadBlackOnLine", "stem"])
    assert summary["scans"] == 1 and summary["boxes"] == 2
    text = "\n".join(summary["problems"])
    assert f"status/{ids[0]}.json" in text and f"labels/{ids[1]}.txt: line 4" in text
    assert "line 5" in text and "line 6" in text  # an unknown class index, bytes that are not UTF-8

    scans = root / "scans.json"
    scans.write_bytes(scans.read_bytes()[:-20])  # a damaged scan list: rebuilt from the images
    summary = export_dataset(root, tmp_path / "again", ["noteheadBlackOnLine", "stem"])
    assert summary["scans"] == 1 and any("rebuilt from images" in p for p in summary["problems"])
