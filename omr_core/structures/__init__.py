"""Core types: boxes and their conventions, detections, per-image records."""

from omr_core.structures.boxes import BoxMode, box_area, box_iou, box_iou_paired, clip_boxes, convert
from omr_core.structures.detections import Detections
from omr_core.structures.problems import Problem, ProblemLog
from omr_core.structures.record import ImageRecord

__all__ = [
    "BoxMode", "Detections", "ImageRecord", "Problem", "ProblemLog", "box_area", "box_iou", "box_iou_paired",
    "clip_boxes", "convert",
]
