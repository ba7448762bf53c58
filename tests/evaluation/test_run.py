"""Evaluating under bad conditions: a model that predicts nothing scores zeros, and an unreadable image is
skipped and counted while the others are evaluated."""

from pathlib import Path

import numpy as np
import pytest

from omr_core.datasets.convert import ConvertConfig, convert_deepscores
from omr_core.evaluation.run import evaluate, load_evaluation
from omr_core.formats.yolo import read_data_yaml
from omr_core.structures.detections import Detections


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, drawn_source):
    out = tmp_path_factory.mktemp("eval") / "set"
    convert_deepscores(ConvertConfig(source=str(drawn_source), output=str(out), class_set="3.1", sample_size=0))
    return out


class Fixed:
    """A detector that answers with given boxes per image (a trained model's part, without the model)."""

    staff_space_px = None  # a model that records no staff space: every image is read at its own scale

    def __init__(self, names, answer):
        self.names, self.answer, self.conf, self.card, self.model_path = names, answer, 0.25, {}, Path("m.onnx")

    def run(self, image, staff_space_px=None):
        from omr_core.inference.detector import DetectionRun
        from omr_core.formats.images import read_image
        from omr_core.staff.rescale import native

        pixels = read_image(image)  # as the real detector: an unreadable image raises ImageInputError
        wh = (pixels.shape[1], pixels.shape[0])
        return DetectionRun(self.answer(Path(image)), wh, np.zeros((0, 4)), {}, native(wh, "test"), 0)


def test_a_model_that_predicts_nothing_scores_zeros(dataset, tmp_path):
    names = read_data_yaml(dataset)["names"]
    nothing = Fixed(names, lambda _: Detections(np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0)))
    summary = evaluate(nothing, dataset, "train", tmp_path / "e")
    assert summary["mAP50"] == 0 and summary["mAP50-95"] == 0
    gt = sum(row["gt"] for row in summary["per_class"])
    assert gt > 0 and sum(row["FN"] for row in summary["per_class"]) == gt  # every box missed, none lost
    _, boxes = load_evaluation(tmp_path / "e")
    assert (boxes["verdict"] == "FN").sum() == gt


def test_an_unreadable_image_is_skipped_and_counted(dataset, tmp_path):
    import shutil

    broken = tmp_path / "set"
    shutil.copytree(dataset, broken)
    spec = (broken / "data.yaml").read_text().replace(str(dataset.resolve()), str(broken.resolve()))
    (broken / "data.yaml").write_text(spec)  # data.yaml names its folder: the copy's own
    images = sorted((broken / "images" / "train").glob("*.png"))
    images[0].write_bytes(images[0].read_bytes()[:200])  # cut: its pixels cannot be decoded
    images[1].write_bytes(b"not an image")  # not even its size
    names = read_data_yaml(broken)["names"]
    one_box = Fixed(names, lambda _: Detections(np.array([[10.0, 10, 20, 20]]), np.array([0]), np.array([0.9])))
    summary = evaluate(one_box, broken, "train", tmp_path / "e")
    assert sorted(s["image"] for s in summary["skipped"]) == sorted([images[0].name, images[1].name])
    assert all(str(broken) in s["reason"] or s["image"] in s["reason"] for s in summary["skipped"])
    assert summary["images"] == len(images) - 2  # the others were evaluated
