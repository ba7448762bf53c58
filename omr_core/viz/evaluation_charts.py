"""Plotly figures of an evaluation: the clickable confusion matrix. Plain inputs: the matrix, its labels and
which cells pair look-alike classes (`evaluation.cases.confusion_labels` makes the last two)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go



def confusion_figure(matrix: list[list[int]], labels: list[str], look_alike: np.ndarray,
                     normalise: bool = True) -> go.Figure:
    """Rows: true class (last: background); columns: predicted (last: background = missed). Cells are square
    markers, so a click selects one (Plotly heatmaps do not report clicks). Look-alike pairs are outlined.

    Args:
        matrix: (n, n) box counts, rows true, columns predicted, in the order of `labels`.
        labels: the n row and column names (the classes, then background).
        look_alike: (n, n) bool, the cells to outline.
        normalise: colour by the share of the row instead of the count.
    """
    counts = np.asarray(matrix, dtype=float)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalise else counts
    rows, cols = np.nonzero(counts)
    n = len(labels)
    row_px = 40 if n <= 20 else 16  # cells stay square and apart; many classes make a tall chart
    size = int(row_px * 0.85)
    outlined = np.asarray(look_alike, dtype=bool)[rows, cols].tolist()
    figure = go.Figure(go.Scatter(
        x=[labels[c] for c in cols], y=[labels[r] for r in rows], mode="markers+text",
        text=[str(int(counts[r, c])) for r, c in zip(rows, cols)], textfont={"size": 9},
        marker={"symbol": "square", "size": size, "color": shown[rows, cols], "colorscale": "Blues", "cmin": 0,
                "cmax": 1 if normalise else float(counts.max(initial=1)),
                "line": {"width": [3 if s else 0 for s in outlined], "color": "#d62728"},
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
