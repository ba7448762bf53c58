import numpy as np
import pytest

from omr_core.structures import Detections


def make(n=3, conf=False):
    xyxy = np.arange(n * 4, dtype=float).reshape(n, 4)
    return Detections(xyxy, np.arange(n), np.linspace(0.1, 0.9, n) if conf else None, {"ann_id": np.array([f"a{i}" for i in range(n)])})


def test_mask_selects_every_field():
    d = make(3, conf=True)
    sub = d[d.confidence > 0.4]
    assert len(sub) == 2
    assert sub.data["ann_id"].tolist() == ["a1", "a2"]
    assert sub.class_id.tolist() == [1, 2]


def test_merge_and_empty():
    merged = Detections.merge([make(2), make(3)])
    assert len(merged) == 5 and merged.data["ann_id"].tolist()[2] == "a0"
    assert len(Detections.empty()) == 0


def test_merge_refuses_mixed_fields():
    with pytest.raises(ValueError, match="different fields"):
        Detections.merge([make(2, conf=True), make(2)])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(xyxy=np.zeros((2, 3)), class_id=np.zeros(2)), r"xyxy must be a 2D array of shape \(n, 4\), but got shape \(2, 3\)"),
        (dict(xyxy=np.zeros((2, 4)), class_id=np.zeros(3)), r"class_id must have shape \(2,\)"),
        (dict(xyxy=np.zeros((2, 4)), class_id=np.zeros(2), confidence=np.zeros(1)), r"confidence must have shape \(2,\)"),
        (dict(xyxy=np.zeros((2, 4)), class_id=np.zeros(2), data={"x": np.zeros(5)}), r"data\['x'\] must have 2 rows"),
    ],
)
def test_validation_messages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Detections(**kwargs)


def test_wh():
    d = Detections(np.array([[1.0, 2, 4, 8]]), [0])
    assert d.wh.tolist() == [[3, 6]]
