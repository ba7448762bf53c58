"""Progressive dataset scaling: take at most N pages while keeping the class mix (the plan's pilot /
development / production sizes).

Method (stratified by rarest class): each page joins the stratum of the rarest class it holds (rarest by the
number of pages holding it over the whole source). Every stratum first gives one page, rarest strata first,
while the budget allows; the rest of the budget goes page by page to the stratum furthest below its share
(its size in proportion). Pages within a stratum are drawn with a seeded shuffle. Pages holding rare classes therefore cannot all be left out by chance, and the
frequent classes, which are on almost every page, keep their share.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

# The plan's sizes (Phase "Progressive Dataset Scaling"), as page counts.
SCALE_PRESETS = {"pilot": 1_000, "development": 10_000, "production": 100_000}


def select_pages(page_classes: dict[str, Counter], max_pages: int, seed: int = 0) -> set[str]:
    """Choose at most `max_pages` page ids.

    Args:
        page_classes: page id -> instance count per class name.
    """
    if max_pages <= 0:
        raise ValueError(f"max_pages must be positive, but got {max_pages}")
    pages = sorted(page_classes)
    if len(pages) <= max_pages:
        return set(pages)
    pages_holding = Counter(name for page in pages for name in page_classes[page])
    strata: dict[str, list[str]] = {}
    for page in pages:
        held = page_classes[page]
        rarest = min(held, key=lambda name: (pages_holding[name], name)) if held else ""
        strata.setdefault(rarest, []).append(page)
    rng = np.random.default_rng(seed)
    order = sorted(strata, key=lambda name: (pages_holding.get(name, 0), name))
    # one page per stratum first, rarest first, while the budget lasts; the rest in proportion to size
    take = {name: 0 for name in order}
    for name in order[:max_pages]:
        take[name] = 1
    share = {name: max_pages * len(strata[name]) / len(pages) for name in order}
    for _ in range(max_pages - sum(take.values())):
        open_strata = [name for name in order if take[name] < len(strata[name])]
        neediest = max(open_strata, key=lambda name: (share[name] - take[name], -order.index(name)))
        take[neediest] += 1
    chosen: set[str] = set()
    for name in order:
        members = strata[name]
        chosen.update(members[i] for i in rng.permutation(len(members))[: take[name]])
    return chosen


def class_mix_distance(page_classes: dict[str, Counter], chosen: set[str]) -> float:
    """Total variation distance between the class proportions of all pages and of the chosen ones (0..1)."""
    full, part = Counter(), Counter()
    for page, counts in page_classes.items():
        full.update(counts)
        if page in chosen:
            part.update(counts)
    names = sorted(full)
    p = np.array([full[n] for n in names], dtype=np.float64)
    q = np.array([part[n] for n in names], dtype=np.float64)
    if p.sum() == 0 or q.sum() == 0:
        return 0.0 if p.sum() == q.sum() else 1.0
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def resolve_max_pages(value: str | int | None) -> int | None:
    """A page count or a preset name (pilot / development / production): the page cap `--max-pages` takes."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and not value.isdigit():
        if value not in SCALE_PRESETS:
            raise ValueError(f"max pages must be a number or one of {list(SCALE_PRESETS)}, but got {value!r}")
        return SCALE_PRESETS[value]
    return int(value)
