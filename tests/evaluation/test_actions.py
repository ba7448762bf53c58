import json

import pytest

from omr_core.evaluation.actions import apply
from omr_core.evaluation.suggestions import Suggestion


def suggestion(kind="class_threshold", cls="restHalf", conf=0.12):
    return Suggestion("threshold", (cls,), "m", {"kind": kind, "class": cls, "conf": conf}, {})


def test_a_class_threshold_goes_on_the_card(tmp_path):
    (tmp_path / "card.json").write_text(json.dumps({"name": "m", "classes": ["restHalf", "stem"]}))
    card = apply(suggestion(), tmp_path)
    assert card["class_conf"] == {"restHalf": 0.12}
    assert json.loads((tmp_path / "card.json").read_text())["class_conf"] == {"restHalf": 0.12}


@pytest.mark.parametrize("made, message", [
    (suggestion(kind="oversample"), "applies \\['class_threshold'\\] itself"),
    (suggestion(cls="clefF"), "no class 'clefF'"),
])
def test_what_cannot_be_applied_is_refused(tmp_path, made, message):
    (tmp_path / "card.json").write_text(json.dumps({"name": "m", "classes": ["restHalf"]}))
    with pytest.raises(ValueError, match=message):
        apply(made, tmp_path)
