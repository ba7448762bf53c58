"""`median` gives np.median's values, over everything or along an axis."""

import numpy as np
import pytest

from omr_core.structures.stats import median


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11])
def test_the_same_values_as_numpy(n):
    rng = np.random.default_rng(n)
    values = rng.normal(size=(n, 7)).astype(np.float32)
    assert median(values) == np.median(values)
    assert np.array_equal(median(values, axis=0), np.median(values, axis=0))
    assert np.array_equal(median(values.T, axis=1), np.median(values.T, axis=1))
    assert median(values[:, 0].tolist()) == np.median(values[:, 0].tolist())


def test_no_values_is_an_error():
    with pytest.raises(ValueError, match="no values"):
        median([])
