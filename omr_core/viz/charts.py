"""Plotly figures shared by the HTML reports and the Streamlit app (no Streamlit here).

Inputs are plain JSON-serialisable dicts (those of `omr_core.validation`: `DistributionAccumulator.to_dict()`,
`imbalance()`), so a page can draw a saved validation.json without recomputing anything; this module imports
nothing of the packages whose results it draws.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from omr_core.viz.draw import class_color, hex_color, split_color

VERDICT_COLORS = {"dominant": "#1f77b4", "ok": "#2ca02c", "rare": "#ff7f0e", "severe": "#d62728", "absent": "#7f7f7f"}


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values of a log axis from `low` to `high` (> 0) that read on their own: every power of ten, and
    2 and 5 between them when the range spans fewer than three decades (Plotly's own ticks label 2 and 5 with
    no decade beside them: "2, 5, 10k, 2")."""
    if not (low > 0 and high >= low):
        raise ValueError(f"a log axis needs 0 < low <= high, but got low={low}, high={high}")
    first, last = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))
    steps = (1, 2, 5) if last - first < 3 else (1,)
    return [float(m * 10.0 ** e) for e in range(first, last + 1) for m in steps
            if low / 1.001 <= m * 10.0 ** e <= high * 1.001 or (m == 1 and e in (first, last))]


