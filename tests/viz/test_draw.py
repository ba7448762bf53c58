import base64
import io
import zlib

import numpy as np
import pytest
from PIL import Image

from omr_core.structures.detections import Detections
from omr_core.viz.draw import PALETTE_RGB, class_color, crop_zoom, draw_detections, hex_color, to_data_uri


def white(h: int = 100, w: int = 120) -> np.ndarray:
    return np.full((h, w, 3), 255, dtype=np.uint8)


@pytest.mark.parametrize(
    "name, expected_index",
    [
        ("brace", 0),  # catalogue id 1
        ("restHalf", (86 - 1) % 20),  # outside DISTINCT_CLASSES: by catalogue id
        ("stem", 6),  # DISTINCT_CLASSES: by its place there
        ("clefG", 7),
        ("ledgerLine", 14),  # the synonym gets legerLine's colour
        ("my own class", zlib.crc32(b"my own class") % 20),
    ],
)
def test_class_color_is_stable(name, expected_index):
    assert class_color(name) == PALETTE_RGB[expected_index]


def test_core_stage_classes_get_distinct_colours():
    names = ["noteheadBlackOnLine", "noteheadBlackInSpace", "noteheadHalfOnLine", "noteheadHalfInSpace",
             "noteheadWholeOnLine", "noteheadWholeInSpace", "stem", "clefG"]
    assert len({class_color(n) for n in names}) == len(names)
    assert len(set(PALETTE_RGB)) == len(PALETTE_RGB) == 20


def test_draw_detections_paints_box_outlines_in_the_class_colour():
    image = white()
    det = Detections([[10, 20, 50, 60], [70, 10, 100, 40]], [0, 1])
    out = draw_detections(image, det, ["stem", "clefG"], thickness=2)

    assert out.shape == image.shape and out.dtype == np.uint8
    assert (image == 255).all(), "the input must not be drawn on"
    assert tuple(out[20, 30]) == class_color("stem")  # top edge of box 0
    assert tuple(out[40, 10]) == class_color("stem")  # left edge of box 0
    assert tuple(out[10, 85]) == class_color("clefG")  # top edge of box 1
    assert tuple(out[40, 30]) == (255, 255, 255)  # inside, away from the outline
    assert tuple(out[90, 5]) == (255, 255, 255)  # outside every box
    changed = (out != 255).any(axis=2)
    assert changed[18:63, 8:53].sum() > 0 and not changed[65:, :].any()


def test_draw_detections_accepts_a_dict_of_names_grey_images_and_labels():
    grey = np.full((60, 60), 255, dtype=np.uint8)
    det = Detections([[5, 20, 40, 50]], [7], confidence=[0.91])
    out = draw_detections(grey, det, {7: "clefG"}, show_labels=True)
    assert out.shape == (60, 60, 3)
    assert tuple(out[50, 20]) == class_color("clefG")  # bottom edge
    assert (out[:20] != 255).any(), "the label is drawn above the box"


def test_draw_detections_rejects_non_uint8():
    with pytest.raises(ValueError, match="uint8"):
        draw_detections(np.zeros((10, 10, 3), dtype=np.float32), Detections.empty(), [])


@pytest.mark.parametrize(
    "xyxy, pad_px, scale, expected_shape",
    [
        ([40, 40, 50, 50], 5, 3.0, (60, 60, 3)),  # 20 x 20 crop, x3
        ([0, 0, 5, 5], 10, 2.0, (30, 30, 3)),  # clipped at the top-left corner: 15 x 15
        ([90, 95, 100, 100], 0, 1.0, (5, 10, 3)),
        ([10, 10, 90, 90], 0, 0.5, (40, 40, 3)),  # shrinking
    ],
)
def test_crop_zoom_shapes(xyxy, pad_px, scale, expected_shape):
    image = white(100, 100)
    assert crop_zoom(image, np.array(xyxy, dtype=float), pad_px, scale).shape == expected_shape


def test_crop_zoom_enlarges_without_blurring():
    image = white(100, 100)
    image[45, 45] = 0  # a one-pixel dot
    crop = crop_zoom(image, np.array([44.0, 44.0, 47.0, 47.0]), 0, 4.0)
    assert set(np.unique(crop).tolist()) == {0, 255}
    assert (crop[4:8, 4:8] == 0).all() and (crop == 0).sum() == 16 * 3


def test_crop_zoom_rejects_a_box_off_the_image():
    with pytest.raises(ValueError, match="overlap"):
        crop_zoom(white(), np.array([500.0, 500.0, 510.0, 510.0]), 2, 2.0)


def decode(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_to_data_uri_jpeg_with_max_width():
    uri = to_data_uri(white(200, 400), max_width=100)
    assert uri.startswith("data:image/jpeg;base64,")
    assert decode(uri).size == (100, 50)


def test_to_data_uri_png_is_lossless():
    image = (np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8)
    uri = to_data_uri(image, fmt="png")
    assert uri.startswith("data:image/png;base64,")
    np.testing.assert_array_equal(np.asarray(decode(uri)), image)
    assert decode(to_data_uri(image, fmt="png", max_width=60)).size == (30, 20)  # never enlarged


def test_to_data_uri_rejects_unknown_format():
    with pytest.raises(ValueError, match="fmt"):
        to_data_uri(white(), fmt="gif")


def test_the_classes_users_look_at_most_have_distinct_colours():
    from omr_core.viz.draw import DISTINCT_CLASSES, class_color

    assert len({class_color(n) for n in DISTINCT_CLASSES}) == len(DISTINCT_CLASSES)
    assert class_color("ledgerLine") == class_color("legerLine")


def test_the_legend_lists_each_class_with_its_colour_and_count():
    from omr_core.viz.draw import legend_table

    legend = legend_table(["stem", "clefG", "stem"], ["clefG", "noteheadBlackOnLine", "stem"])
    assert list(legend["class"]) == ["stem", "clefG", "noteheadBlackOnLine"] and list(legend["boxes"]) == [2, 1, 0]
    assert legend["colour"].iloc[0] == hex_color(class_color("stem"))
