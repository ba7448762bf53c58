"""Tiled detection: SymbolDetector against SAHI's sliced prediction and plain Ultralytics predict, same model.

    .venv/bin/pip install -r bench/requirements.txt     # the peer: sahi
    .venv/bin/python bench/detect_bench.py              # ~3 min on 2 CPU cores

Data: engraved pages (music21 corpus through the generator, 1960x2772 px) and 1024x1024 crops of them (the
size of a measure image), with their ground truth. Every method runs the same registered model (the bundled
one by default) at the same confidence (0.25):
- omr_core .pt / .onnx / INT8 .onnx: `SymbolDetector` (the page's inked region cut into tiles of the card's
  size and overlap, blank tiles skipped, batched, merged across seams);
- SAHI .pt / .onnx: `get_sliced_prediction` with the same tile size and overlap, SAHI's default merging
  (GREEDYNMM on IOS 0.5), no extra whole-image pass (`perform_standard_pred=False`, which only adds time);
- Ultralytics predict on the whole image at imgsz 640 (what a plain call does) and at the page's own size.
Latency is the median per image after one warm-up, loading excluded. Recall: ground-truth boxes of the model's
classes matched by a same-class detection at IoU >= 0.5; precision likewise for detections.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

from bench.convert_bench import _replace_section  # noqa: E402
from omr_core.formats.deepscores import DeepScoresReader  # noqa: E402
from omr_core.inference.detector import SymbolDetector, list_registry_models  # noqa: E402
from omr_core.inference.images import read_image  # noqa: E402
from omr_core.structures.boxes import box_iou  # noqa: E402
from omr_core.structures.detections import Detections  # noqa: E402

DATA = ROOT / "bench" / "_data" / "detect"
CONF = 0.25


def make_pages(n_pages: int) -> list[tuple[np.ndarray, Detections]]:
    from omr_core.rendering.generate import GenerateConfig, generate

    source = DATA / f"pages-{n_pages}"
    if not (source / "deepscores_train.json").is_file():
        generate(GenerateConfig(output=str(source), n_pages=n_pages, test_fraction=0.0, seed=123, workers=2))
    out = []
    for record in DeepScoresReader(source / "deepscores_train.json").records():
        image = read_image(source / "images" / record.file_name)
        truth = record.detections
        out.append((image, Detections(truth.xyxy, truth.class_id, data={"name": np.array(record.class_names)})))
    return out


def crops(pages, size: int = 1024) -> list[tuple[np.ndarray, Detections]]:
    """One 1024x1024 crop from the music of each page; boxes whose centre lies inside, clipped to it."""
    out = []
    for image, truth in pages:
        x0 = (image.shape[1] - size) // 2
        y0 = int(np.median(truth.xyxy[:, 1])) - size // 2
        y0 = int(np.clip(y0, 0, image.shape[0] - size))
        centre = (truth.xyxy[:, :2] + truth.xyxy[:, 2:]) / 2
        inside = np.all((centre >= [x0, y0]) & (centre < [x0 + size, y0 + size]), axis=1)
        kept = truth[inside]
        xyxy = np.clip(kept.xyxy - [x0, y0, x0, y0], 0, size)
        out.append((image[y0 : y0 + size, x0 : x0 + size].copy(), Detections(xyxy, kept.class_id, data=kept.data)))
    return out


def score(found: list[tuple[np.ndarray, np.ndarray]], data, classes: list[str]) -> tuple[float, float]:
    """Recall and precision at IoU 0.5, same class, over the model's classes."""
    hits = total = correct = predicted = 0
    for (xyxy, names), (_, truth) in zip(found, data):
        wanted = np.isin(truth.data["name"], classes)
        t_xyxy, t_names = truth.xyxy[wanted], truth.data["name"][wanted]
        total, predicted = total + len(t_xyxy), predicted + len(xyxy)
        if len(xyxy) and len(t_xyxy):
            iou = np.where(t_names[:, None] == names[None, :], box_iou(t_xyxy, xyxy), 0.0)
            hits += int((iou.max(axis=1) >= 0.5).sum())
            correct += int((iou.max(axis=0) >= 0.5).sum())
    return hits / max(total, 1), correct / max(predicted, 1)


def timed(predict, data) -> tuple[float, list]:
    predict(data[0][0])  # warm-up
    times, found = [], []
    for image, _ in data:
        start = time.perf_counter()
        xyxy, names = predict(image)
        times.append(time.perf_counter() - start)
        found.append((xyxy, names))
    return statistics.median(times), found


def ours(model: str, backend: str):
    detector = SymbolDetector.load(model, backend=backend, conf=CONF)

    def predict(image):
        found = detector.detect(image)
        return found.xyxy, found.data["class_name"].astype(str)
    return predict, detector


