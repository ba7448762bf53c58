"""The DeepScoresV2 class catalogue: ids, names and groups of both annotation sets.

DeepScoresV2 labels every symbol twice: with the fine `deepscores` set (ids 1-136) and the coarser `muscima++`
set (ids 137-208). An annotation's `cat_id` is a list with one entry per set, in `annotation_sets` order;
an entry is null where the symbol has no class in that set (e.g. `stringsUpBow` in muscima++).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from omr_core.locations import CATEGORIES_CSV

ANNOTATION_SETS = ("deepscores", "muscima++")

# DeepScoresV2 spells the ledger line `legerLine`; other tools (SMuFL, Verovio, some DeepScores forks) write
# `ledgerLine`. Both names mean the same class; the catalogue keeps the dataset's spelling.
NAME_SYNONYMS = {"ledgerLine": "legerLine"}

_CSV = CATEGORIES_CSV


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    annotation_set: str
    group: str


@lru_cache(maxsize=1)
def all_categories() -> tuple[Category, ...]:
    """Every category of DeepScoresV2, both annotation sets, in id order."""
    with _CSV.open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return tuple(Category(int(r["id"]), r["name"], r["annotation_set"], r["group"]) for r in rows)


def categories(annotation_set: str = "deepscores") -> dict[int, Category]:
    """Category id -> Category for one annotation set."""
    check_annotation_set(annotation_set)
    return {c.id: c for c in all_categories() if c.annotation_set == annotation_set}


def canonical_name(name: str) -> str:
    """The dataset's spelling of a class name (`ledgerLine` -> `legerLine`)."""
    return NAME_SYNONYMS.get(name, name)


def name_to_id(annotation_set: str = "deepscores") -> dict[str, int]:
    """Class name -> DeepScores id in one set; synonyms included."""
    table = {c.name: c.id for c in categories(annotation_set).values()}
    for synonym, name in NAME_SYNONYMS.items():
        if name in table:
            table[synonym] = table[name]
    return table


def group_of(name: str) -> str:
    """Group of a class name ("noteheads", "rests", ...); "other" for names outside the catalogue."""
    name = canonical_name(name)
    for c in all_categories():
        if c.name == name:
            return c.group
    return "other"


def check_annotation_set(annotation_set: str) -> None:
    if annotation_set not in ANNOTATION_SETS:
        raise ValueError(f"annotation_set must be one of {ANNOTATION_SETS}, but got {annotation_set!r}")
