"""ONNX export with its parity check, and INT8 kept only within the allowed mAP drop (measured)."""

from pathlib import Path

import numpy as np
import pytest

from omr_core.datasets.convert import ConvertConfig, convert_deepscores
from omr_core.inference.detector import SymbolDetector
from omr_core.inference.export import compare, export_onnx, quantize_int8
from omr_core.structures.detections import Detections

from .conftest import card_of


def dets(rows):
    rows = np.array(rows, dtype=float).reshape(-1, 6)
    return Detections(rows[:, :4], rows[:, 4].astype(int), rows[:, 5])


def test_compare_matches_boxes_by_class_and_iou():
    a = dets([[0, 0, 10, 10, 0, 0.9], [20, 20, 30, 30, 1, 0.8]])
    assert compare(a, a, conf=0.25) == (0, 1.0, 0.0)
    moved = dets([[0, 0, 10, 10.2, 0, 0.89], [20, 20, 30, 30, 1, 0.8]])
    unmatched, iou, gap = compare(a, moved, conf=0.25)
    assert unmatched == 0 and 0.97 < iou < 1 and gap == pytest.approx(0.01)
    assert compare(a, dets([[0, 0, 10, 10, 1, 0.9], [20, 20, 30, 30, 1, 0.8]]), conf=0.25)[0] == 2  # class differs
    near = dets([[0, 0, 10, 10, 0, 0.9], [20, 20, 30, 30, 1, 0.26]])  # just above the threshold: may fall below
    assert compare(near, dets([[0, 0, 10, 10, 0, 0.9]]), conf=0.25)[0] == 0


def test_export_gives_the_same_detections_as_the_pt(workspace, model_dir, page_path):
    entry = export_onnx(model_dir, [page_path])
    assert entry["parity"]["passed"] and entry["parity"]["boxes_pt"] > 50
    assert card_of(model_dir)["onnx"] == entry and (model_dir / "best.onnx").is_file()
    onnx = SymbolDetector.load(model_dir.name, workspace)  # auto: the export is preferred
    assert onnx.model_path.suffix == ".onnx" and onnx.tile_px == card_of(model_dir)["tile_px"]
    torch_found = SymbolDetector.load(model_dir.name, workspace, backend="torch").detect(page_path)
    assert compare(torch_found, onnx.detect(page_path), conf=onnx.conf)[0] == 0


@pytest.mark.parametrize("max_drop, kept", [(1.0, True), (-1.0, False)])
def test_int8_is_offered_only_within_the_allowed_drop(workspace, model_dir, engraved, page_path, max_drop, kept):
    card = card_of(model_dir)
    dataset = workspace.dataset("int8-check")
    if not (dataset / "data.yaml").is_file():
        convert_deepscores(ConvertConfig(source=str(engraved), output=str(dataset), class_set=card["class_set"],
                                         tile_px=card["tile_px"], overlap_px=card["overlap_px"], val_fraction=0.5,
                                         sample_size=0))
    if not (model_dir / "best.onnx").is_file():
        export_onnx(model_dir, [page_path])
    entry = quantize_int8(model_dir, dataset / "data.yaml", split="train", calibration_images=4, max_drop=max_drop,
                          require_faster=False)
    assert entry["offered"] is kept and (model_dir / "best.int8.onnx").is_file() is kept
    assert entry["why"].startswith("kept" if kept else "not kept: it loses")
    assert entry["drop"] == pytest.approx(entry["mAP50-95_fp32"] - entry["mAP50-95_int8"], abs=1e-3)
    assert entry["mAP50-95_fp32"] > 0.1 and card_of(model_dir)["int8"] == entry
    if kept:
        int8 = SymbolDetector.load(model_dir.name, workspace, backend="int8")
        assert len(int8.detect(page_path)) > 0
    else:
        with pytest.raises(FileNotFoundError, match="INT8 is kept only"):
            SymbolDetector.load(model_dir.name, workspace, backend="int8")


def test_int8_that_is_not_faster_here_is_not_kept(workspace, model_dir, engraved, page_path, monkeypatch):
    """On this machine INT8 has been slower than FP32: then it is not offered, whatever its mAP."""
    import omr_core.inference.export as export

    dataset = workspace.dataset("int8-check")
    if not (dataset / "data.yaml").is_file():
        card = card_of(model_dir)
        convert_deepscores(ConvertConfig(source=str(engraved), output=str(dataset), class_set=card["class_set"],
                                         tile_px=card["tile_px"], overlap_px=card["overlap_px"], val_fraction=0.5,
                                         sample_size=0))
    if not (model_dir / "best.onnx").is_file():
        export_onnx(model_dir, [page_path])
    monkeypatch.setattr(export, "batch_ms", lambda path, batch, repeats=3: 120.0 if "int8" in path.name else 100.0)
    monkeypatch.chdir(model_dir.parent)  # a folder given relative to the cwd (the quantiser works elsewhere)
    entry = quantize_int8(Path(model_dir.name), dataset / "data.yaml", split="train", calibration_images=4, max_drop=1.0)
    assert not entry["offered"] and not (model_dir / "best.int8.onnx").is_file()
    assert "not faster here (120 ms against 100 ms" in entry["why"]


def test_calibration_tiles_are_cut_as_the_detector_cuts(workspace, model_dir, engraved):
    """Whole pages at their own scale become tiles of the card's size at the card's staff space."""
    from omr_core.inference.export import sample_tiles

    card = card_of(model_dir)
    pages = workspace.dataset("int8-pages")
    if not (pages / "data.yaml").is_file():
        convert_deepscores(ConvertConfig(source=str(engraved), output=str(pages), class_set=card["class_set"],
                                         staff_space_px=25.0, val_fraction=0.0, sample_size=0))
    tiles = sample_tiles(pages / "data.yaml", "train", 6, card["imgsz"], card)
    assert tiles.shape == (6, 3, card["imgsz"], card["imgsz"]) and tiles.dtype == np.float32
    assert (tiles < 0.5).any(axis=(1, 2, 3)).all()  # every tile holds ink
