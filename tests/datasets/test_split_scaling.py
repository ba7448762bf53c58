from collections import Counter

import pytest

from omr_core.datasets.scaling import SCALE_PRESETS, class_mix_distance, select_pages
from omr_core.datasets.split import split_groups


def test_split_is_seeded_and_order_free():
    groups = [f"g{i}" for i in range(50)]
    a = split_groups(groups, 0.2, seed=1)
    assert a == split_groups(list(reversed(groups)) + groups, 0.2, seed=1)
    assert a != split_groups(groups, 0.2, seed=2)
    assert Counter(a.values()) == {"train": 40, "val": 10}


@pytest.mark.parametrize("n, fraction, n_val", [(2, 0.1, 1), (1, 0.5, 0), (10, 0.0, 0), (3, 0.9, 2)])
def test_split_keeps_both_sides_when_possible(n, fraction, n_val):
    assert Counter(split_groups([str(i) for i in range(n)], fraction).values())["val"] == n_val


def test_split_rejects_bad_fraction():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        split_groups(["a"], 1.0)


def _pages():
    pages = {f"p{i:03d}": Counter({"noteheadBlackOnLine": 100, "stem": 90}) for i in range(300)}
    for i in range(0, 300, 50):  # 6 pages hold the rare class
        pages[f"p{i:03d}"]["restHalf"] = 1
    pages["p001"]["accidentalDoubleFlat"] = 1  # one page holds a very rare class
    return pages


def test_cap_keeps_rare_classes_and_the_mix():
    pages = _pages()
    chosen = select_pages(pages, 30, seed=0)
    assert len(chosen) == 30
    held = Counter(name for p in chosen for name in pages[p])
    assert held["accidentalDoubleFlat"] == 1  # the only page with it survives
    assert held["restHalf"] >= 1
    assert class_mix_distance(pages, chosen) < 0.01
    assert select_pages(pages, 30, seed=0) == chosen and select_pages(pages, 30, seed=5) != chosen


def test_cap_larger_than_source_takes_all():
    assert len(select_pages(_pages(), 1000)) == 300


def test_presets_are_the_plans_sizes():
    assert SCALE_PRESETS == {"pilot": 1_000, "development": 10_000, "production": 100_000}


def test_splits_are_listed_train_val_test_then_the_others():
    from omr_core.datasets.split import in_split_order

    assert in_split_order({"test": 1, "extra": 4, "train": 2, "val": 3}) == [("train", 2), ("val", 3), ("test", 1),
                                                                              ("extra", 4)]
