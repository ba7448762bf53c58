"""A config dataclass as command-line options, declared once: the field (its name, type and default) and its
`cli(...)` metadata give the argparse option (`add_options`), the config from parsed arguments
(`config_from_args`) and the argv that makes the same config again (`to_args`, for background jobs).

    @dataclass
    class ConvertConfig:
        source: str = field(metadata=cli("source", "folder with images/ and the JSON", positional=True))
        tile_px: int | None = field(default=None, metadata=cli("--tile", "tile size in px"))

Fields without `cli` metadata are not options (they keep their defaults on the command line).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable

_TYPES = {"int": int, "float": float, "str": str}


def cli(flag: str, help: str = "", *, positional: bool = False, parse: Callable[[str], Any] | None = None,
        choices=None) -> dict:
    """Field metadata making the field a command-line option `flag` (or a positional argument shown as `flag`).
    `parse` turns the text given into the field's value (default: the field's type)."""
    return {"cli": {"flag": flag, "help": help, "positional": positional, "parse": parse, "choices": choices}}


def _options(cls) -> list[tuple[dataclasses.Field, dict]]:
    return [(f, f.metadata["cli"]) for f in dataclasses.fields(cls) if "cli" in f.metadata]


def _value_type(f: dataclasses.Field) -> type:
    """int, float or str from the annotation ("int | None" -> int); tuples are of str."""
    name = f.type.__name__ if isinstance(f.type, type) else str(f.type).split("|")[0].strip()
    return _TYPES.get(name, str)


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING


def _metavar(spec: dict) -> str:
    return spec["flag"].lstrip("-").upper().replace("-", "_")


def add_options(parser: argparse.ArgumentParser, cls) -> None:
    """One argparse argument per `cli` field of `cls`; each keeps the field's name as its dest."""
    for f, spec in _options(cls):
        default = _default(f)
        if isinstance(default, tuple):
            default_text = " ".join(map(str, default))
        else:
            default_text = "" if default is None or default is False or default is dataclasses.MISSING else str(default)
        shown = f"default: {default_text}" if default_text else ""
        kwargs: dict[str, Any] = {"help": "; ".join(t for t in (spec["help"], shown) if t) or None}
        if spec["choices"] is not None:
            kwargs["choices"] = list(spec["choices"])
        if spec["positional"]:
            parser.add_argument(f.name, metavar=spec["flag"], **kwargs)
            continue
        if isinstance(default, bool):
            parser.add_argument(spec["flag"], dest=f.name, action="store_true", **kwargs)
        elif str(f.type).startswith(("tuple", "<class 'tuple'>")) or isinstance(default, tuple):
            parser.add_argument(spec["flag"], dest=f.name, nargs="*", default=None, metavar=_metavar(spec), **kwargs)
        else:
            kind = str if spec["parse"] else _value_type(f)
            parser.add_argument(spec["flag"], dest=f.name, type=kind, default=None,
                                metavar=None if spec["choices"] is not None else _metavar(spec), **kwargs)


def config_from_args(cls, args: argparse.Namespace):
    """The `cls` that parsed arguments describe: an option not given (or an empty list) keeps the field's default."""
    values = {}
    for f, spec in _options(cls):
        value = getattr(args, f.name)
        if value is None or (isinstance(value, list) and not value):
            continue
        if isinstance(value, list):
            value = tuple(value)
        elif spec["parse"] is not None:
            value = spec["parse"](value)
        values[f.name] = value
    return cls(**values)


def to_args(config, command: str) -> list[str]:
    """`[command, ...]`: the arguments that `config_from_args` turns back into `config` (None and False left out)."""
    positional, options = [], []
    for f, spec in _options(type(config)):
        value = getattr(config, f.name)
        if spec["positional"]:
            positional.append(str(value))
        elif isinstance(value, bool):
            options += [spec["flag"]] if value else []
        elif isinstance(value, (tuple, list)):
            options += [spec["flag"], *map(str, value)] if value else []
        elif value is not None:
            options += [spec["flag"], str(value)]
    return [command, *positional, *options]
