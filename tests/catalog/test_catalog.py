import pytest

from omr_core.catalog import (
    ALL,
    ClassSetError,
    all_categories,
    canonical_name,
    categories,
    get_class_set,
    group_of,
    load_class_sets,
    name_to_id,
    resolve_class_sets,
)


def test_catalogue_matches_the_real_file(sample_json):
    import json

    shipped = json.loads(sample_json.read_text())["categories"]
    ours = {str(c.id): (c.name, c.annotation_set) for c in all_categories()}
    assert ours == {k: (v["name"], v["annotation_set"]) for k, v in shipped.items()}
    assert len(categories("deepscores")) == 136 and len(categories("muscima++")) == 72


def test_both_spellings_of_ledger_line():
    assert canonical_name("ledgerLine") == "legerLine"
    ids = name_to_id("deepscores")
    assert ids["ledgerLine"] == ids["legerLine"] == 2


@pytest.mark.parametrize(
    "name, group",
    [("noteheadBlackOnLine", "noteheads"), ("restQuarter", "rests"), ("accidentalSharp", "accidentals"),
     ("keyFlat", "key signatures"), ("timeSig4", "time signatures"), ("keyboardPedalPed", "other"), ("clefG", "clefs")],
)
def test_groups(name, group):
    assert group_of(name) == group


def test_default_stages_follow_the_plan():
    sets = load_class_sets()
    s31, s32, s33, s34 = (sets[k] for k in ("3.1", "3.2", "3.3", "3.4"))
    assert {"noteheadBlackOnLine", "noteheadBlackInSpace", "stem", "clefG"} <= set(s31.names)
    assert set(s32.names) - set(s31.names) == {"restQuarter", "beam", "augmentationDot"}
    assert set(s33.names) - set(s32.names) == {"accidentalSharp", "accidentalFlat", "accidentalNatural"}
    assert {"timeSig4", "timeSigCommon", "keyFlat", "keySharp", "keyNatural"} <= set(s34.names) - set(s33.names)
    # a later stage keeps earlier ids in place, so its model can start from the previous one
    assert s34.names[: len(s33)] == s33.names and s32.names[: len(s31)] == s31.names


def test_all_is_every_class_of_the_set():
    assert len(get_class_set(ALL, {}, "deepscores")) == 136
    assert len(get_class_set(ALL, {}, "muscima++")) == 72


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"sets": {"a": {"classes": ["noSuchClass"]}}}, "neither a DeepScoresV2 class nor an alias"),
        ({"sets": {"a": {"extends": "b", "adds": ["stem"]}, "b": {"extends": "a", "adds": ["beam"]}}}, "cycle"),
        ({"sets": {"a": {"extends": "missing", "adds": ["stem"]}}}, "'missing' is not defined"),
        ({"aliases": {"x": ["y"], "y": ["x"]}, "sets": {"a": {"classes": ["x"]}}}, "alias cycle"),
        ({"sets": {"all": {"classes": ["stem"]}}}, "built in"),
        ({"sets": {"a": {"classes": []}}}, "no classes"),
    ],
)
def test_bad_class_sets_say_why(spec, message):
    with pytest.raises(ClassSetError, match=message):
        resolve_class_sets(spec)


def test_user_yaml_with_alias_and_synonym(tmp_path):
    path = tmp_path / "sets.yaml"
    path.write_text("aliases:\n  lines: [ledgerLine, staff]\nsets:\n  mine:\n    classes: [lines, stem, stem]\n")
    assert load_class_sets(path)["mine"].names == ("legerLine", "staff", "stem")


def test_unknown_set_lists_the_known_ones():
    with pytest.raises(ClassSetError, match="expected one of"):
        get_class_set("9.9", load_class_sets())


def test_class_sets_are_saved_only_when_they_resolve(tmp_path):
    from omr_core.catalog import ClassSetError, class_set_rows, parse_class_sets, save_class_sets

    path = tmp_path / "class_sets.yaml"
    path.write_text("old\n")
    for bad in ("sets:\n  x:\n    classes: [nope]\n", "sets: [", "- a list\n"):
        with pytest.raises(ClassSetError, match="class_sets.yaml"):
            save_class_sets(path, bad)
        assert path.read_text() == "old\n"
    good = "sets:\n  x:\n    description: mine\n    classes: [stem, clefG]\n"
    assert list(save_class_sets(path, good)) == ["x"] and path.read_text() == good
    assert class_set_rows(parse_class_sets(good)) == [
        {"set": "x", "extends": "", "classes": 2, "names": "stem, clefG", "description": "mine"}]
