"""Writing files the user owns: atomically, never truncated in place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory, fsync and
    rename. A failure leaves the old file as it was. An existing file's permission bits
    are kept unless ``mode`` is given, and so is its owner and group where we may set
    them (root editing a libvirt nvram file owned by the qemu user)."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    owner: tuple[int, int] | None = None
    try:
        info = target.stat()
        owner = (info.st_uid, info.st_gid)
        if mode is None:
            mode = info.st_mode & 0o7777
    except FileNotFoundError:
        if mode is None:
            mode = 0o666 & ~_umask()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if owner is not None and owner != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):
                os.chown(tmp_name, *owner)
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
