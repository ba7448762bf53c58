"""Plotly figures of training runs (live curves and comparisons), from progress.jsonl events."""

from __future__ import annotations

import plotly.graph_objects as go


def loss_figure(events: list[dict]) -> go.Figure:
    """Per-batch training losses (thin) and per-epoch training and validation loss (markers)."""
    fig = go.Figure()
    batches = [e for e in events if e["type"] == "batch"]
    epochs = [e for e in events if e["type"] == "epoch"]
    if batches:
        x = [e["epoch"] - 1 + e["batch"] / max(b["batch"] for b in batches if b["epoch"] == e["epoch"]) for e in batches]
        for key in sorted(batches[-1]["losses"]):
            fig.add_trace(go.Scatter(x=x, y=[e["losses"].get(key) for e in batches], mode="lines", name=f"batch {key}",
                                     line={"width": 1}))
    if epochs:
        fig.add_trace(go.Scatter(x=[e["epoch"] for e in epochs], y=[e.get("train_loss") for e in epochs],
                                 mode="lines+markers", name="train loss (epoch)"))
        fig.add_trace(go.Scatter(x=[e["epoch"] for e in epochs], y=[e.get("val_loss") for e in epochs],
                                 mode="lines+markers", name="validation loss"))
    fig.update_layout(title="Losses", xaxis_title="epoch", yaxis_title="loss", height=380)
    return fig


def map_figure(events: list[dict]) -> go.Figure:
    fig = go.Figure()
    epochs = [e for e in events if e["type"] == "epoch"]
    for key, label in (("metrics/mAP50(B)", "mAP@0.5"), ("metrics/mAP50-95(B)", "mAP@0.5:0.95"),
                       ("metrics/precision(B)", "precision"), ("metrics/recall(B)", "recall")):
        fig.add_trace(go.Scatter(x=[e["epoch"] for e in epochs], y=[e["metrics"].get(key) for e in epochs],
                                 mode="lines+markers", name=label))
    fig.update_layout(title="Validation metrics", xaxis_title="epoch", yaxis_range=[0, 1], height=380)
    return fig


def compare_figure(runs: dict[str, list[dict]], metric: str = "metrics/mAP50(B)") -> go.Figure:
    """One curve per run of a per-epoch metric."""
    fig = go.Figure()
    for name, events in runs.items():
        epochs = [e for e in events if e["type"] == "epoch"]
        fig.add_trace(go.Scatter(x=[e["epoch"] for e in epochs], y=[e["metrics"].get(metric) for e in epochs],
                                 mode="lines+markers", name=name))
    fig.update_layout(title=f"{metric} per epoch", xaxis_title="epoch", height=400)
    return fig


def balance_figure(before: dict[str, int], after: dict[str, int], n_images: int, n_listed: int) -> go.Figure:
    """Boxes per class in the training split before and after class-balanced sampling (log axis)."""
    from omr_core.viz.charts import log_axis

    names = sorted(before, key=before.get)
    fig = go.Figure([go.Bar(name="before", x=names, y=[before[n] for n in names]),
                     go.Bar(name="balanced", x=names, y=[after.get(n, 0) for n in names])])
    fig.update_layout(title=f"Boxes per class in training: {n_images:,} images, {n_listed:,} listed per epoch",
                      barmode="group", yaxis=log_axis("boxes", [*before.values(), *after.values()]), height=360)
    return fig
