"""Connected components of boxes linked pairwise (joined seam parts, chord columns, stems, staff samples)."""

from __future__ import annotations

import numpy as np


def components(n: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The component of each of `n` nodes, where node `first[k]` is linked to node `second[k]`.

    Args:
        n: the number of nodes (0 .. n-1).
        first, second: (m,) int node indices of the m links (either order; repeats and self-links are fine).

    Returns:
        (n,) int64: each node's label, the smallest node of its component (a node linked to nothing is its own).
    """
    first, second = np.asarray(first, dtype=np.int64).reshape(-1), np.asarray(second, dtype=np.int64).reshape(-1)
    if first.shape != second.shape:
        raise ValueError(f"first and second must be the same length, but got {len(first)} and {len(second)}")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # imported here: scipy.sparse takes ~0.25 s to load, which every importer of the staff package (the CLI
    # among them) paid at start-up
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    graph = coo_array((np.ones(len(first), dtype=np.int8), (first, second)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    # the first index at which a label occurs is the smallest node of its component
    _, smallest = np.unique(label, return_index=True)
    return smallest[label].astype(np.int64)
