"""Verovio pages rendered and labelled: classes from context, positions from pitches, boxes against ink."""

from collections import Counter

import numpy as np
import pytest
import verovio

from omr_core.rendering.box_check import box_errors, summarise
from omr_core.rendering.verovio_page import render_svg

FONTS = ["Leipzig", "Bravura", "Gootville", "Leland", "Petaluma"]
ABC = """X:1
T:Test piece
M:4/4
L:1/8
K:D
!p! CDEF GABc | defg abc'd' | (3CEG A2 B2 c2 | !ff! c4 z4 |
^C _D =E F G A B c | c'8 | !sfz! d2 .e2 -e4 | (E2 F2) G4 |]
"""


def engrave(font, data=ABC, input_from="abc"):
    tk = verovio.toolkit()
    tk.setOptions({"pageWidth": 2100, "pageHeight": 2970, "scale": 40, "font": font, "inputFrom": input_from})
    assert tk.loadData(data)
    return tk, tk.renderToSVG(1)


@pytest.fixture(scope="module", params=FONTS)
def page(request):
    tk, svg = engrave(request.param)
    return tk, render_svg(svg, 1960, 2772, request.param)


def test_symbols_and_staff_space(page):
    _, rendered = page
    counts = Counter(s.class_name for s in rendered.symbols)
    assert rendered.staff_space_px == pytest.approx(16.8, abs=0.2)  # DeepScores' ~17 px at 1960 px wide
    assert counts["keySharp"] == 2 * counts["staff"] and counts["accidentalSharp"] >= 1 and counts["accidentalFlat"] >= 1
    assert counts["clefG"] == counts["staff"] >= 1 and counts["timeSigCommon"] + counts["timeSig4"] >= 1
    assert counts["dynamicF"] >= 3 and counts["dynamicS"] >= 1 and counts["dynamicZ"] >= 1 and counts["dynamicP"] >= 1
    assert counts["beam"] >= 2 and counts["stem"] >= 20 and counts["legerLine"] >= 3
    assert counts["tuplet3"] == 1 and counts["slur"] >= 1 and counts["tie"] >= 1 and counts["rest8th"] + counts["restHalf"] >= 1
    assert counts["articStaccatoAbove"] + counts["articStaccatoBelow"] == 1
    assert rendered.pixels.dtype == np.uint8 and rendered.pixels.shape == (2772, 1960)
    assert (rendered.pixels < 128).mean() > 0.001  # ink was drawn


def test_online_inspace_agrees_with_the_pitches(page):
    tk, rendered = page
    steps = "cdefgab"
    checked = 0
    for symbol in rendered.symbols:
        if not symbol.class_name.startswith("notehead"):
            continue
        attr = tk.getElementAttr(symbol.element_id)
        # treble clef: E4 is the bottom line (position 0); positions count lines and spaces upwards
        position = steps.index(attr["pname"]) + 7 * int(attr["oct"]) - (steps.index("e") + 7 * 4)
        expected = "OnLine" if position % 2 == 0 else "InSpace"
        assert symbol.class_name.endswith(expected), (attr, symbol.class_name)
        checked += 1
    assert checked >= 30


def test_boxes_match_the_ink(page):
    _, rendered = page
    summary = summarise(box_errors(rendered))
    assert summary["all"]["median_px"] <= 0.5 and summary["all"]["p95_px"] <= 1.0, summary["all"]
    assert summary["all"]["boxes"] >= 0.95 * len(rendered.symbols)  # nearly every symbol has ink to compare


def test_boxes_lie_on_the_page(page):
    _, rendered = page
    xyxy = np.array([s.xyxy for s in rendered.symbols])
    assert (xyxy[:, 2] > xyxy[:, 0]).all() and (xyxy[:, 3] > xyxy[:, 1]).all()
    assert (xyxy >= -1).all() and (xyxy[:, [0, 2]] <= 1961).all() and (xyxy[:, [1, 3]] <= 2773).all()