def sahi(weights: Path, tile: int, overlap: int):
    from sahi import AutoDetectionModel
    from sahi.predict import get_sliced_prediction

    model = AutoDetectionModel.from_pretrained(model_type="ultralytics", model_path=str(weights),
                                               confidence_threshold=CONF, device="cpu", image_size=tile)

    def predict(image):
        result = get_sliced_prediction(image, model, slice_height=tile, slice_width=tile,
                                       overlap_height_ratio=overlap / tile, overlap_width_ratio=overlap / tile,
                                       perform_standard_pred=False, verbose=0)
        preds = result.object_prediction_list
        xyxy = np.array([p.bbox.to_xyxy() for p in preds], dtype=float).reshape(-1, 4)
        return xyxy, np.array([p.category.name for p in preds], dtype=str)
    return predict


def plain(weights: Path, imgsz: int | None):
    from omr_core.training.offline import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")

    def predict(image):
        size = imgsz or int(np.ceil(max(image.shape[:2]) / 32) * 32)
        result = model.predict(image[:, :, ::-1], imgsz=size, conf=CONF, verbose=False, max_det=3000)[0]
        names = np.array([result.names[int(c)] for c in result.boxes.cls.tolist()], dtype=str)
        return result.boxes.xyxy.cpu().numpy().astype(float), names
    return predict


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="registered model name (default: the first bundled one)")
    parser.add_argument("--pages", type=int, default=6)
    args = parser.parse_args()
    cards = list_registry_models()
    card = next(c for c in cards if not args.model or Path(c["dir"]).name == args.model)
    name, folder = Path(card["dir"]).name, Path(card["dir"])
    if not (folder / "best.onnx").is_file():
        raise SystemExit(f"{folder} has no best.onnx: python -m omr_core export {name}")
    tile, overlap = card["tile_px"], card["overlap_px"]

    pages = make_pages(args.pages)
    measures = crops(pages)
    _, probe = ours(name, "torch")
    classes = [probe.names[i] for i in sorted(probe.names)]
    methods = {
        "omr_core .onnx": lambda: ours(name, "onnx")[0],
        **({"omr_core INT8 .onnx": lambda: ours(name, "int8")[0]} if (folder / "best.int8.onnx").is_file() else {}),
        "omr_core .pt": lambda: ours(name, "torch")[0],
        "SAHI .onnx": lambda: sahi(folder / "best.onnx", tile, overlap),
        "SAHI .pt": lambda: sahi(folder / "best.pt", tile, overlap),
        "Ultralytics predict, imgsz 640": lambda: plain(folder / "best.pt", 640),
        "Ultralytics predict, whole image at native size": lambda: plain(folder / "best.pt", None),
    }
    rows = {}
    for label, make in methods.items():
        predict = make()
        for kind, data in (("page", pages), ("measure", measures)):
            seconds, found = timed(predict, data)
            recall, precision = score(found, data, classes)
            rows[(label, kind)] = (seconds, recall, precision)
            print(f"{label:50s} {kind:8s} {seconds * 1e3:8.0f} ms  recall {recall:.3f}  precision {precision:.3f}",
                  flush=True)

    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}, no GPU"
    setup = (f"Model `{name}` ({len(classes)} classes, tiles {tile} px, overlap {overlap} px), conf {CONF}; "
             f"{len(pages)} engraved pages of 1960x2772 px and {len(measures)} 1024x1024 crops of them; {machine}. "
             "Median latency per image after a warm-up; recall/precision at IoU 0.5, same class.")
    lines = ["## Tiled detection (bench/detect_bench.py)", "", setup, "",
             "| method | page ms | page recall | page precision | measure ms | measure recall | measure precision |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label in methods:
        (ps, pr, pp), (ms, mr, mp) = rows[(label, "page")], rows[(label, "measure")]
        lines.append(f"| {label} | {ps * 1e3:.0f} | {pr:.3f} | {pp:.3f} | {ms * 1e3:.0f} | {mr:.3f} | {mp:.3f} |")

    def ratio(ours_label: str, peer: str, kind: str) -> float:
        return rows[(peer, kind)][0] / rows[(ours_label, kind)][0]

    same_backend = (f"- speed against SAHI, same backend: .onnx x{ratio('omr_core .onnx', 'SAHI .onnx', 'page'):.2f} "
                    f"(pages), x{ratio('omr_core .onnx', 'SAHI .onnx', 'measure'):.2f} (measures); .pt "
                    f"x{ratio('omr_core .pt', 'SAHI .pt', 'page'):.2f} (pages), "
                    f"x{ratio('omr_core .pt', 'SAHI .pt', 'measure'):.2f} (measures)")
    usual = (f"- omr_core .onnx against SAHI .pt (the usual SAHI set-up): "
             f"x{ratio('omr_core .onnx', 'SAHI .pt', 'page'):.2f} per page")
    recall = (f"- recall difference (omr_core - SAHI, .onnx, pages): "
              f"{rows[('omr_core .onnx', 'page')][1] - rows[('SAHI .onnx', 'page')][1]:+.3f}")
    lines += ["", same_backend, usual, recall]
    print("\n".join(lines))
    _replace_section(ROOT / "bench" / "RESULTS.md", lines)


if __name__ == "__main__":
    main()
