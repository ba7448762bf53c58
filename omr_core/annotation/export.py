"""Export the labelled real scans as a YOLO dataset the training plan's fine-tuning stage takes by name.

Scans whose status is `done` go in; a seeded split by scan puts `val_fraction` of them (at least one, when
there are two or more) in val. Labels are mapped by class name onto the chosen class set; boxes of other
classes are left out and counted. With `tile_px`, pages are cut into tiles as the converter does
(datasets.tiling, the same cut rule); otherwise whole pages.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from omr_core.annotation.canvas import class_names as label_classes
from omr_core.annotation.scans import list_scans
from omr_core.annotation.store import read_labels, read_status
from omr_core.datasets.tiling import CutRule, crop_detections, tile_grid
from omr_core.formats.yolo import parse_labels, write_data_yaml, write_labels
from omr_core.structures.detections import Detections


def export_dataset(root: Path, output: Path, names: list[str], val_fraction: float = 0.2, seed: int = 0,
                   tile_px: int | None = None, overlap_px: int = 160, overwrite: bool = False) -> dict:
    root, output = Path(root), Path(output)
    if output.exists():
        if not overwrite:
            raise FileExistsError(f"{output} exists; choose another name or overwrite it")
        shutil.rmtree(output)
    done = [s for s in list_scans(root) if read_status(root, s["id"])["status"] == "done"]
    if not done:
        raise ValueError(f"{root}: no scan is marked done yet: nothing to export")
    order = np.random.default_rng(seed).permutation(len(done))
    n_val = 0 if len(done) < 2 else max(1, round(val_fraction * len(done)))
    split = {done[i]["id"]: ("val" if k < n_val else "train") for k, i in enumerate(order)}
    all_names = label_classes()
    target = {n: i for i, n in enumerate(names)}
    left_out: dict[str, int] = {}
    counts = {"train": 0, "val": 0}
    boxes = 0
    for scan in done:
        page = cv2.imread(str(root / "images" / f"{scan['id']}.png"))
        wh = (page.shape[1], page.shape[0])
        labels, _ = parse_labels(read_labels(root, scan["id"]), wh)
        found = [all_names[c] for c in labels.class_id]
        keep = np.array([n in target for n in found], dtype=bool)
        for n in np.array(found, dtype=object)[~keep]:
            left_out[n] = left_out.get(n, 0) + 1
        mapped = Detections(labels.xyxy[keep], [target[n] for n in np.array(found, dtype=object)[keep]])
        part = split[scan["id"]]
        tiles = tile_grid(wh, tile_px, overlap_px) if tile_px else np.array([[0, 0, *wh]])
        for k, tile in enumerate(tiles):
            inside, _ = crop_detections(mapped, tile, CutRule()) if tile_px else (mapped, 0)
            stem = f"{scan['id']}" + (f"_x{tile[0]}_y{tile[1]}" if tile_px else "")
            image_path = output / "images" / part / f"{stem}.png"
            image_path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(image_path), page[tile[1] : tile[3], tile[0] : tile[2]])
            (output / "labels" / part).mkdir(parents=True, exist_ok=True)
            write_labels(output / "labels" / part / f"{stem}.txt", inside,
                         (int(tile[2] - tile[0]), int(tile[3] - tile[1])))
            counts[part] += 1
            boxes += len(inside)
    write_data_yaml(output, list(names), ["train", "val"], extra={"source": "real scans (omr_core.annotation)"})
    summary = {"scans": len(done), "val_scans": n_val, "images": counts, "boxes": boxes, "left_out": left_out,
               "tile_px": tile_px, "overlap_px": overlap_px if tile_px else None, "seed": seed}
    (output / "export.json").write_text(json.dumps(summary, indent=1))
    return summary
