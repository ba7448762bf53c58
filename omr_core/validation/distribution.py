"""Class distribution: counts per split and class, box sizes in staff spaces, imbalance and class weights.

Sizes are measured in staff spaces (the distance between two staff lines) rather than pixels, because the
same symbol is drawn at very different pixel sizes across engravings and scans, while its size relative to
the staff is what a detector has to learn (a notehead is about one staff space tall everywhere).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from omr_core.structures.record import ImageRecord

STAFF_CLASS = "staff"
RESERVOIR_SIZE = 2000  # samples kept per class: box plots need hundreds, and 136 classes x 2000 x 2 stay small
PERCENTILES = {"p5": 5.0, "median": 50.0, "p95": 95.0}

# Imbalance verdicts: a class's count divided by the most frequent class's count.
OK_RATIO = 0.1  # within one order of magnitude of the largest class: plain training copes
RARE_RATIO = 0.01  # one to two orders below: worth a weighted loss or oversampling; below this: severe


def staff_space_px(record: ImageRecord) -> float:
    """Staff space of a page in pixels, NaN when unknown.

    DeepScoresV2 `staff` boxes span the five lines, i.e. four staff spaces (plus one line's thickness, which
    makes this ~3 % high: negligible for size statistics). The median over the page's staves ignores the odd
    broken one. Without a staff box, `record.meta["staff_space_px"]` is used (e.g. measured before the
    converter dropped the `staff` class), else NaN.
    """
    staff_ids = [i for i, name in record.categories.items() if name == STAFF_CLASS]
    if staff_ids:
        det = record.detections
        staff_xyxy = det.xyxy[np.isin(det.class_id, staff_ids)]
        heights = staff_xyxy[:, 3] - staff_xyxy[:, 1]
        heights = heights[np.isfinite(heights) & (heights > 0)]
        if len(heights):
            return float(np.median(heights)) / 4.0
    return float(record.meta.get("staff_space_px", math.nan))


class _Reservoir:
    """A uniform sample of at most `size` (width, height) pairs from a stream (Vitter's algorithm R)."""

    def __init__(self, size: int):
        self.size = size
        self.seen = 0
        self.values = np.zeros((0, 2), dtype=np.float64)

    def add(self, values: np.ndarray, rng: np.random.Generator) -> None:
        """values: (k, 2) float64."""
        k = len(values)
        free = max(0, min(self.size - len(self.values), k))
        if free:
            self.values = np.concatenate([self.values, values[:free]])
        rest = values[free:]
        if len(rest):
            # Item number t (0-based over the whole stream) replaces a random slot with probability size/(t+1).
            t = self.seen + free + np.arange(len(rest))
            slot = (rng.random(len(rest)) * (t + 1)).astype(np.int64)
            take = np.flatnonzero(slot < self.size)
            # Sequentially, a later item overwriting the same slot wins: keep each slot's last writer only.
            slots = slot[take][::-1]
            _, last = np.unique(slots, return_index=True)
            chosen = take[::-1][last]
            self.values[slot[chosen]] = rest[chosen]
        self.seen += k


class DistributionAccumulator:
    """Accumulates class statistics over a stream of pages, with bounded memory.

    Example:
        acc = DistributionAccumulator()
        for record in records:
            acc.add(record, split="train")
        summary = acc.to_dict()
    """

    def __init__(self, max_samples: int = RESERVOIR_SIZE, seed: int = 0):
        if max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, but got {max_samples}")
        self.max_samples = max_samples
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.classes: set[str] = set()
        self.pages: dict[str, int] = defaultdict(int)
        self.boxes: dict[str, int] = defaultdict(int)
        self.pages_without_staff_space: dict[str, int] = defaultdict(int)
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.pages_with_class: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._sizes: dict[str, _Reservoir] = {}

    def add(self, record: ImageRecord, split: str, staff_space: float | None = None) -> None:
        """Count one page.

        Args:
            record: the page; class names come from `record.categories` (every category counts as a class,
                so one that never occurs shows up with count 0).
            split: "train", "val", ...
            staff_space: the page's staff space in px; default `staff_space_px(record)`. Pass it when the
                record no longer holds its `staff` boxes (measure before filtering classes).
        """
        self.classes.update(record.categories.values())
        self.pages[split] += 1
        det = record.detections
        self.boxes[split] += len(det)
        if not len(det):
            return
        ids, inverse, counts = np.unique(det.class_id, return_inverse=True, return_counts=True)
        names = [record.categories.get(int(i), f"<unknown {int(i)}>") for i in ids]
        self.classes.update(names)
        for name, count in zip(names, counts.tolist()):
            self.counts[split][name] += count
            self.pages_with_class[split][name] += 1

        space = staff_space_px(record) if staff_space is None else float(staff_space)
        if not (np.isfinite(space) and space > 0):
            self.pages_without_staff_space[split] += 1
            return
        wh = det.wh / space
        order = np.argsort(inverse.ravel(), kind="stable")
        bounds = np.cumsum(counts)[:-1]
        for name, rows in zip(names, np.split(order, bounds)):
            self._sizes.setdefault(name, _Reservoir(self.max_samples)).add(wh[rows], self._rng)

    def totals(self) -> dict[str, int]:
        """Class name -> count over all splits (every class seen, 0 included)."""
        out = {name: 0 for name in self.classes}
        for per_class in self.counts.values():
            for name, count in per_class.items():
                out[name] += count
        return out

    def to_dict(self) -> dict:
        """A JSON-serialisable summary.

        Returns:
            {
              "splits": [split, ...],                      # in the order first seen
              "classes": [name, ...],                      # by total count, descending, then by name
              "pages": {split: int}, "boxes": {split: int},
              "pages_without_staff_space": {split: int},   # their boxes are counted but not sized
              "counts": {split: {class: int}},             # every class, 0 included
              "pages_with_class": {split: {class: int}},
              "totals": {class: int},
              "size_staff_spaces": {class: {
                  "n": int,                                # boxes measured (with a known staff space)
                  "width": {"p5", "median", "p95"},        # float, or None without samples
                  "height": {...},
                  "width_samples": [float], "height_samples": [float]}},  # the reservoir, <= max_samples
              "max_samples": int, "seed": int,
            }
        Percentiles are estimated from the reservoir (exact while a class has <= max_samples boxes).
        """
        totals = self.totals()
        classes = sorted(totals, key=lambda name: (-totals[name], name))
        splits = list(self.pages)
        sizes = {}
        for name in classes:
            reservoir = self._sizes.get(name)
            values = reservoir.values if reservoir is not None else np.zeros((0, 2))
            entry: dict = {"n": reservoir.seen if reservoir is not None else 0}
            for column, axis in enumerate(("width", "height")):
                samples = values[:, column]
                entry[axis] = {
                    key: (round(float(np.percentile(samples, q)), 4) if len(samples) else None)
                    for key, q in PERCENTILES.items()
                }
                entry[f"{axis}_samples"] = np.round(samples, 4).tolist()
            sizes[name] = entry
        return {
            "splits": splits,
            "classes": classes,
            "pages": {s: self.pages[s] for s in splits},
            "boxes": {s: self.boxes[s] for s in splits},
            "pages_without_staff_space": {s: self.pages_without_staff_space[s] for s in splits},
            "counts": {s: {c: self.counts[s].get(c, 0) for c in classes} for s in splits},
            "pages_with_class": {s: {c: self.pages_with_class[s].get(c, 0) for c in classes} for s in splits},
            "totals": {c: totals[c] for c in classes},
            "size_staff_spaces": sizes,
            "max_samples": self.max_samples,
            "seed": self.seed,
        }


def present_classes(distribution: dict) -> list[str]:
    """The classes of a `DistributionAccumulator.to_dict()` that have at least one box, in its order."""
    return [c for c in distribution["classes"] if distribution["totals"].get(c, 0) > 0]


def imbalance(counts: dict[str, int]) -> dict[str, dict]:
    """Judge each class against the most frequent one.

    ratio = count / max(count). Verdicts: "dominant" (the most frequent; ties share it), "ok" (ratio >= 0.1),
    "rare" (0.01 <= ratio < 0.1), "severe" (0 < ratio < 0.01), "absent" (count 0). One order of magnitude
    below the top is what plain training absorbs; two orders below, a class barely moves the loss.

    Returns:
        class -> {"count": int, "ratio": float, "verdict": str}, in the input's order.
    """
    top = max(counts.values(), default=0)
    out = {}
    for name, count in counts.items():
        ratio = count / top if top > 0 else 0.0
        if count <= 0:
            verdict = "absent"
        elif count == top:
            verdict = "dominant"
        elif ratio >= OK_RATIO:
            verdict = "ok"
        elif ratio >= RARE_RATIO:
            verdict = "rare"
        else:
            verdict = "severe"
        out[name] = {"count": int(count), "ratio": float(ratio), "verdict": verdict}
    return out


def class_weights(counts: dict[str, int], beta: float = 0.999) -> dict[str, float]:
    """Class-balanced loss weights from the effective number of samples (Cui et al., CVPR 2019).

        E_n = (1 - beta**n) / (1 - beta),   w_c = 1 / E_{n_c} = (1 - beta) / (1 - beta**n_c),

    then normalised so the mean weight over present classes is 1; absent classes (n_c = 0) get 0. Why not
    inverse frequency: extra samples of a class add less and less new information, so E_n saturates at
    1 / (1 - beta) (1000 for beta = 0.999); a class with a million boxes is not weighted 100 000 times below
    one with ten, which would blow up the rare classes' gradients. beta = 0 gives equal weights; beta -> 1
    approaches inverse frequency.

    Returns:
        class -> weight, in the input's order.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), but got {beta}")
    names = list(counts)
    n = np.array([counts[name] for name in names], dtype=np.float64)
    present = n > 0
    weights = np.zeros(len(names))
    # -expm1(n * log(beta)) = 1 - beta**n, without cancellation for beta close to 1.
    weights[present] = (1.0 - beta) / -np.expm1(n[present] * np.log(beta)) if beta > 0 else 1.0
    if present.any():
        weights[present] /= weights[present].mean()
    return {name: float(w) for name, w in zip(names, weights)}
