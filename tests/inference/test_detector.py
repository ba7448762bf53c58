"""SymbolDetector on real engraved pages with the bundled model: resolution, trust, tiling, batching, output."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from omr_core.datasets.tiling import tile_grid
from omr_core.formats.deepscores import DeepScoresReader
from omr_core.inference.detector import (
    SymbolDetector,
    UntrustedModelError,
    ink_choices,
    ink_region,
    list_registry_models,
    resolve_model,
)
from omr_core.formats.images import ImageInputError, read_image
from omr_core.structures.boxes import box_iou

from .conftest import bundled_model_dirs, card_of


class Recording:
    """Wraps a backend and records the batch shapes it is given."""

    def __init__(self, backend):
        self.backend, self.shapes = backend, []
        self.info, self.path = backend.info, backend.path

    def __call__(self, batch):
        self.shapes.append(batch.shape)
        return self.backend(batch)


@pytest.fixture(scope="module")
def detector(workspace, model_dir):
    return SymbolDetector.load(model_dir.name, workspace, backend="torch", batch=4)


def test_registry_names_resolve_and_unknown_names_list_the_known(workspace, model_dir):
    bundled = bundled_model_dirs()[0]
    assert resolve_model(bundled.name).path == bundled / "best.onnx"  # the fast path comes with the bundle
    assert resolve_model(bundled.name, prefer="torch").path == bundled / "best.pt"
    assert resolve_model(bundled.name).trusted
    assert str(bundled) in [c["dir"] for c in list_registry_models()]
    assert resolve_model(model_dir.name, workspace, prefer="torch").path == model_dir / "best.pt"  # the workspace's first
    with pytest.raises(FileNotFoundError, match=f"registered: .*{bundled.name}"):
        resolve_model("no-such-model")


def test_a_pt_nobody_vouched_for_needs_consent(workspace, model_dir, tmp_path):
    import torch

    stray = tmp_path / "downloaded.pt"
    torch.save(torch.load(model_dir / "best.pt", weights_only=False), stray)  # the same model, other bytes
    with pytest.raises(UntrustedModelError, match="pickle"):
        SymbolDetector.load(stray, workspace)
    registered = SymbolDetector.load(model_dir / "best.pt", workspace)  # the bundled file's bytes: trusted
    assert SymbolDetector.load(stray, trust_pickle=True).names == registered.names
    same = tmp_path / "copy.pt"
    shutil.copyfile(model_dir / "best.pt", same)
    assert SymbolDetector.load(same).names == registered.names  # trust goes with the bytes, not the folder


def test_a_page_is_tiled_at_the_trained_tile_size_and_run_in_batches(detector, model_dir, page_path, monkeypatch):
    card = card_of(model_dir)
    assert (detector.tile_px, detector.overlap_px) == (card["tile_px"], card["overlap_px"])
    recording = Recording(detector.backend)
    monkeypatch.setattr(detector, "backend", recording)
    run = detector.run(page_path, scale=1.0)  # tiling at the page's own scale (rescaling: test_rescaling.py)
    width, height = run.image_wh
    x0, y0, x1, y1 = ink_region(read_image(page_path))
    assert 0 < x0 and x1 < width  # the page's margins are left out
    expected = tile_grid((x1 - x0, y1 - y0), card["tile_px"], card["overlap_px"]) + [x0, y0, x0, y0]
    assert np.array_equal(run.tiles_xyxy, expected) and len(expected) > 4
    assert 0 < run.tiles_run <= len(expected)
    assert [s[0] for s in recording.shapes] == [min(4, run.tiles_run - i) for i in range(0, run.tiles_run, 4)]
    found = run.detections
    assert len(found) > 50 and found.confidence.min() >= detector.conf
    assert np.all(found.xyxy >= 0) and np.all(found.xyxy[:, 2] <= width) and np.all(found.xyxy[:, 3] <= height)
    assert list(found.data["class_name"]) == [detector.names[c] for c in found.class_id]
    assert set(run.timings_ms) == {"load", "scale", "model", "tiles", "thin", "merge", "total"}


def test_blank_tiles_are_not_run(detector, page_path, monkeypatch):
    image = read_image(page_path)
    image[:, detector.tile_px + 200 :] = 255  # the right part of the page becomes blank paper
    inked = detector.run(image).tiles_run
    monkeypatch.setattr(detector, "skip_blank", False)
    everything = detector.run(image)
    assert inked < everything.tiles_run == len(everything.tiles_xyxy)


def test_a_blank_page_runs_no_model(detector, monkeypatch):
    recording = Recording(detector.backend)
    monkeypatch.setattr(detector, "backend", recording)
    run = detector.run(np.full((2000, 1500, 3), 250, np.uint8))
    assert len(run.detections) == 0 and len(run.tiles_xyxy) == 0 and recording.shapes == []


def test_a_small_image_goes_through_whole(detector, page_path, monkeypatch):
    crop = read_image(page_path)[300:600, 200:700]
    recording = Recording(detector.backend)
    monkeypatch.setattr(detector, "backend", recording)
    run = detector.run(crop)
    assert len(run.tiles_xyxy) == 1 and len(recording.shapes) == 1 and recording.shapes[0][0] == 1


def test_it_finds_the_noteheads_of_a_page_it_never_saw(detector, engraved, page_path):
    """The bundled model's own claim: most noteheads of a fresh page are found, in the right place."""
    reader = DeepScoresReader(engraved / "deepscores_train.json")
    record = next(r for r in reader.records() if r.file_name == page_path.name)
    names = np.array(record.class_names)
    truth = record.detections[np.char.startswith(names.astype(str), "notehead")]
    found = detector.detect(page_path)
    heads = found[np.char.startswith(found.data["class_name"].astype(str), "notehead")]
    recall = float((box_iou(truth.xyxy, heads.xyxy).max(axis=1) >= 0.5).mean())
    assert len(truth) > 30 and recall >= 0.5, f"notehead recall {recall:.2f} on {len(truth)} noteheads"


