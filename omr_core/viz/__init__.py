"""Visualisation: boxes drawn on pages, crops, data URIs, and the plotly charts the reports and app share."""

from omr_core.viz.charts import box_size_figure, class_counts_figure, imbalance_figure
from omr_core.viz.draw import (
    PALETTE_RGB,
    class_color,
    crop_zoom,
    draw_detections,
    hex_color,
    resize_to_width,
    split_color,
    to_data_uri,
)

__all__ = [
    "PALETTE_RGB", "box_size_figure", "class_color", "class_counts_figure", "crop_zoom", "draw_detections",
    "hex_color", "imbalance_figure", "resize_to_width", "split_color", "to_data_uri",
]
