"""What the Inference page shows of a run: the read time counted, the sliders' filter, the scale in words."""

from types import SimpleNamespace

import numpy as np
from PIL import Image

from omr_core.inference.viewing import detect_file, file_digest, filter_shown, scale_view
from omr_core.staff.rescale import Rescale
from omr_core.structures.detections import Detections


def found() -> Detections:
    return Detections(np.zeros((4, 4)) + [0, 0, 5, 5], np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.6, 0.9]),
                      {"class_name": np.array(["stem", "clefG", "stem", "clefG"])})


def test_the_filter_keeps_the_confident_boxes_of_the_shown_classes():
    shown = filter_shown(found(), 0.25, ["clefG"])
    assert shown.confidence.tolist() == [0.3, 0.9]
    assert len(filter_shown(found(), 0.05, [])) == 0 and len(filter_shown(found(), 0.5, ["stem", "clefG"])) == 2


def test_detect_file_reads_once_and_counts_the_read_in_the_timings(tmp_path):
    path = tmp_path / "page.png"
    Image.fromarray(np.full((40, 60, 3), 255, np.uint8)).save(path)
    seen = []

    class Detector:
        def run(self, image, staff_space_px=None, scale=None):
            seen.append((image.shape, staff_space_px, scale))
            return SimpleNamespace(timings_ms={"load": 0.0, "total": 1.0})

    image, run = detect_file(Detector(), path, staff_space_px=17.0)
    assert image.shape == (40, 60, 3) and seen == [((40, 60, 3), 17.0, None)]
    assert run.timings_ms["load"] > 0 and run.timings_ms["total"] > 1.0
    digest = file_digest(path)
    path.write_bytes(path.read_bytes() + b"\0")
    assert len(digest) == 16 and file_digest(path) != digest


def test_the_scale_says_what_was_measured_and_warns_where_nothing_was():
    measured = SimpleNamespace(rescale=Rescale((1000, 1000), (1100, 1100), 15.0, 16.5, "measured", 0.9),
                               staff_space=SimpleNamespace(found=True, confidence=0.9, samples=1234))
    view = scale_view(measured, 16.5)
    assert (view.staff_space, view.read_at, view.confidence, view.warning) == ("15.00 px", "x1.10", "0.90", None)
    assert view.confidence_help == "1,234 five-line samples" and view.caption[0].isupper()
    unmeasured = SimpleNamespace(rescale=Rescale((1000, 1000), (1000, 1000), None, 16.5, "no staff found"),
                                 staff_space=None)
    view = scale_view(unmeasured, 16.5)
    assert view.staff_space == "not found" and view.read_at == "native scale" and view.confidence is None
    assert view.warning and "Give the staff space" in view.warning
    assert scale_view(unmeasured, None).warning is None  # a model with no staff space: nothing to give
