"""Tiled detection at three scales: SymbolDetector against SAHI's sliced prediction, same model.

    .venv/bin/pip install -r bench/requirements.txt     # the peer: sahi
    .venv/bin/python bench/detect_bench.py              # ~15 min on 2 CPU cores

Data: engraved pages (music21 corpus through the generator) resized so that their staff space is the model's
own (its card's `staff_space_px`), 1.5x that, and 2.5x that (as a 600-dpi scan would come), each with its ground
truth scaled the same; and 1024x1024 crops of the first (the size of a measure image). Every method runs the
same registered model (the bundled one by default) at the same confidence (0.25), on the images as they come:
- omr_core .pt / .onnx / INT8 .onnx: `SymbolDetector` (the page's inked region cut into tiles of the card's
  size and overlap, blank tiles skipped, batched, merged across seams);
  omr_core measures each image's staff space and reads it at the model's, and finds stems from the ink;
- SAHI .pt / .onnx: `get_sliced_prediction` with the same tile size and overlap at the input's own resolution
  (as its users run it), SAHI's default merging (GREEDYNMM on IOS 0.5), no extra whole-image pass
  (`perform_standard_pred=False`, which only adds time).
Latency is the median per image after one warm-up, loading excluded. Recall: ground-truth boxes of the model's
classes matched by a same-class detection at IoU >= 0.5; precision likewise for detections; both also for the
noteheads alone (the glyphs every method can find).
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


def make_pages(n_pages: int, staff_space_px: float, factor: float) -> list[tuple[np.ndarray, Detections]]:
    """Engraved pages resized so that their staff space is `staff_space_px` x `factor`, with their truth."""
    import json

    import cv2

    from omr_core.rendering.generate import GenerateConfig, generate

    source = DATA / f"pages-{n_pages}"
    if not (source / "deepscores_train.json").is_file():
        generate(GenerateConfig(output=str(source), n_pages=n_pages, test_fraction=0.0, seed=123, workers=2))
    spaces = {p["file_name"]: p["staff_space_px"] for line in (source / "generation.jsonl").read_text().splitlines()
              for p in json.loads(line).get("pages", [])}
    out = []
    for record in DeepScoresReader(source / "deepscores_train.json").records():
        image = read_image(source / "images" / record.file_name)
        scale = staff_space_px * factor / spaces[record.file_name]
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        sx, sy = size[0] / record.width, size[1] / record.height
        truth = record.detections
        out.append((image, Detections(truth.xyxy * np.array([sx, sy, sx, sy]), truth.class_id,
                                      data={"name": np.array(record.class_names)})))
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
    """Recall and precision at IoU 0.5, same class, over `classes`."""
    hits = total = correct = predicted = 0
    for (xyxy, names), (_, truth) in zip(found, data):
        wanted = np.isin(truth.data["name"], classes)
        t_xyxy, t_names = truth.xyxy[wanted], truth.data["name"][wanted]
        mine = np.isin(names, classes)
        xyxy, names = xyxy[mine], names[mine]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="registered model name (default: the first bundled one)")
    parser.add_argument("--pages", type=int, default=4)
    args = parser.parse_args()
    cards = list_registry_models()
    card = next(c for c in cards if not args.model or Path(c["dir"]).name == args.model)
    name, folder = Path(card["dir"]).name, Path(card["dir"])
    if not (folder / "best.onnx").is_file():
        raise SystemExit(f"{folder} has no best.onnx: python -m omr_core export {name}")
    tile, overlap = card["tile_px"], card["overlap_px"]
    _, probe = ours(name, "torch")
    space = probe.staff_space_px
    classes = [probe.names[i] for i in sorted(probe.names)]
    heads = [c for c in classes if c.startswith("notehead")]
    scales = {f"x1 ({space:.0f} px)": 1.0, f"x1.5 ({1.5 * space:.0f} px)": 1.5, f"x2.5 ({2.5 * space:.0f} px)": 2.5}
    data = {label: make_pages(args.pages, space, factor) for label, factor in scales.items()}
    data["measures"] = crops(data[next(iter(scales))])
    methods = {
        "omr_core .onnx": lambda: ours(name, "onnx")[0],
        **({"omr_core INT8 .onnx": lambda: ours(name, "int8")[0]} if (folder / "best.int8.onnx").is_file() else {}),
        "omr_core .pt": lambda: ours(name, "torch")[0],
        "SAHI .onnx": lambda: sahi(folder / "best.onnx", tile, overlap),
        "SAHI .pt": lambda: sahi(folder / "best.pt", tile, overlap),
    }
    rows = {}
    for label, make in methods.items():
        predict = make()
        for kind, images in data.items():
            seconds, found = timed(predict, images)
            recall, precision = score(found, images, classes)
            head_recall, head_precision = score(found, images, heads)
            rows[(label, kind)] = (seconds, recall, precision, head_recall, head_precision)
            print(f"{label:22s} {kind:16s} {seconds * 1e3:8.0f} ms  recall {recall:.3f} precision {precision:.3f} "
                  f"noteheads {head_recall:.3f}/{head_precision:.3f}", flush=True)

    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}, no GPU"
    setup = (f"Model `{name}` ({len(classes)} classes, staff space {space:.1f} px, tiles {tile} px, overlap "
             f"{overlap} px), conf {CONF}; {args.pages} engraved pages resized to a staff space of x1, x1.5 and x2.5 "
             f"the model's, and 1024x1024 crops of the x1 pages; {machine}. Median latency per image after a "
             "warm-up; recall/precision at IoU 0.5, same class, over every class of the model and over its noteheads.")
    lines = ["## Tiled detection at three scales (bench/detect_bench.py)", "", setup, "",
             "| method | images | ms | recall | precision | notehead recall | notehead precision |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for label in methods:
        for kind in data:
            ms, r, p, hr, hp = rows[(label, kind)]
            lines.append(f"| {label} | {kind} | {ms * 1e3:.0f} | {r:.3f} | {p:.3f} | {hr:.3f} | {hp:.3f} |")

    def ratio(ours_label: str, peer: str, kind: str) -> float:
        return rows[(peer, kind)][0] / rows[(ours_label, kind)][0]

    lines.append("")
    for kind in data:
        lines.append(f"- {kind}: omr_core .onnx x{ratio('omr_core .onnx', 'SAHI .onnx', kind):.2f} the speed of SAHI "
                     f".onnx and x{ratio('omr_core .onnx', 'SAHI .pt', kind):.2f} of SAHI .pt (the usual set-up); recall "
                     f"{rows[('omr_core .onnx', kind)][1]:.3f} against {rows[('SAHI .onnx', kind)][1]:.3f}, notehead "
                     f"recall {rows[('omr_core .onnx', kind)][3]:.3f} against {rows[('SAHI .onnx', kind)][3]:.3f}")
    print("\n".join(lines))
    _replace_section(ROOT / "bench" / "RESULTS.md", lines)


if __name__ == "__main__":
    main()