def tick_label(value: float) -> str:
    """1, 20, 500, 1,000, 20,000, 1M; 0.5, 0.02, 0.001 below one."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1:
        return f"{value:,.0f}"
    return f"{value:.10f}".rstrip("0")


def log_axis(title: str, values) -> dict:
    """A Plotly log axis over the positive `values`, with ticks from `log_ticks` labelled in full."""
    positive = [float(v) for v in values if v is not None and float(v) > 0]
    axis = {"title": title, "type": "log"}
    if positive:
        ticks = log_ticks(min(positive), max(positive))
        axis.update(tickvals=ticks, ticktext=[tick_label(t) for t in ticks])
    return axis


def _classes(distribution: dict, classes: list[str] | None) -> list[str]:
    """The requested classes in the order given, or every class by total count."""
    return list(distribution["classes"]) if classes is None else list(classes)


def _height(n_categories: int) -> int:
    return int(min(900, max(380, 260 + 6 * n_categories)))


def class_counts_figure(distribution: dict, classes: list[str] | None = None, log_y: bool = True,
                        title: str = "Instances per class") -> go.Figure:
    """Grouped bars: instances of each class, one trace per split.

    Args:
        distribution: `DistributionAccumulator.to_dict()`.
        classes: which classes, in this order (absent ones show as 0); default all, most frequent first.
        log_y: log scale, so a class with 50 boxes is visible beside one with 5 million.
    """
    names = _classes(distribution, classes)
    fig = go.Figure()
    for split in distribution["splits"]:
        counts = distribution["counts"].get(split, {})
        pages = distribution["pages_with_class"].get(split, {})
        fig.add_trace(go.Bar(
            name=split, x=names, y=[counts.get(c, 0) for c in names],
            customdata=[pages.get(c, 0) for c in names],
            marker_color=hex_color(split_color(split)),
            hovertemplate="%{x}<br>%{y:,} boxes on %{customdata:,} pages<extra>" + split + "</extra>",
        ))
    fig.update_layout(
        title=title, barmode="group", height=_height(len(names)), legend_title_text="split",
        xaxis=dict(tickangle=-60, automargin=True),
        yaxis=log_axis("instances", [distribution["counts"].get(sp, {}).get(c, 0) for sp in distribution["splits"]
                                     for c in names]) if log_y else dict(title="instances", type="linear"),
        margin=dict(l=60, r=20, t=60, b=40),
    )
    return fig


def box_size_figure(distribution: dict, classes: list[str] | None = None,
                    title: str = "Box size in staff spaces") -> go.Figure:
    """Box plots of box width and height in staff spaces per class (log scale).

    Boxes show the quartiles of the kept samples and whiskers at p5 and p95; the statistics are computed here
    and handed to plotly as numbers, so the figure stays small however many samples there are.
    """
    names = [c for c in _classes(distribution, classes) if distribution["size_staff_spaces"].get(c, {}).get("n")]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("width (staff spaces)", "height (staff spaces)"))
    for row, axis in enumerate(("width", "height"), start=1):
        for name in names:
            samples = np.asarray(distribution["size_staff_spaces"][name][f"{axis}_samples"], dtype=np.float64)
            if not len(samples):
                continue
            p5, q1, median, q3, p95 = np.percentile(samples, [5, 25, 50, 75, 95]).tolist()
            color = hex_color(class_color(name))
            fig.add_trace(go.Box(
                x=[name], q1=[q1], median=[median], q3=[q3], lowerfence=[p5], upperfence=[p95],
                name=name, marker_color=color, line_color=color, showlegend=False, legendgroup=name,
                hovertemplate=None,
            ), row=row, col=1)
    spread = [v for name in names for axis in ("width", "height")
              for v in np.percentile(distribution["size_staff_spaces"][name][f"{axis}_samples"] or [1.0], [5, 95])]
    fig.update_yaxes(**log_axis("staff spaces", spread))
    fig.update_xaxes(tickangle=-60, automargin=True)
    fig.update_layout(title=title + " (whiskers p5-p95)", height=_height(len(names)) + 250,
                      margin=dict(l=60, r=20, t=80, b=40))
    return fig


def imbalance_figure(imbalance_dict: dict, *, ok_ratio: float, rare_ratio: float,
                     title: str = "Class balance: count / most frequent class") -> go.Figure:
    """Bars of each class's ratio to the most frequent class (log scale), coloured by verdict, with the
    verdict thresholds as lines. Absent classes are listed in the title count but cannot sit on a log axis.

    Args:
        imbalance_dict: {class: {"count": int, "ratio": float, "verdict": str}} (`validation.imbalance()`).
        ok_ratio, rare_ratio: the verdicts' thresholds (`validation.distribution.OK_RATIO`, `RARE_RATIO`).
    """
    items = sorted(imbalance_dict.items(), key=lambda kv: -kv[1]["ratio"])
    present = [(name, v) for name, v in items if v["count"] > 0]
    absent = len(items) - len(present)
    fig = go.Figure()
    for verdict, color in VERDICT_COLORS.items():
        rows = [(name, v) for name, v in present if v["verdict"] == verdict]
        if rows:
            fig.add_trace(go.Bar(
                name=verdict, x=[name for name, _ in rows], y=[v["ratio"] for _, v in rows],
                customdata=[v["count"] for _, v in rows], marker_color=color,
                hovertemplate="%{x}<br>ratio %{y:.4g}<br>%{customdata:,} boxes<extra>" + verdict + "</extra>",
            ))
    for ratio, label in ((ok_ratio, "ok"), (rare_ratio, "rare")):
        fig.add_hline(y=ratio, line_dash="dot", line_color="#555")
        # Annotations on a log axis take log10 coordinates (lines do not), hence the separate call.
        fig.add_annotation(x=1, xref="paper", xanchor="right", y=float(np.log10(ratio)), yanchor="bottom",
                           text=f"{label} \u2265 {ratio:g}", showarrow=False, font=dict(size=11, color="#555"))
    fig.update_layout(
        title=title + (f" ({absent} absent classes not shown)" if absent else ""),
        height=_height(len(present)), legend_title_text="verdict",
        xaxis=dict(tickangle=-60, automargin=True, categoryorder="array", categoryarray=[n for n, _ in present]),
        yaxis=log_axis("ratio", [v["ratio"] for _, v in present] + [rare_ratio]), margin=dict(l=60, r=20, t=60, b=40),
    )
    return fig
