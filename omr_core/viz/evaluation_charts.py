"""Plotly figures of an evaluation: the clickable confusion matrix and the F1 per class."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from omr_core.evaluation.cases import BACKGROUND
from omr_core.evaluation.suggestions import similar


def confusion_figure(matrix: list[list[int]], classes: list[str], normalise: bool = True) -> go.Figure:
    """Rows: true class (last: background); columns: predicted (last: background = missed). Cells are square
    markers, so a click selects one (Plotly heatmaps do not report clicks). Look-alike pairs are outlined."""
    labels = [*classes, BACKGROUND]
    counts = np.asarray(matrix, dtype=float)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalise else counts
    rows, cols = np.nonzero(counts)
    n = len(labels)
    row_px = 40 if n <= 20 else 16  # cells stay square and apart; many classes make a tall chart
    size = int(row_px * 0.85)
    look_alike = [similar(labels[r], labels[c]) for r, c in zip(rows, cols)]
    figure = go.Figure(go.Scatter(
        x=[labels[c] for c in cols], y=[labels[r] for r in rows], mode="markers+text",
        text=[str(int(counts[r, c])) for r, c in zip(rows, cols)], textfont={"size": 9},
        marker={"symbol": "square", "size": size, "color": shown[rows, cols], "colorscale": "Blues", "cmin": 0,
                "cmax": 1 if normalise else float(counts.max(initial=1)),
                "line": {"width": [3 if s else 0 for s in look_alike], "color": "#d62728"},
                "colorbar": {"title": "share of row" if normalise else "boxes"}},
        customdata=np.column_stack([[labels[r] for r in rows], [labels[c] for c in cols]]) if len(rows) else None,
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text} boxes<extra></extra>",
    ))
    figure.update_layout(
        xaxis={"title": "predicted", "categoryorder": "array", "categoryarray": labels, "tickangle": -45},
        yaxis={"title": "true", "categoryorder": "array", "categoryarray": labels[::-1]},
        height=row_px * n + 220, margin={"l": 10, "r": 10, "t": 30, "b": 10}, dragmode=False,
        title="Confusion at the evaluation's confidence (red outline: look-alike pair); click a cell for its cases")
    return figure
