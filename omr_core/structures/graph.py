"""Connected components of boxes linked pairwise (joined seam parts, chord columns)."""

from __future__ import annotations

import numpy as np


def components(n: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(n,) label of each node: the smallest node of its component, where `first[k]` and `second[k]` are
    linked. Union-find with path halving; a node linked to nothing is its own label."""
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(np.asarray(first).tolist(), np.asarray(second).tolist()):
        root_i, root_j = find(i), find(j)
        if root_i != root_j:
            parent[max(root_i, root_j)] = min(root_i, root_j)
    return np.array([find(i) for i in range(n)], dtype=np.int64)