def test_thin_classes_the_model_lacks_are_found_from_the_ink(workspace, model_dir, engraved, page_path):
    """`ink_classes`: staves and ledger lines for a notehead model that knows neither, as the page labels them."""
    assert ink_choices(card_of(model_dir)["classes"]) == ["legerLine", "staff", "beam"]  # it has stems of its own
    detector = SymbolDetector.load(model_dir.name, workspace, backend="torch", ink_classes=("staff", "legerLine"))
    assert "staff" not in card_of(model_dir)["classes"] and {"staff", "legerLine"} <= set(detector.names.values())
    reader = DeepScoresReader(engraved / "deepscores_train.json")
    record = next(r for r in reader.records() if r.file_name == page_path.name)
    names = np.array(record.class_names).astype(str)
    found = detector.detect(page_path)
    for name, least in (("staff", 0.95), ("legerLine", 0.8)):
        truth = record.detections.xyxy[names == name]
        boxes = found.xyxy[found.data["class_name"].astype(str) == name]
        assert len(truth) and len(boxes), name
        recall = float((box_iou(truth, boxes).max(axis=1) >= 0.5).mean())
        precision = float((box_iou(boxes, truth).max(axis=1) >= 0.5).mean())
        assert recall >= least and precision >= least, (name, recall, precision)
    with pytest.raises(ValueError, match="clefG.*not found from the ink"):
        SymbolDetector.load(model_dir.name, workspace, backend="torch", ink_classes=("clefG",))
    with pytest.raises(ValueError, match="need thin='ink'"):
        SymbolDetector.load(model_dir.name, workspace, backend="torch", ink_classes=("staff",), thin="model")


def test_json_output_carries_every_box(detector, page_path):
    run = detector.run(page_path)
    document = json.loads(json.dumps(detector.to_json(run.detections, run.image_wh, str(page_path))))
    assert len(document["symbols"]) == len(run.detections) and document["image_wh"] == list(run.image_wh)
    first = document["symbols"][0]
    assert set(first) == {"xyxy", "class_id", "class_name", "confidence"}
    assert first["class_name"] == detector.names[first["class_id"]]
    kept = run.detections[run.detections.confidence >= 0.5]
    page = json.loads(json.dumps(detector.run_json(run, "p.pdf", 2, kept, conf=0.5)))  # what the Inference page downloads
    assert (page["page"], page["conf"], page["source"], len(page["symbols"])) == (3, 0.5, "p.pdf", len(kept))
    assert page["tiles"] == len(run.tiles_xyxy) and page["rescale"] == run.rescale.to_dict()
    assert len(detector.run_json(run)["symbols"]) == len(run.detections)


def test_bad_inputs_are_refused_with_the_file_named(detector, tmp_path):
    broken = tmp_path / "scan.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(ImageInputError, match="scan.png: not a readable image"):
        detector.detect(broken)
    with pytest.raises(ImageInputError, match="too small"):
        detector.detect(np.zeros((1, 1, 3), np.uint8))


