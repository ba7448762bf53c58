"""Which DeepScoresV2 class a glyph or drawn primitive of Verovio's SVG is.

Verovio draws a symbol as a SMuFL glyph (`<use xlink:href="#E0A4-...">`, the code point names the glyph)
inside groups whose `class` says what the symbol is for (`note`, `accid`, `keyAccid`, `meterSig`...), or as a
primitive (stems, staff and ledger lines, beams, ties, slurs, hairpins, brackets) inside such a group.

The same glyph can mean two DeepScores classes: a sharp in a key signature is `keySharp`, elsewhere
`accidentalSharp`. Noteheads become ...OnLine or ...InSpace from their staff position (not from the glyph),
and glyphs drawn smaller than the staff's size (cue and grace notes) take the ...Small classes where
DeepScores has one.
"""

from __future__ import annotations

# SMuFL code point -> DeepScoresV2 class (deepscores annotation set). "{pos}" is filled with OnLine/InSpace.
GLYPHS: dict[str, str] = {
    # noteheads
    "E0A0": "noteheadDoubleWhole{pos}", "E0A1": "noteheadDoubleWhole{pos}", "E0A2": "noteheadWhole{pos}",
    "E0A3": "noteheadHalf{pos}", "E0A4": "noteheadBlack{pos}",
    # clefs (E05C, the C clef, is alto or tenor by its line: see `clef_class`)
    "E050": "clefG", "E052": "clefG", "E053": "clefG", "E05C": "clefC", "E062": "clefF", "E064": "clefF",
    "E069": "clefUnpitchedPercussion", "E07D": "clef8", "E07E": "clef15",
    # time signatures: DeepScores labels each digit
    **{f"E08{d}": f"timeSig{d}" for d in range(10)}, "E08A": "timeSigCommon", "E08B": "timeSigCutCommon",
    # accidentals (keySharp/keyFlat/keyNatural inside a key signature: see `ACCIDENTAL_IN_KEY`)
    "E260": "accidentalFlat", "E261": "accidentalNatural", "E262": "accidentalSharp",
    "E263": "accidentalDoubleSharp", "E264": "accidentalDoubleFlat",
    # flags
    "E240": "flag8thUp", "E241": "flag8thDown", "E242": "flag16thUp", "E243": "flag16thDown",
    "E244": "flag32ndUp", "E245": "flag32ndDown", "E246": "flag64thUp", "E247": "flag64thDown",
    "E248": "flag128thUp", "E249": "flag128thDown",
    # rests
    "E4E2": "restDoubleWhole", "E4E3": "restWhole", "E4E4": "restHalf", "E4E5": "restQuarter", "E4E6": "rest8th",
    "E4E7": "rest16th", "E4E8": "rest32nd", "E4E9": "rest64th", "E4EA": "rest128th", "E4EE": "restHBar",
    # articulations
    "E4A0": "articAccentAbove", "E4A1": "articAccentBelow", "E4A2": "articStaccatoAbove",
    "E4A3": "articStaccatoBelow", "E4A4": "articTenutoAbove", "E4A5": "articTenutoBelow",
    "E4A6": "articStaccatissimoAbove", "E4A7": "articStaccatissimoBelow", "E4A8": "articStaccatissimoAbove",
    "E4A9": "articStaccatissimoBelow", "E4AC": "articMarcatoAbove", "E4AD": "articMarcatoBelow",
    # fermatas, caesura, repeats, navigation
    "E4C0": "fermataAbove", "E4C1": "fermataBelow", "E4C4": "fermataAbove", "E4C5": "fermataBelow",
    "E4C6": "fermataAbove", "E4C7": "fermataBelow", "E4D1": "caesura", "E044": "repeatDot",
    "E047": "segno", "E048": "coda", "E000": "brace",
    # dynamics: one box per letter, as DeepScores does
    "E520": "dynamicP", "E521": "dynamicM", "E522": "dynamicF", "E523": "dynamicR", "E524": "dynamicS",
    "E525": "dynamicZ",
    # ornaments, strings, keyboard
    "E566": "ornamentTrill", "E567": "ornamentTurn", "E568": "ornamentTurnInverted",
    "E56C": "ornamentMordent", "E56D": "ornamentMordent",
    "E610": "stringsDownBow", "E612": "stringsUpBow", "E650": "keyboardPedalPed", "E655": "keyboardPedalUp",
    # tremolos (single-note, on the stem)
    "E220": "tremolo1", "E221": "tremolo2", "E222": "tremolo3", "E223": "tremolo4", "E224": "tremolo5",
    # tuplet numbers
    **{f"E88{d}": f"tuplet{d}" for d in range(1, 10)},
}

