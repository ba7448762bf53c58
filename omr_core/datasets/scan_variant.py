"""A scan-like variant of a DeepScores-format folder: the same pages through `scan_noise.scan_page`.

    python -m omr_core scan SOURCE OUTPUT --preset phone --seed 0

Every page is warped and degraded; its boxes move with it (`a_bbox` the extent, `o_bbox` the moved corners,
so a rotated page keeps oriented boxes), and a box that leaves the page is dropped. Page p of a run always
gets the same noise for the same seed. Works on any DeepScoresV2-format folder, real or generated; the
muscima++ slot of `cat_id` is not carried over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from omr_core.datasets.convert import find_annotation_files, image_folder
from omr_core.datasets.scan_noise import DEFAULT_PRESET, ScanConfig, ScanResult, scan_page
from omr_core.fileio import staged_folder
from omr_core.formats.deepscores import DeepScoresReader, write_deepscores
from omr_core.structures.detections import Detections
from omr_core.structures.record import ImageRecord


def scan_record(pixels: np.ndarray, record: ImageRecord, preset: str, seed: int, ordinal: int) -> tuple[ScanResult, ImageRecord]:
    """One page through the scan model, seeded by (`seed`, `ordinal`).

    Args:
        pixels: (h, w) or (h, w, 3) uint8, the clean page.
        record: its boxes in page px (`obb8` moves with them when present).

    Returns:
        (the raw ScanResult, the record with the moved boxes that stay visible).
    """
    det = record.detections
    rng = np.random.default_rng([seed, ordinal])
    result = scan_page(pixels, det.xyxy, rng, ScanConfig.preset(preset), obb8=det.data.get("obb8"))
    keep = result.visible
    moved = Detections(result.xyxy[keep], det.class_id[keep],
                       data={**{k: v[keep] for k, v in det.data.items()}, "obb8": result.obb8[keep]})
    scanned = ImageRecord(record.image_id, record.file_name, record.width, record.height, moved, record.categories,
                          record.group, {**record.meta, "scan": result.applied})
    return result, scanned


def make_scan_variant(source: str | Path, output: str | Path, preset: str = DEFAULT_PRESET, seed: int = 0,
                      progress: Callable[[int, int, str], None] | None = None) -> Path:
    source, output = Path(source), Path(output)
    if output.resolve() == source.resolve():
        raise ValueError(f"{output}: the scan variant needs its own folder, not the source's")
    ScanConfig.preset(preset)  # an unknown preset fails before any work
    files = find_annotation_files(source)
    ordinal = 0
    # a variant made again replaces the old one whole: built beside it, swapped in at the end
    with staged_folder(output, overwrite=True, refuse=_only_deepscores_folders) as work:
        (work / "images").mkdir(parents=True)
        for json_path, _ in files:
            reader = DeepScoresReader(json_path)
            total = len(reader.read_pages())
            records = []
            for done, record in enumerate(reader.records(), start=1):
                pixels = cv2.imread(str(image_folder(source) / record.file_name), cv2.IMREAD_UNCHANGED)
                if pixels is None:
                    continue  # the converter's validation reports missing and corrupt images of the source
                result, scanned = scan_record(pixels, record, preset, seed, ordinal)
                ordinal += 1
                if not cv2.imwrite(str(work / "images" / record.file_name), result.pixels):
                    raise OSError(f"{output / 'images' / record.file_name}: could not write the page")
                records.append(scanned)
                if progress:
                    progress(done, total, f"{json_path.name}: {record.file_name}")
            info = {**reader.info, "scan_variant": {"of": str(source), "preset": preset, "seed": seed}}
            write_deepscores(work / json_path.name, records, info=info)
    return output


def _only_deepscores_folders(output: Path) -> None:
    if not any(output.glob("deepscores_*.json")):
        raise FileExistsError(f"{output}: exists and is not a DeepScores-format folder (no deepscores_*.json); "
                              f"choose another folder for the scan variant")


def preview(source: str | Path, page_index: int, preset: str = DEFAULT_PRESET, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """Page `page_index` of a DeepScores-format folder, clean and scan-like, each (h, w, 3) RGB with its boxes
    drawn, and the page's file name: what the variant would make of it."""
    from omr_core.viz.draw import draw_detections

    source = Path(source)
    ordinal = 0
    for json_path, _ in find_annotation_files(source):
        for record in DeepScoresReader(json_path).records():
            if ordinal == page_index:
                pixels = cv2.imread(str(image_folder(source) / record.file_name), cv2.IMREAD_GRAYSCALE)
                if pixels is None:
                    raise FileNotFoundError(f"{image_folder(source) / record.file_name}: missing or unreadable page image")
                result, scanned = scan_record(pixels, record, preset, seed, ordinal)
                clean = draw_detections(pixels, record.detections, record.categories, thickness=2)
                noisy = draw_detections(result.pixels, scanned.detections, record.categories, thickness=2)
                return clean, noisy, record.file_name
            ordinal += 1
    raise IndexError(f"{source}: has {ordinal} pages, so there is no page {page_index}")
