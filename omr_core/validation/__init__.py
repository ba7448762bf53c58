"""Validation: integrity checks, class distribution, and the validation and sample reports."""

from omr_core.validation.checks import check_boxes, check_image_file, check_label_text, check_yolo_dataset
from omr_core.validation.distribution import DistributionAccumulator, class_weights, imbalance, staff_space_px

__all__ = [
    "DistributionAccumulator", "check_boxes", "check_image_file", "check_label_text", "check_yolo_dataset",
    "class_weights", "imbalance", "staff_space_px",
]
