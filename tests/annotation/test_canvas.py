"""Page <-> canvas: boxes survive the round trip exactly, edits on the canvas land where they were drawn."""

import numpy as np
import pytest

from omr_core.annotation.canvas import class_names, from_canvas, replace_in_crop, to_canvas
from omr_core.structures.detections import Detections

NAMES = class_names()
HEAD, STEM = NAMES.index("noteheadBlackOnLine"), NAMES.index("stem")
CROP = (100, 400, 1700, 900)


@pytest.mark.parametrize("zoom", [1.0, 2.0, 2.5, 3.0])
def test_page_boxes_round_trip_through_the_canvas(zoom):
    rng = np.random.default_rng(int(zoom * 10))
    xy = rng.uniform([120, 420], [1600, 850], (40, 2))
    page = Detections(np.column_stack([xy, xy + rng.uniform(2, 40, (40, 2))]), rng.choice([HEAD, STEM], 40),
                      rng.uniform(0, 1, 40))
    drawing = to_canvas(page, NAMES, CROP, zoom)
    back, unknown = from_canvas(drawing, NAMES, CROP, zoom)
    assert not unknown and np.allclose(back.xyxy, page.xyxy) and np.array_equal(back.class_id, page.class_id)
    low = [o for o in drawing["objects"] if o["confidence"] < 0.5]
    assert low and all(o["strokeDashArray"] for o in low)  # the ones to check first are marked


def test_boxes_outside_the_crop_stay_off_the_canvas():
    page = Detections(np.array([[150, 450, 170, 470], [150, 950, 170, 970]], float), [HEAD, HEAD])
    assert len(to_canvas(page, NAMES, CROP, 2.0)["objects"]) == 1


def test_a_moved_and_resized_box_is_read_with_its_scale_and_origin():
    drawing = {"objects": [
        {"type": "LabeledRect", "label": "stem", "left": 50, "top": 20, "width": 10, "height": 40,
         "scaleX": 1.5, "scaleY": 2, "originX": "center", "originY": "top"},
        {"type": "LabeledRect", "label": "notAClass", "left": 0, "top": 0, "width": 5, "height": 5},
        {"type": "path", "path": []},
    ]}
    boxes, unknown = from_canvas(drawing, NAMES, CROP, 2.0)
    assert unknown == ["notAClass"] and boxes.class_id.tolist() == [STEM]
    assert boxes.xyxy.tolist() == [[100 + 42.5 / 2, 400 + 10, 100 + 57.5 / 2, 400 + 50]]


def test_editing_a_crop_replaces_only_its_boxes():
    page = Detections(np.array([[150, 450, 170, 470], [150, 950, 170, 970]], float), [HEAD, HEAD])
    edited = Detections(np.array([[300, 500, 303, 560]], float), [STEM])
    after = replace_in_crop(page, edited, CROP)
    assert after.xyxy.tolist() == [[150, 950, 170, 970], [300, 500, 303, 560]] and after.class_id.tolist() == [HEAD, STEM]
