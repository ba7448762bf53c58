import base64
import html
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from omr_core.structures.detections import Detections
from omr_core.reports.sample import SampleItem, pick_sample, write_sample_report
from omr_core.viz.draw import class_color

NAMES = ["stem", "clefG"]


@pytest.mark.parametrize("n_items, n", [(1000, 100), (50, 100), (0, 10), (10, 0)])
def test_pick_sample(n_items, n):
    picked = pick_sample(n_items, n, seed=3)
    assert len(picked) == min(n, n_items) == len(set(picked))
    assert picked == sorted(picked) and all(0 <= i < n_items for i in picked)
    assert pick_sample(n_items, n, seed=3) == picked


def test_pick_sample_depends_on_the_seed():
    assert pick_sample(10_000, 100, seed=0) != pick_sample(10_000, 100, seed=1)


def test_pick_sample_rejects_negative_sizes():
    with pytest.raises(ValueError, match="n_items"):
        pick_sample(-1, 5)


def write_page(path, width, height):
    Image.fromarray(np.full((height, width), 255, dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def items(tmp_path) -> list[SampleItem]:
    wide = write_page(tmp_path / "wide.png", 2000, 1000)
    small = write_page(tmp_path / "small.png", 400, 300)
    return [
        # Thick-enough boxes that their colour survives downscaling and JPEG.
        SampleItem(wide, Detections([[100, 100, 1900, 900]], [0]), NAMES, "train/wide.png"),
        SampleItem(small, Detections([[10, 10, 100, 100], [200, 50, 300, 250]], [0, 1]), NAMES, "val/small<1>.png"),
        SampleItem(small, Detections.empty(), {0: "stem", 1: "clefG"}, "val/empty.png"),
        SampleItem(tmp_path / "gone.png", Detections([[1, 1, 5, 5]], [1]), NAMES, "train/gone.png"),
    ]


def images_in(text: str) -> list[Image.Image]:
    uris = re.findall(r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', text)
    return [Image.open(io.BytesIO(base64.b64decode(u))).convert("RGB") for u in uris]


def test_sample_report_holds_every_readable_image(tmp_path, items):
    out = write_sample_report(items, tmp_path / "out" / "sample.html", "Sample <3.1>")
    text = out.read_text(encoding="utf-8")

    assert text.count('<figure class="card"') == 4
    images = images_in(text)
    assert len(images) == 3 == text.count("<img ")
    assert images[0].size == (1400, 700), "pages wider than 1400 px are shrunk"
    assert images[1].size == (400, 300)
    assert "cannot read" in text and "gone.png" in text
    assert "Sample &lt;3.1&gt;" in text and "val/small&lt;1&gt;.png" in text
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:", text, re.IGNORECASE)


def test_sample_report_draws_boxes_in_class_colours(tmp_path, items):
    text = write_sample_report(items[1:2], tmp_path / "s.html", "t").read_text()
    image = np.asarray(images_in(text)[0]).astype(int)
    stem, clef = np.array(class_color("stem")), np.array(class_color("clefG"))
    assert np.abs(image[10, 50] - stem).max() < 40  # top edge of the stem box, through JPEG
    assert np.abs(image[150, 200] - clef).max() < 40  # left edge of the clefG box
    assert (image[150, 100:190] > 230).all()  # between the boxes: still white paper


def test_sample_report_legend_and_filter(tmp_path, items):
    text = write_sample_report(items, tmp_path / "s.html", "t").read_text()
    # stem: 1 + 1 boxes on 2 images; clefG: 1 on small.png + 1 on the unreadable page.
    assert "stem 2 boxes / 2 images" in text and "clefG 2 boxes / 2 images" in text
    cards = re.findall(r'<figure class="card" data-classes="([^"]*)"', text)
    assert [json.loads(html.unescape(c)) for c in cards] == [["stem"], ["clefG", "stem"], [], ["clefG"]]
    assert 'id="class-filter"' in text and '<option value="clefG">' in text
    assert "JSON.parse(card.dataset.classes).includes(name)" in text
