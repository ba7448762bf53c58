"""Named class sets (the stages of progressive class expansion), defined once and editable as YAML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from omr_core.catalog.deepscores import all_categories, canonical_name, categories, check_annotation_set
from omr_core.fileio import write_atomic
from omr_core.locations import CLASS_SETS_YAML

DEFAULT_CLASS_SETS_YAML = CLASS_SETS_YAML
ALL = "all"


@dataclass(frozen=True)
class ClassSet:
    """An ordered list of DeepScores class names; its order is the YOLO class id order.

    A set that extends another keeps the parent's names first, so YOLO ids of earlier stages never move and
    a model of stage N can start stage N+1 (Ultralytics then only adds head rows for the new names).
    """

    name: str
    names: tuple[str, ...]
    description: str = ""
    parent: str | None = None

    def __len__(self) -> int:
        return len(self.names)


class ClassSetError(ValueError):
    pass


def load_class_sets(path: Path | str | None = None) -> dict[str, ClassSet]:
    """Read a class-set YAML (default: the one shipped with omr_core) and resolve every set."""
    path = Path(path) if path else DEFAULT_CLASS_SETS_YAML
    return parse_class_sets(path.read_text(encoding="utf-8"), str(path))


def parse_class_sets(text: str, source: str = "<class sets>") -> dict[str, ClassSet]:
    """Class sets from YAML text (a file's, or the Dataset page's editor's); ClassSetError names `source` and
    what was wrong (not YAML, an unknown class, an alias cycle...)."""
    try:
        spec = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ClassSetError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(spec, dict):
        raise ClassSetError(f"{source}: expected a mapping with 'sets' (and 'aliases'), but got {type(spec).__name__}")
    return resolve_class_sets(spec, source=source)


def save_class_sets(path: Path | str, text: str) -> dict[str, ClassSet]:
    """Check `text` as class sets and only then write it to `path`, atomically (the old file stays whole until
    the new one is); returns the sets. A text that does not resolve raises ClassSetError and writes nothing."""
    sets = parse_class_sets(text, str(path))
    write_atomic(Path(path), text)
    return sets


def class_set_rows(sets: dict[str, ClassSet]) -> list[dict]:
    """One row per set, as the Dataset page lists them: set, extends, classes (count), names, description."""
    return [{"set": s.name, "extends": s.parent or "", "classes": len(s), "names": ", ".join(s.names),
             "description": s.description} for s in sets.values()]


def resolve_class_sets(spec: dict, source: str = "<class sets>") -> dict[str, ClassSet]:
    """Resolve aliases and `extends` chains of a parsed class-set spec, checking every name."""
    aliases = {str(k): list(v) for k, v in (spec.get("aliases") or {}).items()}
    raw_sets = {str(k): v for k, v in (spec.get("sets") or {}).items()}
    known = {c.name for c in all_categories()}  # either annotation set; the converter checks the chosen one
    resolved: dict[str, ClassSet] = {}

    def expand(name: str, trail: tuple[str, ...]) -> list[str]:
        if name in trail:
            raise ClassSetError(f"{source}: alias cycle {' -> '.join(trail + (name,))}")
        if name in aliases:
            return [n for member in aliases[name] for n in expand(member, trail + (name,))]
        canonical = canonical_name(name)
        if canonical not in known:
            raise ClassSetError(f"{source}: {name!r} is neither a DeepScoresV2 class nor an alias (in {trail[0]!r})")
        return [canonical]

    def build(set_name: str, trail: tuple[str, ...]) -> ClassSet:
        if set_name in resolved:
            return resolved[set_name]
        if set_name in trail:
            raise ClassSetError(f"{source}: 'extends' cycle {' -> '.join(trail + (set_name,))}")
        body = raw_sets.get(set_name)
        if not isinstance(body, dict):
            raise ClassSetError(f"{source}: set {set_name!r} is not defined (expected a mapping under 'sets')")
        parent = body.get("extends")
        names: list[str] = list(build(str(parent), trail + (set_name,)).names) if parent else []
        members = body.get("classes", []) if not parent else body.get("adds", [])
        if not parent and "adds" in body or parent and "classes" in body:
            raise ClassSetError(f"{source}: set {set_name!r} must use 'classes' alone or 'extends' with 'adds'")
        for member in members:
            for name in expand(str(member), (f"set {set_name}",)):
                if name not in names:
                    names.append(name)
        if not names:
            raise ClassSetError(f"{source}: set {set_name!r} has no classes")
        resolved[set_name] = ClassSet(set_name, tuple(names), str(body.get("description", "")), parent and str(parent))
        return resolved[set_name]

    if ALL in raw_sets:
        raise ClassSetError(f"{source}: {ALL!r} is built in and cannot be redefined")
    for set_name in raw_sets:
        build(set_name, ())
    return resolved


def get_class_set(name: str, class_sets: dict[str, ClassSet], annotation_set: str = "deepscores") -> ClassSet:
    """A set by name; `all` is every class of `annotation_set` in id order."""
    check_annotation_set(annotation_set)
    if name == ALL:
        cats = categories(annotation_set)
        return ClassSet(ALL, tuple(cats[i].name for i in sorted(cats)), f"every {annotation_set} class")
    if name not in class_sets:
        raise ClassSetError(f"unknown class set {name!r}; expected one of {[ALL, *class_sets]}")
    return class_sets[name]