MEI_HAIRPINS = """<?xml version="1.0" encoding="UTF-8"?>
<mei xmlns="http://www.music-encoding.org/ns/mei" meiversion="5.0"><music><body><mdiv><score>
<scoreDef><staffGrp><staffDef n="1" lines="5" clef.shape="C" clef.line="4"/></staffGrp></scoreDef>
<section><measure n="1"><staff n="1"><layer n="1">
<note xml:id="n1" pname="c" oct="4" dur="4"/><note pname="d" oct="4" dur="4"/><note pname="e" oct="4" dur="4"/><note pname="f" oct="4" dur="4"/>
</layer></staff><hairpin form="cres" staff="1" tstamp="1" tstamp2="0m+4"/></measure>
<measure n="2"><staff n="1"><layer n="1">
<note pname="g" oct="4" dur="4"/><note pname="a" oct="4" dur="4"/><note pname="b" oct="4" dur="4"/><note pname="c" oct="5" dur="4"/>
</layer></staff><hairpin form="dim" staff="1" tstamp="1" tstamp2="0m+4"/></measure>
</section></score></mdiv></body></music></mei>"""


def test_hairpin_direction_and_tenor_clef():
    _, svg = engrave("Leipzig", MEI_HAIRPINS, "mei")
    counts = Counter(s.class_name for s in render_svg(svg, 1960, 2772).symbols)
    assert counts["dynamicCrescendoHairpin"] == 1 and counts["dynamicDiminuendoHairpin"] == 1
    assert counts["clefCTenor"] == 1


def test_boxcheck_tool_reports_per_font_and_class():
    from omr_core.rendering.box_check import check_fonts

    summary = check_fonts(("Leland",), n_pieces=1, collections=("bach",))
    assert {"Leland", "all fonts"} <= summary.keys()
    overall = summary["all fonts"]["all"]
    assert overall["boxes"] > 50 and overall["median_px"] <= 0.5 and overall["p95_px"] <= 1.0
    assert "noteheadBlackOnLine" in summary["Leland"] or "noteheadBlackInSpace" in summary["Leland"]


MEI_PIANO_REPEAT = """<?xml version="1.0" encoding="UTF-8"?>
<mei xmlns="http://www.music-encoding.org/ns/mei" meiversion="5.0"><music><body><mdiv><score>
<scoreDef><staffGrp symbol="brace" bar.thru="true">
<staffDef n="1" lines="5" clef.shape="G" clef.line="2"/><staffDef n="2" lines="5" clef.shape="F" clef.line="4"/>
</staffGrp></scoreDef>
<section><measure n="1" right="rptend"><staff n="1"><layer n="1"><note pname="c" oct="5" dur="1"/></layer></staff>
<staff n="2"><layer n="1"><note pname="c" oct="3" dur="1"/></layer></staff></measure></section>
</score></mdiv></body></music></mei>"""


def test_brace_and_repeat_dots_are_labelled_barlines_are_not():
    _, svg = engrave("Leipzig", MEI_PIANO_REPEAT, "mei")
    symbols = render_svg(svg, 1960, 2772).symbols
    counts = Counter(s.class_name for s in symbols)
    assert counts["brace"] == 1 and counts["repeatDot"] == 4  # two dots per staff
    assert counts["clefF"] == 1 and counts["staff"] == 2
    assert not any("barLine" in s.source for s in symbols if s.class_name != "repeatDot")


def test_text_is_drawn_with_the_projects_own_font_whatever_the_system_has(monkeypatch):
    """Lyrics with diacritics get real glyphs from DejaVu Serif in matplotlib's files, not from fontconfig (a
    bare machine has no system font: skia's default typeface then drew 'sa??ria ben ar?sojlmi?')."""
    import skia

    from omr_core.fonts import dejavu
    from omr_core.rendering import verovio_page

    monkeypatch.setattr(verovio_page, "_TYPEFACES", {})
    monkeypatch.setattr(skia.Typeface, "MakeFromName", lambda *a, **k: pytest.fail("asked the system for a font"))
    typeface = verovio_page._typeface("normal")
    assert typeface.getFamilyName() == "DejaVu Serif" and "matplotlib" in str(dejavu("Serif"))
    glyphs = skia.Font(typeface, 20).textToGlyphs("sa\u0161ria ben ar\u0117sojlmi\u0105 \u00e9t\u00e9 \u00df")
    assert 0 not in glyphs  # glyph 0 is the empty box of a missing character
    for style in ("bold", "italic", "bold italic"):
        assert dejavu("Serif", style).is_file()
