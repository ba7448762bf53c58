"""`median`: np.median's values by partition, without its per-call checks.

The staff finder and the ink's thin symbols take medians of a few to a few hundred numbers, hundreds of times a
page; np.median's own overhead (~50 us a call) cost more than the work. The values are np.median's (the middle
one, or the mean of the two middle ones), for inputs without NaN.
"""

from __future__ import annotations

import numpy as np


def median(values, axis: int | None = None):
    """The median of `values` (over all of them, or along `axis`); a float, or an array along `axis`."""
    values = np.asarray(values)
    if axis is None:
        values = values.ravel()
        axis = 0
    n = values.shape[axis]
    if n == 0:
        raise ValueError("median of no values")
    k = n // 2
    if n % 2:
        return np.take(np.partition(values, k, axis=axis), k, axis=axis)
    part = np.partition(values, (k - 1, k), axis=axis)
    return (np.take(part, k - 1, axis=axis) + np.take(part, k, axis=axis)) / 2
