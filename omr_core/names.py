"""Names that become folder names (datasets, sources, runs, models, evaluations): the one check they pass."""

from __future__ import annotations

import re

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    """`name` itself when it can never become a path outside its folder (1-64 letters, digits, '.', '_' or '-',
    not starting with '.', '_' or '-'); else ValueError saying what was expected."""
    if not _SAFE_NAME.match(name or ""):
        raise ValueError(f"name must be 1-64 letters, digits, '.', '_' or '-' (not starting with them), but got {name!r}")
    return name
