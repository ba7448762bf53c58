import numpy as np
import plotly.graph_objects as go
import pytest

from omr_core.structures.detections import Detections
from omr_core.structures.record import ImageRecord
from omr_core.validation.distribution import OK_RATIO, RARE_RATIO, DistributionAccumulator, imbalance
from omr_core.viz.charts import box_size_figure, class_counts_figure, imbalance_figure
from omr_core.viz.draw import class_color, hex_color, split_color

CATEGORIES = {1: "staff", 2: "stem", 3: "clefG", 4: "segno"}


@pytest.fixture
def distribution() -> dict:
    acc = DistributionAccumulator()
    for split, stems in (("train", 30), ("val", 4)):
        xyxy = [[0, 0, 900, 80]] + [[i, 0, i + 2, 60 + i] for i in range(stems)] + [[0, 0, 50, 150]]
        det = Detections(np.array(xyxy, dtype=float), [1] + [2] * stems + [3])
        acc.add(ImageRecord("1", "p.png", 1000, 1000, det, CATEGORIES), split)
    return acc.to_dict()


def test_class_counts_figure_has_one_trace_per_split(distribution):
    fig = class_counts_figure(distribution)
    assert isinstance(fig, go.Figure) and fig.layout.title.text
    assert [t.name for t in fig.data] == ["train", "val"]
    assert list(fig.data[0].x) == ["stem", "clefG", "staff", "segno"]
    assert list(fig.data[0].y) == [30, 1, 1, 0] and list(fig.data[1].y) == [4, 1, 1, 0]
    assert fig.data[0].marker.color == hex_color(split_color("train"))
    assert fig.layout.yaxis.type == "log"


def test_class_counts_figure_for_chosen_classes(distribution):
    fig = class_counts_figure(distribution, classes=["clefG", "noteheadBlackOnLine"], log_y=False)
    assert list(fig.data[0].x) == ["clefG", "noteheadBlackOnLine"] and list(fig.data[0].y) == [1, 0]
    assert fig.layout.yaxis.type == "linear"


def test_box_size_figure_summarises_the_samples(distribution):
    fig = box_size_figure(distribution, classes=["stem", "segno"])
    assert fig.layout.title.text
    # segno has no samples: only stem, once for width and once for height.
    assert [t.x[0] for t in fig.data] == ["stem", "stem"]
    heights = np.array(distribution["size_staff_spaces"]["stem"]["height_samples"])
    assert fig.data[1].median[0] == pytest.approx(np.median(heights))
    assert fig.data[1].lowerfence[0] == pytest.approx(np.percentile(heights, 5))
    assert fig.data[0].marker.color == hex_color(class_color("stem"))


def test_imbalance_figure_colours_by_verdict():
    fig = imbalance_figure(imbalance({"a": 1000, "b": 200, "c": 50, "d": 1, "e": 0}), ok_ratio=OK_RATIO, rare_ratio=RARE_RATIO)
    assert {t.name: list(t.x) for t in fig.data} == {"dominant": ["a"], "ok": ["b"], "rare": ["c"], "severe": ["d"]}
    assert "1 absent" in fig.layout.title.text


@pytest.mark.parametrize("low, high, labels", [
    (1, 15744, ["1", "10", "100", "1,000", "10,000", "100,000"]),  # many decades: powers of ten only
    (117, 15744, ["100", "1,000", "10,000", "100,000"]),
    (0.007, 1, ["0.001", "0.01", "0.1", "1"]),  # ratios read as decimals, never "1m"
    (3, 80, ["1", "5", "10", "20", "50", "100"]),  # under three decades: 1-2-5 in range, decades at the ends
    (5, 5, ["1", "5", "10"]),
    (20_000, 3_000_000, ["10,000", "100,000", "1M", "10M"]),
])
def test_log_axis_ticks_read_on_their_own(low, high, labels):
    from omr_core.viz.charts import log_ticks, tick_label

    assert [tick_label(t) for t in log_ticks(low, high)] == labels


def test_log_charts_label_their_ticks_in_full():
    from omr_core.viz.charts import log_axis

    axis = log_axis("boxes", [0, 12, 11711])  # zero cannot sit on a log axis and is left out
    assert axis["type"] == "log" and axis["ticktext"] == ["10", "100", "1,000", "10,000", "100,000"]
    with pytest.raises(ValueError, match="0 < low <= high"):
        from omr_core.viz.charts import log_ticks
        log_ticks(0, 10)