MEASURE_MEMORY = """
import resource, sys
from omr_core.inference.detector import SymbolDetector
detector = SymbolDetector.load(sys.argv[1], backend=sys.argv[2], trust_pickle=True)
run = detector.run(sys.argv[3])
print(len(run.detections), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_full_page_infers_within_2_gb(model_dir, page_path, backend, tmp_path):
    """Peak resident memory of a fresh process that loads the model and detects on a whole page."""
    weights = model_dir / "best.pt"
    if backend == "onnx":
        from omr_core.inference.export import export_onnx

        folder = tmp_path / model_dir.name
        shutil.copytree(model_dir, folder)
        export_onnx(folder, [page_path])
        weights = folder / "best.onnx"
    script = tmp_path / "measure.py"
    script.write_text(MEASURE_MEMORY)
    out = subprocess.run([sys.executable, str(script), str(weights), backend, str(page_path)], capture_output=True,
                         text=True, check=True)
    boxes, peak_kib = map(int, out.stdout.split()[-2:])
    assert boxes > 50 and peak_kib < 2 * 1024 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


def test_measures_cut_from_a_page_map_back_onto_the_page_detections(detector, page_path, tmp_path):
    """The ScoreEye path end to end: cut two measure images (one at 2x), detect in each, map to the page,
    and find the same noteheads the whole-page detection finds there."""
    import cv2

    from omr_core.inference.handoff import Measure, PageMeasures, detect_measures, write_measures

    page = read_image(page_path)
    boxes = [(150, 250, 950, 700), (900, 250, 1700, 700)]
    measures = []
    for number, ((x0, y0, x1, y1), scale) in enumerate(zip(boxes, (1.0, 2.0)), start=1):
        crop = page[y0:y1, x0:x1]
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale != 1 else crop
        cv2.imwrite(str(tmp_path / f"m{number}.png"), crop[:, :, ::-1])
        measures.append(Measure(f"p1-s1-m{number}", f"m{number}.png", 1, number, (x0, y0, x1, y1), scale))
    write_measures(tmp_path / "metadata.json", PageMeasures(1, page.shape[1], page.shape[0], None, tuple(measures),
                                                            tmp_path))
    document = detect_measures(detector, [tmp_path / "metadata.json"])
    first = document["pages"][0]["systems"][0]["measures"][0]["symbols"]
    on_page = np.array([s["xyxy_page"] for s in first if s["class_name"].startswith("notehead")])
    whole = detector.detect(page)
    heads = whole[np.char.startswith(whole.data["class_name"].astype(str), "notehead")]
    inside = heads.xyxy[(heads.xyxy[:, 0] >= 150) & (heads.xyxy[:, 2] <= 950) & (heads.xyxy[:, 1] >= 250)
                        & (heads.xyxy[:, 3] <= 700)]
    assert len(inside) >= 5
    assert (box_iou(inside, on_page).max(axis=1) >= 0.7).mean() >= 0.9


def test_a_class_threshold_from_the_card_is_applied(detector, page_path, monkeypatch):
    found = detector.detect(page_path)
    name = found.data["class_name"][0]
    monkeypatch.setattr(detector, "class_conf", {name: 0.999})
    strict = detector.detect(page_path)
    assert (strict.data["class_name"] == name).sum() < (found.data["class_name"] == name).sum()
    assert (strict.data["class_name"] != name).sum() == (found.data["class_name"] != name).sum()


def test_ink_beams_replace_the_models_own_for_a_model_with_a_beam_class():
    """The ink's beams (and stems) take the place of the model's boxes of those classes, with a confidence from
    the heads they were found from; a model without a beam class gets no beams."""
    from types import SimpleNamespace

    from omr_core.staff import estimate_staff_space
    from omr_core.structures.detections import Detections

    from ..ink.test_beams import beamed
    from ..ink.test_thin import Page

    page = Page()
    drawn = beamed(page, [300, 370, 440], steps=6, up=True)
    image = page.image()
    heads = np.array(page.heads)

    def ink(names):
        backend = SimpleNamespace(info=SimpleNamespace(names=names, imgsz=640, end2end=False), path=None)
        found = Detections(np.vstack([heads, [[600, 100, 700, 110]]]), [0, 0, 0, len(names) - 1],
                           [0.9, 0.8, 0.7, 0.6])  # the three heads, and the model's own box of its last class
        return SymbolDetector(backend)._ink_thin(image, found, estimate_staff_space(image))

    with_beams = ink({0: "noteheadBlackInSpace", 1: "stem", 2: "beam"})
    beams = with_beams[with_beams.class_id == 2]
    assert len(beams) == 1 and box_iou(beams.xyxy, drawn)[0, 0] >= 0.8  # the model's own beam box is gone
    assert 0 < beams.confidence[0] <= 0.9  # the first head's confidence, times the share of dark columns
    assert (with_beams.class_id == 1).sum() == 3
    without = ink({0: "noteheadBlackInSpace", 1: "stem", 2: "clefG"})
    assert sorted(without.class_id.tolist()) == [0, 0, 0, 1, 1, 1, 2]  # heads, ink stems, the model's clef kept
