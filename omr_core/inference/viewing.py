"""What the Inference page shows of a detection, computed here so that the page only shows it.

    image, run = detect_file(detector, path, page, dpi)   # the image read once (drawn, then detected), timed
    shown = filter_shown(run.detections, min_conf, classes)  # the sliders filter without running again
    view = scale_view(run, detector.staff_space_px)         # the scale the image was read at, in words
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omr_core.formats.images import DEFAULT_DPI, read_image
from omr_core.structures.detections import Detections

GIVEN = ("measured", "given staff space", "given scale")  # Rescale.source when the scale was known, not assumed


def file_digest(path: Path) -> str:
    """The first 16 hex digits of a file's sha256: a detection's cache key changes when the file does."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def detect_file(detector, path: Path, page: int = 0, dpi: float = DEFAULT_DPI, staff_space_px: float | None = None,
                scale: float | None = None):
    """Read an image file or PDF page once and detect in it; the read time is counted in the run's `load` and
    `total` timings (ms). Returns ((h, w, 3) uint8 RGB image, DetectionRun)."""
    started = time.perf_counter()
    image = read_image(path, page, dpi)
    read_ms = (time.perf_counter() - started) * 1e3
    run = detector.run(image, staff_space_px=staff_space_px, scale=scale)
    run.timings_ms["load"] = round(run.timings_ms["load"] + read_ms, 2)
    run.timings_ms["total"] = round(run.timings_ms["total"] + read_ms, 2)
    return image, run


def filter_shown(detections: Detections, min_conf: float, class_names) -> Detections:
    """The detections at `min_conf` or above whose `data["class_name"]` is one of `class_names`."""
    return detections[(detections.confidence >= min_conf) & np.isin(detections.data["class_name"], list(class_names))]


@dataclass(frozen=True)
class ScaleView:
    """The scale a run read its image at, as the page's metrics and notes say it."""

    staff_space: str  # "17.02 px" or "not found"
    staff_space_help: str
    read_at: str  # "x0.97" or "native scale"
    read_at_help: str
    confidence: str | None  # the measurement's confidence, where the staff space was measured
    confidence_help: str | None
    caption: str  # the rescale plan in a sentence
    warning: str | None  # where the model has a staff space but this image was read at native scale unmeasured


def scale_view(run, model_staff_space_px: float | None) -> ScaleView:
    plan = run.rescale
    measured = run.staff_space is not None and run.staff_space.found
    words = plan.describe()
    return ScaleView(
        staff_space=f"{plan.measured_px:.2f} px" if plan.measured_px else "not found",
        staff_space_help="Measured from the staff lines" if plan.source == "measured" else plan.source,
        read_at=f"x{plan.factor:.2f}" if not plan.identity else "native scale",
        read_at_help=(f"The model's staff space is {model_staff_space_px:.1f} px" if model_staff_space_px
                      else "The model records no staff space"),
        confidence=f"{run.staff_space.confidence:.2f}" if measured else None,
        confidence_help=f"{run.staff_space.samples:,} five-line samples" if measured else None,
        caption=words[0].upper() + words[1:] + ".",
        warning=(f"{words}. Give the staff space above if you know it."
                 if plan.identity and plan.source not in GIVEN and model_staff_space_px else None),
    )
