import json
import math

import numpy as np
import pytest

from omr_core.structures.detections import Detections
from omr_core.structures.record import ImageRecord
from omr_core.validation.distribution import DistributionAccumulator, class_weights, imbalance, staff_space_px

CATEGORIES = {1: "staff", 2: "stem", 3: "clefG", 4: "segno"}


def page(boxes: list[tuple[int, list[float]]], meta=None, categories=CATEGORIES) -> ImageRecord:
    """boxes: (class_id, xyxy) pairs."""
    xyxy = np.array([b for _, b in boxes], dtype=np.float64).reshape(-1, 4)
    det = Detections(xyxy, [c for c, _ in boxes])
    return ImageRecord("1", "p.png", 1000, 1000, det, categories, meta=meta or {})


def staff(top: float, height: float) -> tuple[int, list[float]]:
    return 1, [0, top, 900, top + height]


@pytest.mark.parametrize(
    "boxes, meta, expected",
    [
        ([staff(0, 80), staff(200, 84), staff(400, 400)], {}, 21.0),  # median 84 ignores the broken staff
        ([staff(0, 80), staff(200, 88)], {}, 21.0),
        ([(2, [0, 0, 2, 60])], {"staff_space_px": 15.0}, 15.0),  # no staff box: the measured value
        ([(2, [0, 0, 2, 60])], {}, math.nan),
        ([], {}, math.nan),
    ],
)
def test_staff_space_px(boxes, meta, expected):
    result = staff_space_px(page(boxes, meta))
    assert (math.isnan(result) and math.isnan(expected)) or result == pytest.approx(expected)


def test_accumulator_counts_per_split_and_class():
    acc = DistributionAccumulator()
    acc.add(page([staff(0, 80), (2, [0, 0, 2, 60]), (2, [5, 0, 7, 60]), (3, [0, 0, 50, 150])]), "train")
    acc.add(page([staff(0, 80), (2, [0, 0, 2, 60])]), "train")
    acc.add(page([(3, [0, 0, 50, 150])]), "val")  # no staff box: counted, not sized
    summary = acc.to_dict()

    assert summary["splits"] == ["train", "val"]
    assert summary["pages"] == {"train": 2, "val": 1}
    assert summary["boxes"] == {"train": 6, "val": 1}
    assert summary["counts"]["train"] == {"stem": 3, "staff": 2, "clefG": 1, "segno": 0}
    assert summary["counts"]["val"] == {"stem": 0, "staff": 0, "clefG": 1, "segno": 0}
    assert summary["pages_with_class"]["train"] == {"stem": 2, "staff": 2, "clefG": 1, "segno": 0}
    assert summary["totals"] == {"stem": 3, "staff": 2, "clefG": 2, "segno": 0}
    assert summary["classes"] == ["stem", "clefG", "staff", "segno"]  # by count, ties by name
    assert summary["pages_without_staff_space"] == {"train": 0, "val": 1}

    # Staff space 20 px: a stem 2 x 60 px is 0.1 x 3 staff spaces; the clefG on the val page is not sized.
    stem = summary["size_staff_spaces"]["stem"]
    assert stem["n"] == 3 and stem["width_samples"] == [0.1] * 3 and stem["height"]["median"] == 3.0
    assert summary["size_staff_spaces"]["clefG"]["n"] == 1
    assert summary["size_staff_spaces"]["segno"] == {
        "n": 0, "width": {"p5": None, "median": None, "p95": None}, "width_samples": [],
        "height": {"p5": None, "median": None, "p95": None}, "height_samples": []}
    json.dumps(summary, allow_nan=False)


def test_accumulator_uses_a_given_staff_space():
    acc = DistributionAccumulator()
    acc.add(page([(2, [0, 0, 5, 50])]), "train", staff_space=25.0)
    assert acc.to_dict()["size_staff_spaces"]["stem"]["height_samples"] == [2.0]


def test_unknown_ids_are_counted_under_their_own_name():
    acc = DistributionAccumulator()
    acc.add(page([(99, [0, 0, 5, 5])]), "train")
    assert acc.to_dict()["counts"]["train"]["<unknown 99>"] == 1


