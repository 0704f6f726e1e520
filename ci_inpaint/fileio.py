"""Crash-safe file writes shared by checkpoints, logs and caches.

Every write that a crash must not tear goes through a temp file in the same folder, fsync and
rename: a kill leaves either the old file or the new one, never half a file. OSErrors become
one-line :class:`~ci_inpaint.errors.StorageError`s that say "no space left" or "cannot write".
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import torch

from .errors import StorageError

TMP_SUFFIX = ".tmp"
FULL_BELOW = 1 << 20  # free bytes under which a failed write is taken for a full disk


@contextlib.contextmanager
def storage_errors(path: str | os.PathLike, what: str = "--out") -> Iterator[None]:
    """Turn a failed write under ``path`` into a StorageError naming it and the fix."""
    try:
        yield
    except OSError as e:
        if isinstance(e, StorageError):
            raise
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageError(f"no space left on device at {path}: free space or pick another "
                               f"{what}") from None
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST,
                       errno.ENOENT, errno.EISDIR):
            raise StorageError(f"cannot write {path} ({e.strerror}): pick a writable {what}") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=TMP_SUFFIX, dir=path.parent)
    with contextlib.suppress(OSError):  # mkstemp makes 0600; give what open() would (umask)
        os.fchmod(fd, 0o666 & ~_umask())
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            except (RuntimeError, ValueError) as e:  # torch.save says "unexpected pos" on ENOSPC
                if shutil.disk_usage(path.parent).free < FULL_BELOW:
                    raise OSError(errno.ENOSPC, "No space left on device") from e
                raise
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # persist the rename itself (not on every platform)
            dfd = os.open(path.parent, os.O_RDONLY)
            os.fsync(dfd)
            os.close(dfd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save through a temp file + fsync + rename."""
    with storage_errors(path):
        _atomic(Path(path), lambda f: torch.save(obj, f))


def atomic_write_text(path: Path, text: str) -> None:
    """Replace a text file atomically (e.g. the trimmed metrics.jsonl on resume)."""
    with storage_errors(path):
        _atomic(Path(path), lambda f: f.write(text.encode()))


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete temp files that a killed atomic write left (``<name>.<random>.tmp``)."""
    gone = []
    if folder.is_dir():
        for p in folder.glob("*.*" + TMP_SUFFIX):
            with contextlib.suppress(OSError):
                p.unlink()
                gone.append(p)
    return gone
