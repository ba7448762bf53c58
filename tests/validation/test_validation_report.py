import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from omr_core.structures.detections import Detections
from omr_core.structures.problems import Problem, ProblemLog
from omr_core.structures.record import ImageRecord
from omr_core.validation.distribution import DistributionAccumulator, class_weights
from omr_core.reports import write_validation_report
from omr_core.validation.report import build_report

SOURCE_CATEGORIES = {1: "staff", 2: "stem", 3: "clefG", 4: "segno"}
STAGE = ["stem", "clefG"]
EXTERNAL = re.compile(r"<script[^>]*\bsrc\s*=|<link[^>]*\bhref\s*=|<img[^>]*\bsrc\s*=\s*[\"']?https?:|@import|url\(\s*[\"']?https?:",
                      re.IGNORECASE)


def accumulators() -> tuple[DistributionAccumulator, DistributionAccumulator]:
    source, converted = DistributionAccumulator(), DistributionAccumulator()
    for split, stems in (("train", 40), ("val", 5)):
        xyxy = [[0, 0, 900, 80]] + [[i, 0, i + 2, 60] for i in range(stems)] + [[0, 0, 50, 150]]
        det = Detections(np.array(xyxy, dtype=float), [1] + [2] * stems + [3])
        record = ImageRecord("1", "p.png", 1000, 1000, det, SOURCE_CATEGORIES)
        source.add(record, split)
        stage = ImageRecord("1", "p.png", 1000, 1000, Detections(det.xyxy[1:], [0] * stems + [1]), dict(enumerate(STAGE)))
        converted.add(stage, split, staff_space=20.0)
    return source, converted


@pytest.fixture
def report() -> dict:
    source_log, converted_log = ProblemLog(), ProblemLog()
    source_log.add(Problem("nan_coordinates", "train.json", "annotation 5 in image 1",
                           "coordinates must be finite, but got <script>alert(1)</script>", "dropped"))
    for i in range(1005):
        source_log.add(Problem("outside_page", "train.json", f"annotation {i}", "box must lie inside", "clipped"))
    converted_log.add(Problem("missing_label", "images/train/x.png", "file", "no label", "kept"))
    source, converted = accumulators()
    return build_report("DeepScoresV2 <test>", source_log, converted_log, source, converted, STAGE,
                        {"class_set": "3.1", "duplicate_iou": 0.95})


def test_build_report_shape(report):
    assert report["schema"] == "omr_core/validation_report/1"
    assert report["stage_classes"] == STAGE
    assert report["source"]["pages"] == 2 and report["source"]["boxes"] == 2 + 45 + 2
    assert report["converted"]["boxes"] == 45 + 2
    assert report["source"]["problems"]["total"] == 1006
    assert report["converted"]["problems"]["counts"] == [{"kind": "missing_label", "action": "kept", "count": 1}]
    assert set(report["source"]["imbalance"]["classes"]) == {"staff", "stem", "clefG", "segno"}
    assert set(report["converted"]["imbalance"]["classes"]) == set(STAGE)
    weights = report["class_weights"]
    assert (weights["from"], weights["counts_from"]) == ("converted", "train")
    expected = class_weights({"stem": 40, "clefG": 1})
    assert {c: v["weight"] for c, v in weights["classes"].items()} == pytest.approx(expected)
    assert weights["classes"]["stem"]["verdict"] == "dominant" and weights["classes"]["clefG"]["verdict"] == "rare"  # 1 / 40


def test_report_without_a_converted_set_weighs_the_source():
    source, _ = accumulators()
    report = build_report("src", ProblemLog(), None, source, None, STAGE, {})
    assert report["converted"] is None and report["class_weights"]["from"] == "source"
    assert report["class_weights"]["classes"]["stem"]["count"] == 40


def test_write_validation_report(tmp_path, report):
    json_path, html_path = write_validation_report(tmp_path / "reports", report)
    assert json_path.name == "validation.json" and html_path.name == "report.html"
    assert json.loads(json_path.read_text()) == report
    text = html_path.read_text(encoding="utf-8")

    assert not EXTERNAL.findall(text), "the report must load nothing from outside the file"
    assert text.count("plotly.js v") == 1, "plotly.js is inlined exactly once"
    assert text.count('class="plotly-graph-div"') == 6  # counts x3, sizes x2, imbalance
    for heading in ("Summary", "Problems", "Class distribution", "Box sizes in staff spaces", "Imbalance and class weights"):
        assert f">{heading}<" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert(1)" not in text
    assert "DeepScoresV2 &lt;test&gt;" in text
    assert "outside_page: 1,005 (first 1,000 of 1,005 listed)" in text
    assert "w_c = (1 - beta) / (1 - beta^n_c)" in text
    assert not list(tmp_path.glob("reports/*.tmp"))


def test_report_settings_are_stored_as_json():
    source, _ = accumulators()
    report = build_report("x", ProblemLog(), None, source, None, STAGE, {"output": Path("/data/set"), "tile": (640, 640)})
    assert report["settings"] == {"output": "/data/set", "tile": [640, 640]}


def test_report_refuses_nan_settings():
    source, _ = accumulators()
    with pytest.raises(ValueError):
        build_report("x", ProblemLog(), None, source, None, STAGE, {"threshold": float("nan")})


def test_validation_and_viz_import_without_streamlit_or_torch():
    code = "import sys, omr_core.validation, omr_core.viz; print(sorted({'streamlit', 'torch'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
