"""Class-balanced sampling for a training stage: an image list (with repeats) that gives every class at least
`min_instances` boxes where the data allows (the plan: 500).

Rule (repeat-factor sampling with a floor, after LVIS's; Gupta et al., 2019):
- each class c with n_c boxes in the training images wants r_c = ceil(min_instances / n_c) repeats, at most
  `max_repeat` (a class with 3 boxes in the whole set cannot become 500 without learning those 3 by heart);
- an image is listed max(r_c) times over the classes it holds (at least once);
- `boost` (class -> factor, e.g. from an evaluation's "oversample X" suggestion) multiplies that class's wanted
  count and its repeat cap;
- thinning: an image whose every class has at least `thin_above` boxes in the list is kept with probability
  `thin_keep` (seeded). `thin_keep * thin_above >= min_instances` is required, so thinning can never take a
  class below the minimum it was given.
Ultralytics reads a text file of image paths as a split, so the list is written as one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Balance:
    min_instances: int = 500
    max_repeat: int = 10
    thin_above: int = 20_000
    thin_keep: float = 0.5
    seed: int = 0
    boost: dict = field(default_factory=dict)  # class name -> factor on its wanted count and repeat cap

    def __post_init__(self):
        if self.thin_keep * self.thin_above < self.min_instances:
            raise ValueError(f"thin_keep x thin_above must be >= min_instances ({self.min_instances}), but got "
                             f"{self.thin_keep} x {self.thin_above}")


@dataclass
class BalancedList:
    indices: np.ndarray  # (k,) int64 image indices, repeats included
    before: dict[str, int]  # boxes per class in the plain list
    after: dict[str, int]  # boxes per class in the balanced list
    short: dict[str, int]  # classes still under min_instances: their count (the data does not allow more)


def balance_images(image_classes: list[Counter], balance: Balance = Balance()) -> BalancedList:
    """The balanced image list. `image_classes[i]` counts the boxes of each class in image i."""
    before: Counter = Counter()
    for counts in image_classes:
        before.update(counts)
    boost = {c: float(balance.boost.get(c, 1.0)) for c in before}
    repeat = {c: min(int(balance.max_repeat * boost[c]), max(1, int(np.ceil(balance.min_instances * boost[c] / n))))
              for c, n in before.items() if n}
    factors = np.array([max((repeat[c] for c in counts), default=1) for counts in image_classes], dtype=np.int64)
    listed: Counter = Counter()
    for counts, factor in zip(image_classes, factors):
        for c, n in counts.items():
            listed[c] += n * factor
    rng = np.random.default_rng(balance.seed)
    thin = np.array([bool(counts) and all(listed[c] >= balance.thin_above for c in counts) for counts in image_classes])
    drop = thin & (rng.random(len(image_classes)) >= balance.thin_keep)
    factors[drop] = 0
    indices = np.repeat(np.arange(len(image_classes)), factors)
    after: Counter = Counter()
    for i in np.flatnonzero(factors):
        for c, n in image_classes[i].items():
            after[c] += int(n * factors[i])
    short = {c: after[c] for c in before if after[c] < balance.min_instances}
    return BalancedList(indices, {c: int(n) for c, n in before.items()}, dict(after), short)


def write_image_list(path: Path, images: list[str], balanced: BalancedList) -> Path:
    """The list as Ultralytics reads it: one image path a line."""
    path.write_text("".join(f"{images[i]}\n" for i in balanced.indices))
    return path
