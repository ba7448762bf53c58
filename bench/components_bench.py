"""Connected components of linked boxes: omr_core.structures.graph.components (scipy.sparse.csgraph) against the
hand-written union-find it replaced, on the sizes the callers see (a page's seam parts and stems: tens to a few
thousand nodes; a staff-space estimate's column samples: up to ~10^5) and beyond.

    .venv/bin/python bench/components_bench.py
"""

from __future__ import annotations

import time

import numpy as np

from omr_core.structures.graph import components


def union_find(n: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The hand-written union-find with path halving that omr_core used before (smallest node as the label)."""
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


def best_ms(fn, *args, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'nodes':>8} {'links':>8} {'union-find ms':>14} {'csgraph ms':>11} {'speed-up':>9}")
    for n in (10, 100, 1_000, 10_000, 100_000):
        m = n  # as many links as nodes: chains and small clusters, as seams and columns give
        first, second = rng.integers(0, n, m), rng.integers(0, n, m)
        assert (components(n, first, second) == union_find(n, first, second)).all()
        slow, fast = best_ms(union_find, n, first, second), best_ms(components, n, first, second)
        print(f"{n:8,} {m:8,} {slow:14.3f} {fast:11.3f} {slow / fast:8.1f}x")


if __name__ == "__main__":
    main()
