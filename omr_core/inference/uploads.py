"""Files a user uploads: kept in the workspace under a name made from their content, never from their name.

An uploaded name is only read for its suffix (checked against a list); the file is stored as
`<sha256 prefix><suffix>`, so no name can reach outside the folder, and the same file uploaded twice is one file.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from omr_core.fileio import write_atomic

IMAGE_TYPES = ("png", "jpg", "jpeg", "tif", "tiff", "pdf")
MODEL_TYPES = ("pt", "onnx")
MAX_UPLOAD_BYTES = 200 * 2**20  # as .streamlit/config.toml's server.maxUploadSize


class UploadError(ValueError):
    pass


def save_upload(folder: Path, name: str, data: bytes, allowed: tuple[str, ...], max_bytes: int = MAX_UPLOAD_BYTES) -> Path:
    """Store an upload atomically as folder/<content hash>.<suffix>; returns its path."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise UploadError(f"{name!r}: expected a file ending in {', '.join('.' + a for a in allowed)}, "
                          f"but got {('.' + suffix) if suffix else 'no suffix'}")
    if len(data) == 0:
        raise UploadError(f"{name!r}: the file is empty")
    if len(data) > max_bytes:
        raise UploadError(f"{name!r}: {len(data) / 2**20:.0f} MB is over the upload limit of {max_bytes / 2**20:.0f} MB")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:20]}.{suffix}"
    if not target.exists():
        write_atomic(target, data)
    return target


def download_name(original: str | None, page: int | None = None, suffix: str = "symbols.json") -> str:
    """The file name a download of results on `original` (the name the user uploaded, or a dataset file)
    gets: its stem, the PDF page if any, then `suffix`; only letters, digits, '.', '_' and '-' survive."""
    stem = Path(str(original or "image").replace("\\", "/")).stem or "image"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "image"
    return f"{stem[:100]}{f'-p{page}' if page else ''}-{suffix}"
