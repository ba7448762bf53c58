"""Validation: integrity checks, the class distribution and the validation report's document (its HTML, and the
visual sample report, are `omr_core.reports`)."""

from omr_core.validation.checks import (
    check_boxes,
    check_image_file,
    check_label_text,
    check_page_image,
    check_yolo_dataset,
)
from omr_core.validation.distribution import DistributionAccumulator, class_weights, imbalance, staff_space_px
from omr_core.validation.report import build_report

__all__ = [
    "DistributionAccumulator", "build_report", "check_boxes", "check_image_file", "check_label_text", "check_page_image",
    "check_yolo_dataset", "class_weights", "imbalance", "staff_space_px",
]
