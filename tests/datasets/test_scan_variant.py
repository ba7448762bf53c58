import json

import numpy as np
import pytest

from omr_core.datasets.convert import ConvertConfig, convert_deepscores
from omr_core.datasets.scan_variant import make_scan_variant
from omr_core.formats.deepscores import read_deepscores


def test_scan_variant_moves_boxes_and_converts_cleanly(drawn_source, tmp_path):
    out = make_scan_variant(drawn_source, tmp_path / "scan", preset="phone", seed=2)
    clean = {r.file_name: r for r in read_deepscores(drawn_source / "deepscores_train.json")}
    scanned = {r.file_name: r for r in read_deepscores(out / "deepscores_train.json")}
    assert scanned.keys() == clean.keys()
    for name, record in scanned.items():
        assert 0.9 * len(clean[name].detections) <= len(record.detections) <= len(clean[name].detections)
        assert not np.allclose(record.detections.xyxy[:5], clean[name].detections.xyxy[:5])  # the page moved
    info = json.loads((out / "deepscores_train.json").read_text())["info"]
    assert info["scan_variant"]["preset"] == "phone"
    result = convert_deepscores(ConvertConfig(source=str(out), output=str(tmp_path / "yolo"), sample_size=1))
    kinds = {p.kind for p in result.problems.problems}
    assert kinds <= {"outside_page"}, kinds  # corners moved to the very edge may be clipped, nothing else


def test_same_seed_same_pages(drawn_source, tmp_path):
    a = make_scan_variant(drawn_source, tmp_path / "a", seed=1)
    b = make_scan_variant(drawn_source, tmp_path / "b", seed=1)
    name = sorted((a / "images").iterdir())[0].name
    assert (a / "images" / name).read_bytes() == (b / "images" / name).read_bytes()


def test_refuses_to_overwrite_its_source(drawn_source):
    with pytest.raises(ValueError, match="its own folder"):
        make_scan_variant(drawn_source, drawn_source)


def test_a_variant_made_again_replaces_the_old_one_only_when_whole(drawn_source, tmp_path, monkeypatch):
    import hashlib

    from omr_core.datasets import scan_variant

    out = tmp_path / "scan"
    make_scan_variant(drawn_source, out, preset="light", seed=1)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
    calls = []
    real = scan_variant.cv2.imwrite

    def full_disk(path, pixels, *args):
        calls.append(path)
        return len(calls) < 3 and real(path, pixels, *args)

    monkeypatch.setattr(scan_variant.cv2, "imwrite", full_disk)
    with pytest.raises(OSError, match="could not write"):
        make_scan_variant(drawn_source, out, preset="phone", seed=2)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the old variant, whole: its pages still match its boxes
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a DeepScores-format folder"):
        make_scan_variant(drawn_source, tmp_path / "mine")
