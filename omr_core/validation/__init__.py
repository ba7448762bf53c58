"""Validation: integrity checks, class distribution, and the validation and sample reports."""

from omr_core.validation.checks import (
    check_boxes,
    check_image_file,
    check_label_text,
    check_page_image,
    check_yolo_dataset,
)
from omr_core.validation.distribution import DistributionAccumulator, class_weights, imbalance, staff_space_px
from omr_core.validation.report import build_report, render_html, write_validation_report
from omr_core.validation.sample import SampleItem, pick_sample, write_sample_report

__all__ = [
    "DistributionAccumulator", "SampleItem", "build_report", "check_boxes", "check_image_file", "check_label_text", "check_page_image",
    "check_yolo_dataset", "class_weights", "imbalance", "pick_sample", "render_html", "staff_space_px",
    "write_sample_report", "write_validation_report",
]
