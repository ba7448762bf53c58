"""Resize an image so that its staff space is the one a model learned, and map boxes back exactly.

    plan = plan_rescale((w, h), target_px=12.0, estimate=estimate_staff_space(rgb))
    small = resize(rgb, plan)                       # what the model sees
    page_xyxy = to_source(model_xyxy, plan)          # boxes in the caller's pixels again

A detector reads a narrow band of staff spaces around the one it was trained on, and real inputs come at every
scale (150-600 dpi scans, phone photos, measure crops). The factor is target / measured. Where the caller knows
the staff space (or the scale) it is used instead of the estimate; where no staff is found, or the estimate is
not confident, the image is read at its native scale and `Rescale.source` says so.

Exactness: the image becomes round(w * f) x round(h * f) pixels, so each axis has its own actual factor
(new / old); boxes are divided by those, in pixel-edge coordinates (a box edge at x in the resized image is at
x / sx in the original), which is what OpenCV's resize does to pixel positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.staff.space import StaffSpaceEstimate

# The staff space the project's models are trained at (chosen by measurement: bench/RESULTS.md, "Canonical
# staff space"). Pages are resized to it for training and inference.
CANONICAL_STAFF_SPACE_PX = 17.0
MIN_CONFIDENCE = 0.2  # an estimate below this is not trusted: the image is read at its native scale
WITHIN = 0.03  # a factor within 3% of 1 is not worth a resize (the model reads a band far wider than that)
MIN_FACTOR, MAX_FACTOR = 0.05, 8.0


@dataclass(frozen=True)
class Rescale:
    """How an image is resized for a model."""

    image_wh: tuple[int, int]  # the caller's image
    size_wh: tuple[int, int]  # what the model sees
    measured_px: float | None  # the image's staff space (measured or given); None when unknown
    target_px: float | None  # the model's staff space; None when it has none
    source: str  # "measured", "given staff space", "given scale", or why the native scale was kept
    confidence: float = 0.0  # the estimate's, when measured

    @property
    def scale_xy(self) -> tuple[float, float]:
        """Actual factors per axis, new / old."""
        return self.size_wh[0] / self.image_wh[0], self.size_wh[1] / self.image_wh[1]

    @property
    def factor(self) -> float:
        return float(np.mean(self.scale_xy))

    @property
    def identity(self) -> bool:
        return self.size_wh == self.image_wh

    def describe(self) -> str:
        if self.identity and self.source not in ("measured", "given staff space", "given scale"):
            return f"read at native scale: {self.source}"
        seen = f"staff space {self.measured_px:.2f} px" if self.measured_px else "staff space unknown"
        if self.identity:
            return f"{seen} ({self.source}), read at native scale (the model's is {self.target_px:.1f} px)"
        return (f"{seen} ({self.source}), resized x{self.factor:.3f} to {self.size_wh[0]}x{self.size_wh[1]} px "
                f"for the model's {self.target_px:.1f} px")

    def to_dict(self) -> dict:
        return {"image_wh": list(self.image_wh), "size_wh": list(self.size_wh), "scale": round(self.factor, 5),
                "measured_staff_space_px": None if self.measured_px is None else round(self.measured_px, 3),
                "target_staff_space_px": self.target_px, "source": self.source,
                "confidence": round(self.confidence, 3)}


def native(image_wh: tuple[int, int], reason: str, measured_px: float | None = None, target_px: float | None = None,
           confidence: float = 0.0) -> Rescale:
    wh = (int(image_wh[0]), int(image_wh[1]))
    return Rescale(wh, wh, measured_px, target_px, reason, confidence)


def plan_rescale(image_wh: tuple[int, int], target_px: float | None, estimate: StaffSpaceEstimate | None = None,
                 staff_space_px: float | None = None, scale: float | None = None, within: float = WITHIN) -> Rescale:
    """The resize that brings an image to `target_px`. Precedence: a given `scale` (new / old), then a given
    `staff_space_px`, then the `estimate`. Without a target, or without any of these, the image keeps its size.
    `within`: factors this close to 1 keep the image as it is."""
    wh = (int(image_wh[0]), int(image_wh[1]))
    if scale is not None:
        factor, measured, source, confidence = float(scale), None, "given scale", 1.0
        if target_px:
            measured = target_px / factor
    elif target_px is None:
        return native(wh, "the model records no staff space")
    elif staff_space_px is not None:
        if not staff_space_px > 0:
            raise ValueError(f"staff_space_px must be positive, but got {staff_space_px}")
        factor, measured, source, confidence = target_px / staff_space_px, float(staff_space_px), "given staff space", 1.0
    elif estimate is None:
        return native(wh, "no staff space given or measured", target_px=target_px)
    elif not estimate.found:
        return native(wh, f"no staff found ({estimate.reason})", target_px=target_px)
    elif estimate.confidence < MIN_CONFIDENCE:
        return native(wh, f"staff space {estimate.staff_space_px:.2f} px measured with confidence "
                          f"{estimate.confidence:.2f} < {MIN_CONFIDENCE}", estimate.staff_space_px, target_px,
                      estimate.confidence)
    else:
        factor, measured = target_px / estimate.staff_space_px, estimate.staff_space_px
        source, confidence = "measured", estimate.confidence
    if not MIN_FACTOR <= factor <= MAX_FACTOR:
        raise ValueError(f"a resize by x{factor:.3g} (staff space {measured} px to {target_px} px) is outside "
                         f"x{MIN_FACTOR}-x{MAX_FACTOR}; check the given staff space or scale")
    if abs(factor - 1) <= within:
        return Rescale(wh, wh, measured, target_px, source, confidence)
    size = (max(1, int(round(wh[0] * factor))), max(1, int(round(wh[1] * factor))))
    return Rescale(wh, size, measured, target_px, source, confidence)


def resize(image: np.ndarray, plan: Rescale) -> np.ndarray:
    """The image at `plan.size_wh` (area averaging to shrink, which keeps thin lines as grey; bicubic to
    enlarge, which keeps a small hollow notehead open: at 8 px staff space read at 16.6 it found 34% of the half
    noteheads in a space where bilinear found 19%, against 36% at the page's own scale). The same array when
    the plan keeps the size."""
    import cv2

    if plan.identity:
        return image
    if (image.shape[1], image.shape[0]) != plan.image_wh:
        raise ValueError(f"the plan is for a {plan.image_wh[0]}x{plan.image_wh[1]} image, but got "
                         f"{image.shape[1]}x{image.shape[0]}")
    shrink = plan.size_wh[0] < plan.image_wh[0]
    return cv2.resize(image, plan.size_wh, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def to_source(xyxy: np.ndarray, plan: Rescale) -> np.ndarray:
    """(n, 4) boxes in the resized image -> the caller's pixels."""
    sx, sy = plan.scale_xy
    return np.asarray(xyxy, dtype=np.float64) / np.array([sx, sy, sx, sy])


def to_target(xyxy: np.ndarray, plan: Rescale) -> np.ndarray:
    """(n, 4) boxes in the caller's pixels -> the resized image."""
    sx, sy = plan.scale_xy
    return np.asarray(xyxy, dtype=np.float64) * np.array([sx, sy, sx, sy])