# Dynamics that SMuFL draws as one glyph; DeepScores boxes each letter (see `verovio_page._split_letters`)
COMBINED_DYNAMICS = {
    "E527": "pppppp", "E528": "ppppp", "E529": "pppp", "E52A": "ppp", "E52B": "pp", "E52C": "mp", "E52D": "mf",
    "E52E": "pf", "E52F": "ff", "E530": "fff", "E531": "ffff", "E532": "fffff", "E533": "ffffff", "E534": "fp",
    "E535": "fz", "E536": "sf", "E537": "sfp", "E538": "sfpp", "E539": "sfz", "E53A": "sfzp", "E53B": "sffz",
    "E53C": "rf", "E53D": "rfz",
}
DYNAMIC_LETTERS = {"p": "dynamicP", "m": "dynamicM", "f": "dynamicF", "s": "dynamicS", "z": "dynamicZ", "r": "dynamicR"}

ACCIDENTAL_IN_KEY = {"accidentalFlat": "keyFlat", "accidentalNatural": "keyNatural", "accidentalSharp": "keySharp"}

# DeepScores classes with a ...Small twin, for glyphs drawn smaller than the staff's size
SMALL = {
    "noteheadBlackOnLine", "noteheadBlackInSpace", "noteheadHalfOnLine", "noteheadHalfInSpace",
    "noteheadWholeOnLine", "noteheadWholeInSpace", "noteheadDoubleWholeOnLine", "noteheadDoubleWholeInSpace",
    "flag8thUp", "flag8thDown", "accidentalFlat", "accidentalNatural", "accidentalSharp",
}

# Verovio group classes whose primitives (paths, polygons, rects, ellipses) are one DeepScores symbol each
PRIMITIVES = {
    "stem": "stem", "ledgerLines": "legerLine", "beam": "beam", "tie": "tie", "slur": "slur",
    "tupletBracket": "tupletBracket", "dots": "augmentationDot", "octave": "ottavaBracket", "mRest": "restHBar",
}

# groups whose ink is never labelled: text, as in DeepScores. (Barlines and brackets are left unlabelled by
# having no entry above; their groups also hold repeat dots and the brace, which are labelled.)
UNLABELLED = {"label", "labelAbbr", "text", "tempo", "dir", "harm", "verse", "syl", "fing", "mNum", "pgHead",
              "pgFoot", "reh", "ending", "lb", "rend"}


def glyph_class(code: str, groups: tuple[str, ...], small: bool, position: int | None) -> str | None:
    """DeepScores class of a glyph, or None when DeepScores has none for it.

    Args:
        code: SMuFL code point, e.g. "E0A4".
        groups: the classes of the enclosing Verovio groups, innermost last.
        small: drawn smaller than the staff's normal size (cue or grace).
        position: staff position for noteheads (0 = bottom line, 1 = the space above...), else None.
    """
    name = GLYPHS.get(code.upper())
    if name is None:
        return None
    if "{pos}" in name:
        if position is None:
            return None
        name = name.format(pos="OnLine" if position % 2 == 0 else "InSpace")
    if "keyAccid" in groups or "keySig" in groups:
        name = ACCIDENTAL_IN_KEY.get(name, name)
    if small and name in SMALL:
        name += "Small"
    return name


def clef_class(name: str, line_from_bottom: int) -> str:
    """C clefs are alto on the middle line and tenor on the fourth (1 = bottom line)."""
    if name != "clefC":
        return name
    return "clefCTenor" if line_from_bottom == 4 else "clefCAlto"


def hairpin_class(left_gap_px: float, right_gap_px: float) -> str:
    """A hairpin opening to the right is a crescendo."""
    return "dynamicCrescendoHairpin" if right_gap_px > left_gap_px else "dynamicDiminuendoHairpin"
