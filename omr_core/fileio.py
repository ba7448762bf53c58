"""Writing files and folders so that readers, and a crash, see the old version or the new one, never half of one.

    write_atomic(path, data)              a file: temporary beside it, fsync, rename over it
    with locked(path): ...                one writer at a time across processes (the kernel drops a dead one's lock)
    with staged_folder(output) as work:   a folder: built beside the old one, swapped in at the end
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

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
        fsync_folder(path.parent)


def copy_atomic(source: Path, target: Path) -> None:
    """Copy a file so that `target` is the old file or the whole copy, never a part (a model's weights)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=PART_SUFFIX)
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        with open(temporary, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_folder(target.parent)


def fsync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def clean_partials(folder: Path) -> int:
    """Remove temporary files a killed write left behind (never the files themselves)."""
    removed = 0
    for part in Path(folder).glob(f".*{PART_SUFFIX}"):
        part.unlink(missing_ok=True)
        removed += 1
    return removed


# -- locks ----------------------------------------------------------------------------------------------------

class Busy(RuntimeError):
    """The lock is held by another process (or another open of it in this one)."""


@contextlib.contextmanager
def locked(path: Path, shared: bool = False, timeout_s: float | None = None) -> Iterator[int]:
    """Hold an flock on `path` (created if needed) for the block; yields its descriptor. The kernel releases
    it when the holder's process dies, however it dies, so a killed process never leaves a lock behind.
    `timeout_s`: None waits as long as it takes; otherwise Busy is raised after that long (0: at once). Locks
    taken through two opens conflict even inside one process."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        if timeout_s is None:
            fcntl.flock(handle, mode)
        else:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(handle, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise Busy(f"{path} is locked by another process") from None
                    time.sleep(0.05)
        yield handle
    finally:
        os.close(handle)  # closing the last descriptor releases the lock


def is_locked(path: Path) -> bool:
    """Whether some process holds an exclusive or shared lock on `path` right now."""
    if not Path(path).is_file():
        return False
    try:
        with locked(path, shared=True, timeout_s=0):
            return False
    except Busy:
        return True


# -- folders --------------------------------------------------------------------------------------------------

def staging_path(output: Path) -> Path:
    """Where the new version of `output` is built: beside it, hidden, with a fixed name, so the next attempt
    finds a half-made one and removes it."""
    output = Path(output)
    return output.parent / f".{output.name}.building"


def _old_path(output: Path) -> Path:
    return output.parent / f".{output.name}.old"


@contextlib.contextmanager
def staged_folder(output: Path, overwrite: bool = False, refuse=None) -> Iterator[Path]:
    """Build a folder's new version beside the old one; swap it in only when the block ends without error.

    Yields an empty staging folder. The old `output` is untouched until the swap, so a failure (an
    exception, a full disk, a kill) leaves it whole; the half-made staging folder stays for inspection and
    the next attempt removes it. `refuse(output)`: called when `output` exists (with `overwrite`), to raise
    if it is not something this writer may replace."""
    output = Path(output)
    recover(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        if not overwrite:
            raise FileExistsError(f"{output}: exists and is not empty; choose another name or overwrite it")
        if refuse is not None:
            refuse(output)
    work = staging_path(output)
    if work.exists():
        shutil.rmtree(work)  # a half-made folder of an attempt that failed or was killed
    work.mkdir(parents=True)
    yield work
    swap_in(work, output)


def swap_in(work: Path, output: Path) -> None:
    """Put `work` where `output` is. With an existing `output`, the two are exchanged in one step
    (renameat2 RENAME_EXCHANGE) where the file system allows it, then the old one is removed."""
    output = Path(output)
    if not output.exists():
        os.rename(work, output)
    elif not _exchange(work, output):
        old = _old_path(output)
        if old.exists():
            shutil.rmtree(old)
        os.rename(output, old)  # a kill between these two renames is undone by `recover`
        os.rename(work, output)
        work = old
    else:
        pass  # `work` now holds the old version
    fsync_folder(output.parent)
    shutil.rmtree(work, ignore_errors=True)


def recover(output: Path) -> None:
    """Undo a swap that a kill interrupted: the old version set aside while the new one was not yet in place."""
    output, old = Path(output), _old_path(Path(output))
    if old.exists() and not output.exists():
        os.rename(old, output)
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)


_RENAME_EXCHANGE = 2
_libc = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2); False where the call or the file system lacks it."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            _libc.renameat2  # noqa: B018 - glibc >= 2.28
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return False
    at_fdcwd = -100
    done = _libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, f"cannot exchange {a} and {b}: {os.strerror(code)}")
