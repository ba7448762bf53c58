"""Seeded train/val split by page group: a page, and every page of its group, lives in exactly one split."""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")


def in_split_order(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(split, count) pairs in the order train, val, test, then any other split by name."""
    return sorted(counts.items(), key=lambda kv: (SPLITS.index(kv[0]) if kv[0] in SPLITS else len(SPLITS), kv[0]))


def split_groups(groups: list[str], val_fraction: float, seed: int = 0) -> dict[str, str]:
    """Assign each distinct group to "train" or "val".

    The groups are sorted before the seeded shuffle, so the result depends only on the set of groups and the
    seed, not on reading order. With two or more groups and val_fraction > 0, val gets at least one group and
    train keeps at least one.

    Returns:
        group -> split name.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), but got {val_fraction}")
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    n_val = int(round(val_fraction * len(unique)))
    if val_fraction > 0 and len(unique) >= 2:
        n_val = min(max(n_val, 1), len(unique) - 1)
    val = {unique[i] for i in order[:n_val]}
    return {g: "val" if g in val else "train" for g in unique}
