"""Self-contained HTML reports (jinja2 templates, every value autoescaped; plotly.js and images inlined, nothing
fetched): the validation report of a conversion and the visual sample of its pages. Above `validation` (what
they report) and `viz` (what they draw with); the checks themselves write no HTML."""

from omr_core.reports.sample import SampleItem, pick_sample, write_sample_report
from omr_core.reports.validation import render_html, write_validation_report

__all__ = ["SampleItem", "pick_sample", "render_html", "write_sample_report", "write_validation_report"]
