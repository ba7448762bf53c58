"""System finding on engraved pages (against their staff boxes) and on a real phone photo."""

import numpy as np
import pytest

from omr_core.annotation.systems import find_staves, find_systems, grid_crops
from omr_core.formats.deepscores import DeepScoresReader
from omr_core.formats.images import read_image
from tests.conftest import DATA


def test_every_staff_of_an_engraved_page_lies_in_exactly_one_system(engraved):
    for record in DeepScoresReader(engraved / "deepscores_train.json").records():
        image = read_image(engraved / "images" / record.file_name)
        staves = record.detections.xyxy[np.array(record.class_names) == "staff"]
        systems = np.array(find_systems(image))
        assert len(find_staves(image)) == len(staves) > 0
        inside = (systems[None, :, 1] <= staves[:, None, 1]) & (staves[:, None, 3] <= systems[None, :, 3]) & \
            (systems[None, :, 0] <= staves[:, None, 0] + 2) & (staves[:, None, 2] <= systems[None, :, 2] + 2)
        assert (inside.sum(axis=1) == 1).all(), record.file_name
        assert np.all(systems[1:, 1] >= systems[:-1, 3]), "systems overlap"
        assert len(systems) < len(staves)  # the chorale's four voices, the rag's two hands: joined by barlines


def test_a_phone_photo_gives_most_of_its_staves():
    image = read_image(DATA / "real_scans" / "tabi.jpg")  # 4 systems of 2 staves, photographed at a slant
    assert len(find_staves(image)) >= 7
    systems = find_systems(image)
    assert len(systems) == 4 and all(x1 - x0 > 0.8 * image.shape[1] for x0, _, x1, _ in systems[:2])


def test_a_blank_page_has_no_system_and_falls_back_to_crops():
    blank = np.full((1000, 800, 3), 255, np.uint8)
    assert find_systems(blank) == []
    crops = grid_crops((800, 1000), size=500, overlap=100)
    assert crops[0] == (0, 0, 500, 500) and crops[-1] == (300, 500, 800, 1000)


@pytest.mark.parametrize("shape", [(40, 40), (2000, 30)])
def test_tiny_or_thin_images_do_not_fail(shape):
    assert find_systems(np.full((*shape, 3), 255, np.uint8)) == []
