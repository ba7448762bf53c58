import pytest

from omr_core.catalog import categories
from omr_core.rendering.smufl import (
    COMBINED_DYNAMICS,
    DYNAMIC_LETTERS,
    GLYPHS,
    PRIMITIVES,
    clef_class,
    glyph_class,
    hairpin_class,
)

DEEPSCORES = {c.name for c in categories("deepscores").values()}


def test_every_produced_name_is_a_deepscores_class():
    produced = {n.format(pos=p) for n in list(GLYPHS.values()) + list(PRIMITIVES.values()) for p in ("OnLine", "InSpace")}
    produced |= set(DYNAMIC_LETTERS.values()) | {"clefCAlto", "clefCTenor", "keyFlat", "keySharp", "keyNatural"}
    assert produced - {"clefC"} <= DEEPSCORES
    assert all(set(letters) <= set(DYNAMIC_LETTERS) for letters in COMBINED_DYNAMICS.values())


@pytest.mark.parametrize(
    "code, groups, small, position, expected",
    [
        ("E0A4", ("note", "notehead"), False, 0, "noteheadBlackOnLine"),
        ("E0A4", ("note", "notehead"), False, 3, "noteheadBlackInSpace"),
        ("E0A4", ("note", "notehead"), False, -2, "noteheadBlackOnLine"),  # a ledger-line note
        ("E0A3", ("note", "notehead"), True, 1, "noteheadHalfInSpaceSmall"),
        ("E0A4", ("note", "notehead"), False, None, None),  # no staff: no position, no class
        ("E262", ("note", "accid"), False, None, "accidentalSharp"),
        ("E262", ("keySig", "keyAccid"), False, None, "keySharp"),
        ("E260", ("keySig", "keyAccid"), True, None, "keyFlat"),  # no keyFlatSmall in DeepScores
        ("E262", ("note", "accid"), True, None, "accidentalSharpSmall"),
        ("E4E5", ("rest",), False, None, "restQuarter"),
        ("E084", ("meterSig",), False, None, "timeSig4"),
        ("E999", ("note",), False, None, None),  # a glyph DeepScores has no class for
    ],
)
def test_glyph_class(code, groups, small, position, expected):
    assert glyph_class(code, groups, small, position) == expected


@pytest.mark.parametrize("line, expected", [(3, "clefCAlto"), (4, "clefCTenor")])
def test_c_clef_by_line(line, expected):
    assert clef_class("clefC", line) == expected and clef_class("clefG", line) == "clefG"


def test_hairpin_direction():
    assert hairpin_class(0.0, 12.0) == "dynamicCrescendoHairpin"
    assert hairpin_class(12.0, 0.0) == "dynamicDiminuendoHairpin"
