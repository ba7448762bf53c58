"""The box index of a converted dataset: written once, read for the gallery, the counts and the page's pickers."""

import numpy as np
import pytest

from omr_core.datasets.index import DatasetIndex, read_class_counts, write_index
from omr_core.formats.yolo import write_data_yaml

NAMES = ["noteheadBlackOnLine", "stem", "clefG"]


def part(image: str, split: str, class_ids: list[int]) -> dict[str, np.ndarray]:
    n = len(class_ids)
    return {"image": np.array([image] * n), "split": np.array([split] * n), "image_w": np.full(n, 100),
            "image_h": np.full(n, 80), "class_id": np.array(class_ids), "x0": np.arange(n, dtype=float),
            "y0": np.zeros(n), "x1": np.arange(n, dtype=float) + 5, "y1": np.full(n, 5.0)}


@pytest.fixture
def dataset(tmp_path):
    write_data_yaml(tmp_path, NAMES, ["train", "val"])
    write_index(tmp_path, [part("a.png", "train", [0, 0, 2]), part("b.png", "val", [2])], NAMES)
    return tmp_path


def test_the_index_reads_back_classes_splits_counts_and_boxes(dataset):
    index = DatasetIndex.open(dataset)
    assert index.classes() == ["clefG", "noteheadBlackOnLine"]  # stem has no box
    assert index.splits() == ["train", "val"] and index.images("val") == ["b.png"]
    assert index.class_counts("train") == {"noteheadBlackOnLine": 2, "clefG": 1}
    assert index.images_with_class("clefG") == ["a.png", "b.png"]
    boxes = index.detections("a.png")
    assert boxes.class_id.tolist() == [0, 0, 2] and boxes.xyxy.tolist()[1] == [1.0, 0.0, 6.0, 5.0]


def test_class_counts_of_all_splits_keep_every_class_of_the_set(dataset, tmp_path):
    counts = read_class_counts(dataset)
    assert counts.to_dict() == {"noteheadBlackOnLine": 2, "clefG": 2, "stem": 0}
    assert read_class_counts(tmp_path / "no such set") is None


def test_a_dataset_without_an_index_says_how_to_make_one(tmp_path):
    write_data_yaml(tmp_path, NAMES, ["train"])
    with pytest.raises(FileNotFoundError, match="no index.parquet; convert the dataset"):
        DatasetIndex.open(tmp_path)
