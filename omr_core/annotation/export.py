"""Export the labelled real scans as a YOLO dataset the training plan's fine-tuning stage takes by name.

Scans whose status is `done` go in; a seeded split by scan puts `val_fraction` of them (at least one, when
there are two or more) in val. Labels are mapped by class name onto the chosen class set; boxes of other
classes are left out and counted. With `tile_px`, pages are cut into tiles as the converter does
(datasets.tiling, the same cut rule); otherwise whole pages.

Each exported page is counted by review (annotation.review): its reviewed and unreviewed work units; a page
marked done with units never reviewed is "half-reviewed", and `done_review` lists them so that the page can
warn before the export runs.

Replace, never delete first: the set is built beside OUTPUT and swapped in at the end, and every refusal
("no scan is marked done") comes before anything is touched. A scan whose image or labels cannot be read is
left out and listed in `problems` (file and line), and the rest is exported.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from omr_core.annotation.canvas import class_names as label_classes
from omr_core.annotation.review import summary as review_summary
from omr_core.annotation.scans import list_scans
from omr_core.annotation.store import read_page_labels, read_status
from omr_core.annotation.units import load_units
from omr_core.datasets.tiling import CutRule, crop_detections, tile_grid
from omr_core.fileio import staged_folder, write_atomic
from omr_core.formats.yolo import write_data_yaml, write_labels
from omr_core.structures.detections import Detections
from omr_core.structures.problems import Problem, ProblemLog


def done_review(root: Path, problems: ProblemLog | None = None) -> dict:
    """The done scans and how far they were reviewed: {"scans": [{id, source, page, units, reviewed,
    unreviewed, boxes}], "units", "reviewed", "unreviewed", "half_reviewed": [ids of done scans with unreviewed
    units]}."""
    root = Path(root)
    rows = []
    for scan in list_scans(root, problems):
        status = read_status(root, scan["id"], problems)
        if status["status"] != "done":
            continue
        try:
            n_units = len(load_units(root, scan["id"], problems=problems).units)
        except (OSError, ValueError) as exc:  # an image that cannot be read: the export reports it
            if problems is not None:
                problems.add(Problem("unreadable_image", str(root / "images" / f"{scan['id']}.png"),
                                     f"scan {scan['id']}", str(exc), "skipped"))
            continue
        counts = review_summary(status, n_units)
        rows.append({"id": scan["id"], "source": scan.get("source", ""), "page": scan.get("page", 1),
                     "units": n_units, "reviewed": counts["reviewed"], "unreviewed": counts["unreviewed"],
                     "boxes": status.get("boxes", 0)})
    return {"scans": rows, "units": sum(r["units"] for r in rows), "reviewed": sum(r["reviewed"] for r in rows),
            "unreviewed": sum(r["unreviewed"] for r in rows),
            "half_reviewed": [r["id"] for r in rows if r["unreviewed"]]}


def export_dataset(root: Path, output: Path, names: list[str], val_fraction: float = 0.2, seed: int = 0,
                   tile_px: int | None = None, overlap_px: int = 160, overwrite: bool = False) -> dict:
    """Write the done scans as a YOLO set; returns its summary (also in export.json), with `problems`: what was
    left out and why."""
    root, output = Path(root), Path(output)
    found = ProblemLog()
    done = [s for s in list_scans(root, found) if read_status(root, s["id"], found)["status"] == "done"]
    review = done_review(root) if done else None
    if not done:
        raise ValueError(f"{root}: no scan is marked done yet: nothing to export")
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise FileExistsError(f"{output} exists; choose another name or overwrite it")
    all_names = label_classes()
    order = np.random.default_rng(seed).permutation(len(done))
    n_val = 0 if len(done) < 2 else max(1, round(val_fraction * len(done)))
    split = {done[i]["id"]: ("val" if k < n_val else "train") for k, i in enumerate(order)}
    target = {n: i for i, n in enumerate(names)}
    left_out: dict[str, int] = {}
    counts = {"train": 0, "val": 0}
    boxes = 0
    with staged_folder(output, overwrite=True, refuse=_only_an_export) as work:
        exported = 0
        for scan in done:
            page = cv2.imread(str(root / "images" / f"{scan['id']}.png"))
            if page is None:  # left out, named; the rest goes on
                found.add(Problem("unreadable_image", str(root / "images" / f"{scan['id']}.png"), f"scan {scan['id']}",
                                  "expected the scan's PNG, but it cannot be read", "skipped"))
                continue
            exported += 1
            wh = (page.shape[1], page.shape[0])
            labels = read_page_labels(root, scan["id"], wh, len(all_names), found)
            found_names = [all_names[c] for c in labels.class_id]
            keep = np.array([n in target for n in found_names], dtype=bool)
            for n in np.array(found_names, dtype=object)[~keep]:
                left_out[n] = left_out.get(n, 0) + 1
            mapped = Detections(labels.xyxy[keep], [target[n] for n in np.array(found_names, dtype=object)[keep]])
            part = split[scan["id"]]
            tiles = tile_grid(wh, tile_px, overlap_px) if tile_px else np.array([[0, 0, *wh]])
            for tile in tiles:
                inside, _ = crop_detections(mapped, tile, CutRule()) if tile_px else (mapped, 0)
                stem = f"{scan['id']}" + (f"_x{tile[0]}_y{tile[1]}" if tile_px else "")
                image_path = work / "images" / part / f"{stem}.png"
                image_path.parent.mkdir(parents=True, exist_ok=True)
                if not cv2.imwrite(str(image_path), page[tile[1] : tile[3], tile[0] : tile[2]]):
                    raise OSError(f"{image_path}: could not write the image")
                (work / "labels" / part).mkdir(parents=True, exist_ok=True)
                write_labels(work / "labels" / part / f"{stem}.txt", inside,
                             (int(tile[2] - tile[0]), int(tile[3] - tile[1])))
                counts[part] += 1
                boxes += len(inside)
        if not exported:
            raise ValueError(f"{root}: none of the done scans can be read: "
                             + "; ".join(str(p) for p in found.problems[:3]))
        write_data_yaml(work, list(names), ["train", "val"], extra={"source": "real scans (omr_core.annotation)",
                                                                      "path": str(output.resolve())})
        summary = {"scans": exported, "val_scans": n_val, "images": counts, "boxes": boxes, "left_out": left_out,
                   "units": {"reviewed": review["reviewed"], "unreviewed": review["unreviewed"]},
                   "half_reviewed": review["half_reviewed"],
                   "tile_px": tile_px, "overlap_px": overlap_px if tile_px else None, "seed": seed,
                   "problems": [str(p) for p in found.problems]}
        write_atomic(work / "export.json", json.dumps(summary, indent=1))
    return summary


def _only_an_export(output: Path) -> None:
    if not (output / "export.json").is_file():
        raise FileExistsError(f"{output}: exists and is not an export of the real scans (no export.json), so it is "
                              f"not replaced; choose another name")