def test_reservoir_is_bounded_uniform_and_seeded():
    def run(seed: int) -> dict:
        acc = DistributionAccumulator(max_samples=500, seed=seed)
        for start in range(0, 10_000, 1000):  # 10 pages of 1000 stems, heights 1..10000 px
            heights = np.arange(start + 1, start + 1001, dtype=np.float64)
            boxes = [staff(0, 4.0)] + [(2, [0.0, 0.0, 1.0, h]) for h in heights]
            acc.add(page(boxes), "train")  # staff space 1 px: height in staff spaces = px
        return acc.to_dict()["size_staff_spaces"]["stem"]

    stem = run(0)
    samples = np.array(stem["height_samples"])
    assert stem["n"] == 10_000 and len(samples) == 500
    assert len(np.unique(samples)) == 500 and np.isin(samples, np.arange(1, 10_001)).all()
    # A uniform sample of 1..10000 has mean 5000.5 and standard error 2887 / sqrt(500) = 129.
    assert abs(samples.mean() - 5000.5) < 600
    assert samples.max() > 9000 and samples.min() < 1000  # late items do get in
    assert run(0)["height_samples"] == stem["height_samples"]
    assert run(1)["height_samples"] != stem["height_samples"]


@pytest.mark.parametrize(
    "counts, expected",
    [
        (
            {"a": 1000, "b": 100, "c": 99, "d": 10, "e": 9, "f": 0},
            {"a": "dominant", "b": "ok", "c": "rare", "d": "rare", "e": "severe", "f": "absent"},
        ),
        ({"a": 5, "b": 5, "c": 0}, {"a": "dominant", "b": "dominant", "c": "absent"}),
        ({"a": 0, "b": 0}, {"a": "absent", "b": "absent"}),
        ({}, {}),
    ],
)
def test_imbalance_verdicts(counts, expected):
    result = imbalance(counts)
    assert {name: v["verdict"] for name, v in result.items()} == expected
    top = max(counts.values(), default=0)
    for name, v in result.items():
        assert v["count"] == counts[name] and v["ratio"] == (counts[name] / top if top else 0.0)


@pytest.mark.parametrize(
    "counts, beta, expected",
    [
        # raw: a 0.5 / (1 - 0.5) = 1, b 0.5 / (1 - 0.25) = 2/3; mean 5/6 -> 1.2, 0.8
        ({"a": 1, "b": 2}, 0.5, {"a": 1.2, "b": 0.8}),
        ({"a": 1, "b": 2, "c": 0}, 0.5, {"a": 1.2, "b": 0.8, "c": 0.0}),  # absent: 0, not in the mean
        ({"a": 1, "b": 1000}, 0.0, {"a": 1.0, "b": 1.0}),  # beta 0: no reweighting
        ({"a": 3}, 0.9, {"a": 1.0}),
        ({"a": 0}, 0.9, {"a": 0.0}),
    ],
)
def test_class_weights_exact(counts, beta, expected):
    assert class_weights(counts, beta) == pytest.approx(expected)


def test_class_weights_saturate_for_huge_classes():
    weights = class_weights({"huge": 5_000_000, "big": 50_000, "rare": 10}, beta=0.999)
    present = np.array(list(weights.values()))
    assert present.mean() == pytest.approx(1.0)
    # Both large classes sit at the saturated 1 - beta; inverse frequency would put them 100x apart.
    assert weights["huge"] == pytest.approx(weights["big"], rel=1e-6)
    assert weights["rare"] / weights["huge"] == pytest.approx(1 / (1 - 0.999**10), rel=1e-9)


@pytest.mark.parametrize("beta", [1.0, -0.1, 2.0])
def test_class_weights_reject_bad_beta(beta):
    with pytest.raises(ValueError, match="beta must be in"):
        class_weights({"a": 1}, beta)


def test_present_classes_keep_the_distributions_order():
    from omr_core.validation.distribution import present_classes

    assert present_classes({"classes": ["a", "b", "c"], "totals": {"a": 3, "b": 0, "c": 1}}) == ["a", "c"]
