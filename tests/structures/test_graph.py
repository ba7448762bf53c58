import numpy as np

from omr_core.structures.graph import components


def test_components_are_labelled_by_their_smallest_node():
    labels = components(7, np.array([5, 1, 3]), np.array([3, 2, 6]))
    assert labels.tolist() == [0, 1, 1, 3, 4, 3, 3]
    assert components(3, np.zeros(0, int), np.zeros(0, int)).tolist() == [0, 1, 2]
