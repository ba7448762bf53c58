"""Detection across scales: per-class recall and precision of one model on the same test pages shown at staff
spaces from 8 to 45 px, against the same pages at the model's own staff space.

    .venv/bin/python bench/scale_bench.py --model NAME --source FOLDER [--pages 6]   # ~10 min on 2 CPU cores

Pages: the test pages (pieces never trained on) of a generated DeepScores-format folder, each resized so that
its staff space is the one asked (its true staff space is in the generator's record), boxes scaled the same.
The detector is given the resized page and nothing else: it measures the staff space itself and reads the page at
its model's. Recall/precision at IoU 0.5, same class, confidence 0.25, per class the model knows (classes with
at least 20 boxes on these pages); the table gives the largest difference from the model's own scale.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

from bench.convert_bench import _replace_section  # noqa: E402
from omr_core.formats.deepscores import DeepScoresReader  # noqa: E402
from omr_core.inference.detector import SymbolDetector  # noqa: E402
from omr_core.inference.images import read_image  # noqa: E402
from omr_core.structures.boxes import box_iou  # noqa: E402
from omr_core.workspace import Workspace  # noqa: E402

SPACES = (8.0, 12.0, 17.0, 23.0, 30.0, 45.0)


def counts(truth_xyxy, truth_names, found) -> dict[str, list[int]]:
    """Per class: [ground truth, matched ground truth, predictions, matched predictions] at IoU 0.5."""
    out = {}
    names = found.data["class_name"].astype(str)
    for name in set(truth_names) | set(names):
        t, p = truth_xyxy[truth_names == name], found.xyxy[names == name]
        iou = box_iou(t, p) if len(t) and len(p) else np.zeros((len(t), len(p)))
        out[name] = [len(t), int((iou.max(axis=1) >= 0.5).sum()) if len(p) else 0, len(p),
                     int((iou.max(axis=0) >= 0.5).sum()) if len(t) else 0]
    return out


def main() -> None:
    import cv2

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--source", required=True, help="a generated folder with deepscores_test.json")
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--workspace")
    parser.add_argument("--trust-pickle", action="store_true")
    args = parser.parse_args()
    source = Path(args.source)
    detector = SymbolDetector.load(args.model, Workspace.open(args.workspace), trust_pickle=args.trust_pickle)
    spaces = {p["file_name"]: p["staff_space_px"] for line in (source / "generation.jsonl").read_text().splitlines()
              for p in json.loads(line).get("pages", [])}
    records = list(DeepScoresReader(source / "deepscores_test.json").records())[: args.pages]
    known = set(detector.names.values())
    table: dict[float, dict[str, list[int]]] = {}
    for target in sorted({*SPACES, detector.staff_space_px}):
        totals: dict[str, list[int]] = {}
        for record in records:
            image = read_image(source / "images" / record.file_name)
            scale = target / spaces[record.file_name]
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            shown = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            sx, sy = size[0] / record.width, size[1] / record.height
            names = np.array(record.class_names).astype(str)
            keep = np.isin(names, list(known))
            truth = record.detections.xyxy[keep] * np.array([sx, sy, sx, sy])
            for name, c in counts(truth, names[keep], detector.detect(shown)).items():
                totals.setdefault(name, [0, 0, 0, 0])
                totals[name] = [a + b for a, b in zip(totals[name], c)]
        table[target] = totals
        print(target, {n: (round(c[1] / max(c[0], 1), 3), round(c[3] / max(c[2], 1), 3)) for n, c in totals.items()},
              flush=True)
    own = table[detector.staff_space_px]
    classes = sorted(n for n, c in own.items() if c[0] >= 20)
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}, no GPU"
    lines = ["## Detection across scales (bench/scale_bench.py)", "",
             f"Model `{args.model}` (staff space {detector.staff_space_px:.1f} px) on {len(records)} test pages of "
             f"`{source.name}` (pieces never trained on) shown at staff spaces {', '.join(f'{s:g}' for s in SPACES)} "
             f"px; recall / precision at IoU 0.5 per class (classes with 20 or more boxes); {machine}.", "",
             "| class | boxes | " + " | ".join(f"{s:g} px" for s in sorted(table)) + " | largest change (points) |",
             "|---|---:|" + "---:|" * len(table) + "---:|"]
    for name in classes:
        cells, worst = [], 0.0
        base_r, base_p = own[name][1] / own[name][0], own[name][3] / max(own[name][2], 1)
        for target in sorted(table):
            c = table[target].get(name, [0, 0, 0, 0])
            r, p = c[1] / max(c[0], 1), c[3] / max(c[2], 1)
            worst = max(worst, abs(r - base_r), abs(p - base_p))
            cells.append(f"{r:.3f} / {p:.3f}")
        lines.append(f"| {name} | {own[name][0]:,} | " + " | ".join(cells) + f" | {100 * worst:.1f} |")
    print("\n".join(lines))
    _replace_section(ROOT / "bench" / "RESULTS.md", lines)


if __name__ == "__main__":
    main()
