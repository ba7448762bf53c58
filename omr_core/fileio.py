"""Writing a file so that readers, and a crash, see the old version or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PART_SUFFIX = ".part"


def write_atomic(path: Path, data: bytes | str, durable: bool = True) -> None:
    """Write a temporary file in the same folder, then rename it over `path` (atomic within a folder on
    POSIX). `durable`: fsync the file and the folder too, so the new version survives a power cut; files
    rewritten every fraction of a second (job progress) skip it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PART_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def clean_partials(folder: Path) -> int:
    """Remove temporary files a killed write left behind (never the files themselves)."""
    removed = 0
    for part in Path(folder).glob(f".*{PART_SUFFIX}"):
        part.unlink(missing_ok=True)
        removed += 1
    return removed
