"""Beams from the ink (omr_core.ink.beams) against the generator's labels, and what the beam step costs.

    .venv/bin/python bench/beam_bench.py [--pages 24] [--seed 23] [--model scoreeye-3.1-n]   # ~5 min, 2 CPU cores

Pages: engraved by `generate` (all five fonts, one page per piece, the seeded piece order) and each page's phone-
preset variant (`scan_page`, seeded per page). Two kinds of anchors:
- the pages' own noteheads: `thin_symbols` on the page as it is (the ink step alone);
- a model's noteheads: the registered model run by `SymbolDetector` (its own scale, tiles and merge, boxes
  mapped back to the page), with `beam` added to its class names so that `_ink_thin` adds the ink's beams as
  it does for a model with a beam class (confidence: the head's times the beam's score).
Per set: recall and precision at IoU 0.5 of every beam found, AP50 and AP50-95 (omr_core.evaluation's COCO
rules); the beam step's own time (`find_beams`, median per page) and, with the model, the detector's page time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from omr_core.offline import apply_defaults  # noqa: E402

apply_defaults()  # the one list of offline settings, before anything imports Ultralytics

import omr_core.ink.thin as thin  # noqa: E402
from bench.convert_bench import _replace_section  # noqa: E402
from omr_core.datasets.scan_noise import ScanConfig, scan_page  # noqa: E402
from omr_core.evaluation.matching import average_precision, flatten, match  # noqa: E402
from omr_core.formats.deepscores import DeepScoresReader  # noqa: E402
from omr_core.formats.images import read_image  # noqa: E402
from omr_core.inference.detector import SymbolDetector  # noqa: E402
from omr_core.rendering.generate import GenerateConfig, generate  # noqa: E402
from omr_core.staff.lines import find_staves, page_darkness  # noqa: E402
from omr_core.staff.space import estimate_staff_space  # noqa: E402
from omr_core.structures.detections import Detections  # noqa: E402

BEAM_MS: list[float] = []  # every find_beams call's time


def _timed(function):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        out = function(*args, **kwargs)
        BEAM_MS.append((time.perf_counter() - started) * 1e3)
        return out
    return timed


thin.find_beams = _timed(thin.find_beams)


def pages(source: Path):
    """(name, grey image, xyxy, class names) of each page of a generated folder."""
    for split in sorted(source.glob("deepscores_*.json")):
        for record in DeepScoresReader(split).records():
            names = np.array([record.categories[int(c)] for c in record.detections.class_id], dtype=str)
            image = read_image(source / "images" / record.file_name)[:, :, 0]
            yield record.file_name, image, record.detections.xyxy, names


def scores(truth: list[np.ndarray], found: list[Detections]) -> dict:
    """Recall and precision at IoU 0.5 (every box found), AP50 and AP50-95 of one class over pages."""
    gt = flatten([Detections(t, np.zeros(len(t), np.int64)) for t in truth])
    pred = flatten(found)
    matching = match(gt, pred)
    ap = average_precision(gt, pred, matching, 1)[0]
    return {"truth": len(gt), "found": len(pred), "recall": float((matching.gt_pred[:, 0] >= 0).mean()),
            "precision": float(matching.pred_tp[:, 0].mean()) if len(pred) else 0.0,
            "ap50": float(ap[0]), "ap50_95": float(np.mean(ap))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--model", default="scoreeye-3.1-n")
    args = parser.parse_args()
    detector = SymbolDetector.load(args.model, backend="auto")
    beam_id = max(detector.names) + 1
    detector.names = {**detector.names, beam_id: "beam"}  # as a model with a beam class: the ink adds them
    sets = {k: {"truth": [], "heads": [], "model": [], "beam_ms": [], "model_beam_ms": [], "page_ms": [],
                "thin_ms": []} for k in ("clean", "phone")}
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder)
        generate(GenerateConfig(output=str(source), n_pages=args.pages, test_fraction=0.0, seed=args.seed,
                                max_pages_per_piece=1))
        for k, (name, clean, xyxy, names) in enumerate(pages(source)):
            scanned = scan_page(clean, xyxy, np.random.default_rng([3, k]), ScanConfig.preset("phone"))
            variants = {"clean": (clean, xyxy, names),
                        "phone": (scanned.pixels, scanned.xyxy[scanned.visible], names[scanned.visible])}
            for kind, (grey, boxes, classes) in variants.items():
                rgb = np.repeat(grey[:, :, None], 3, axis=2)
                row = sets[kind]
                row["truth"].append(boxes[classes == "beam"])
                estimate = estimate_staff_space(rgb)
                darkness = page_darkness(rgb)
                found = thin.thin_symbols(darkness, boxes[np.char.startswith(classes, "notehead")],
                                          find_staves(darkness, estimate), estimate.staff_space_px)
                row["beam_ms"].append(BEAM_MS[-1])
                row["heads"].append(Detections(found.beams_xyxy, np.zeros(len(found.beams_xyxy), np.int64),
                                               found.beam_score))
                run = detector.run(rgb)
                row["model_beam_ms"].append(BEAM_MS[-1])
                row["page_ms"].append(run.timings_ms["total"])
                row["thin_ms"].append(run.timings_ms["thin"])
                beams = run.detections[run.detections.class_id == beam_id]
                row["model"].append(Detections(beams.xyxy, np.zeros(len(beams), np.int64), beams.confidence))
            print(name, {kind: (len(sets[kind]["truth"][-1]), len(sets[kind]["heads"][-1]),
                                len(sets[kind]["model"][-1])) for kind in sets}, flush=True)
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}, no GPU"
    lines = ["## Beams from the ink (bench/beam_bench.py)", "",
             f"{len(sets['clean']['truth'])} generated pages (seed {args.seed}, five fonts, one page a piece) and "
             f"their phone-preset variants; {machine}. Anchors: the pages' own noteheads, or model "
             f"`{args.model}`'s (the detector as it runs a model with a beam class).", "",
             "| pages | anchors | beams | found | recall | precision | AP50 | AP50-95 |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for kind, row in sets.items():
        for anchors in ("heads", "model"):
            r = scores(row["truth"], row[anchors])
            label = "own noteheads" if anchors == "heads" else f"model `{args.model}`"
            lines.append(f"| {kind} | {label} | {r['truth']:,} | {r['found']:,} | {r['recall']:.3f} | "
                         f"{r['precision']:.3f} | {r['ap50']:.3f} | {r['ap50_95']:.3f} |")
    lines.append("")
    for kind, row in sets.items():
        page, beam = statistics.median(row["page_ms"]), statistics.median(row["model_beam_ms"])
        lines.append(f"- {kind}: the beam step {statistics.median(row['beam_ms']):.1f} ms a page at the page's "
                     f"scale (max {max(row['beam_ms']):.1f}), {beam:.1f} ms inside the detector at the model's scale; "
                     f"the detector's page {page:.0f} ms, its whole ink step {statistics.median(row['thin_ms']):.0f} "
                     f"ms: beams add {beam / page:.1%} (medians)")
    print("\n".join(lines))
    _replace_section(ROOT / "bench" / "RESULTS.md", lines)


if __name__ == "__main__":
    main()
