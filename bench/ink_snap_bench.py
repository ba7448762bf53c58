"""Ink refinement of notehead boxes: the model's boxes against the same boxes snapped to the page's ink.

    .venv/bin/python bench/ink_snap_bench.py --model NAME --dataset FOLDER [--pages 3]   # ~2 min on 2 CPU cores

A notehead's DeepScores box is the tight extent of its glyph, so snapping a predicted box to the ink around it
could sharpen its edges (mAP50-95). The snap tried here: staff lines removed where nothing crosses them, then
in a window 0.25 staff space beyond the box, the run of inked columns (on the box's rows) and of inked rows (on
its columns) through the box's centre. Each predicted notehead matched to its ground-truth box of the same
class (IoU >= 0.3); the table gives the IoU with the truth before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from omr_core.offline import apply_defaults  # noqa: E402

apply_defaults()  # the one list of offline settings, before anything imports Ultralytics

from bench.convert_bench import _replace_section  # noqa: E402
from omr_core.formats.yolo import parse_labels  # noqa: E402
from omr_core.inference.detector import SymbolDetector  # noqa: E402
from omr_core.formats.images import read_image  # noqa: E402
from omr_core.staff.lines import find_staves, page_darkness  # noqa: E402
from omr_core.staff.space import estimate_staff_space  # noqa: E402
from omr_core.structures.boxes import box_iou  # noqa: E402
from omr_core.workspace import Workspace  # noqa: E402


def lines_removed(dark: np.ndarray, staves) -> np.ndarray:
    """(h, w) darkness with each staff line's pixels kept only where ink lies both above and below the line."""
    out = dark.copy()
    h, w = dark.shape
    for staff in staves:
        xs = np.arange(int(max(staff.x0, 0)), int(min(staff.x1 + 1, w)))
        half = staff.thickness_px / 2 + 0.6
        reach = int(np.ceil(half + 1.5))
        for y in staff.line_y(xs):
            above = dark[np.clip(np.floor(y - half).astype(int) - 1, 0, h - 1), xs]
            below = dark[np.clip(np.ceil(y + half).astype(int) + 1, 0, h - 1), xs]
            crossing = np.minimum(above, below)
            for r in range(-reach, reach + 1):
                rows = np.round(y + r).astype(int)
                on = (np.abs(rows - y) <= half) & (rows >= 0) & (rows < h)
                out[rows[on], xs[on]] = np.minimum(out[rows[on], xs[on]], crossing[on])
    return out


def _run_through(mask: np.ndarray, centre: float) -> tuple[int, int]:
    """[start, end) of the run of True in `mask` through `centre` (or the True nearest to it)."""
    c = int(np.clip(round(centre), 0, len(mask) - 1))
    if not mask[c]:
        on = np.flatnonzero(mask)
        c = int(on[np.argmin(np.abs(on - c))])
    start, end = c, c + 1
    while start > 0 and mask[start - 1]:
        start -= 1
    while end < len(mask) and mask[end]:
        end += 1
    return start, end


def snap(dark: np.ndarray, box: np.ndarray, space_px: float, margin: float = 0.25, ink: float = 0.5) -> np.ndarray:
    """The box's inked extent within `margin` staff spaces around it (the box itself when no ink is there)."""
    x0, y0, x1, y1 = box
    m = margin * space_px
    wx0, wy0 = int(max(np.floor(x0 - m), 0)), int(max(np.floor(y0 - m), 0))
    wx1, wy1 = int(min(np.ceil(x1 + m), dark.shape[1])), int(min(np.ceil(y1 + m), dark.shape[0]))
    inked = dark[wy0:wy1, wx0:wx1] >= ink
    if inked.sum() < 4:
        return box
    rows = slice(int(max(y0 - wy0, 0)), int(max(min(y1 - wy0, inked.shape[0]), 1)))
    cols = slice(int(max(x0 - wx0, 0)), int(max(min(x1 - wx0, inked.shape[1]), 1)))
    a, b = _run_through(inked[rows].mean(0) > 0.15, (x0 + x1) / 2 - wx0)
    c, d = _run_through(inked[:, cols].mean(1) > 0.15, (y0 + y1) / 2 - wy0)
    return np.array([wx0 + a, wy0 + c, wx0 + b, wy0 + d], dtype=np.float64)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True, help="a YOLO dataset of whole pages (converted without --tile)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--workspace")
    parser.add_argument("--trust-pickle", action="store_true")
    args = parser.parse_args()
    data = Path(args.dataset)
    det = SymbolDetector.load(args.model, Workspace.open(args.workspace), trust_pickle=args.trust_pickle, thin="model")
    heads = {i for i, n in det.names.items() if n.startswith("notehead")}
    stats = {"model": [], "model + ink snap": []}
    images = sorted((data / "images" / args.split).glob("*.png"))[:args.pages]
    for img in images:
        rgb = read_image(img)
        h, w = rgb.shape[:2]
        gt, _ = parse_labels((data / "labels" / args.split / (img.stem + ".txt")).read_text(), (w, h))
        found = det.run(img).detections
        est = estimate_staff_space(rgb)
        dark = page_darkness(rgb)
        clean = lines_removed(dark, find_staves(dark, est))
        for k in range(len(found)):
            c = int(found.class_id[k])
            truth = gt.xyxy[gt.class_id == c]
            if c not in heads or not len(truth):
                continue
            iou = box_iou(found.xyxy[k][None], truth)[0]
            j = int(iou.argmax())
            if iou[j] < 0.3:
                continue
            snapped = snap(clean, found.xyxy[k], est.staff_space_px)
            stats["model"].append(iou[j])
            stats["model + ink snap"].append(box_iou(snapped[None], truth[j:j + 1])[0, 0])
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}, no GPU"
    lines = ["## Ink refinement of noteheads (bench/ink_snap_bench.py)", "",
             f"Model `{args.model}` on {len(images)} {args.split} pages of `{data.name}`; {machine}. IoU of each "
             "matched notehead with its ground-truth box.", "",
             "| boxes | matched | mean IoU | IoU >= 0.75 | IoU >= 0.85 | IoU >= 0.90 |", "|---|---:|---:|---:|---:|---:|"]
    for name, values in stats.items():
        v = np.array(values)
        lines.append(f"| {name} | {len(v)} | {v.mean():.3f} | {(v >= .75).mean():.3f} | {(v >= .85).mean():.3f} | "
                     f"{(v >= .9).mean():.3f} |")
    print("\n".join(lines))
    _replace_section(ROOT / "bench" / "RESULTS.md", lines + [""])


if __name__ == "__main__":
    main()
