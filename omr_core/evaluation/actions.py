"""Suggestions the workbench carries out itself.

- `class_threshold`: the class's F1-optimal confidence is written to the evaluated model's card
  (`class_conf`); the SymbolDetector then keeps that class's boxes from that confidence on.
Other actions (oversample, resolution, label more, merge a pair) change the next training stage or the
labelling queue: the page shows them with their evidence for the user to apply in the plan.
"""

from __future__ import annotations

import json
from pathlib import Path

from omr_core.evaluation.suggestions import Suggestion

APPLICABLE = ("class_threshold",)


def apply(suggestion: Suggestion | dict, model_dir: Path) -> dict:
    """Carry out an applicable suggestion on a registered model's folder; returns the updated card."""
    action = suggestion.action if isinstance(suggestion, Suggestion) else suggestion["action"]
    if action.get("kind") not in APPLICABLE:
        raise ValueError(f"the workbench applies {list(APPLICABLE)} itself, but this action is {action.get('kind')!r}")
    path = Path(model_dir) / "card.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no model card to write the threshold to")
    card = json.loads(path.read_text())
    if action["class"] not in card.get("classes", []):
        raise ValueError(f"{path}: the model has no class {action['class']!r}")
    card.setdefault("class_conf", {})[action["class"]] = float(action["conf"])
    path.write_text(json.dumps(card, indent=2))
    return card
