"""Atomic file writes, for every layer (the run store, the MNIST data file, figures).

A reader sees either the old file or the whole new one, never a half-written file, even when
the process is killed midway: the content goes to a temporary file beside the target, is
synced to disk, then renamed over it.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

_UMASK_LOCK = threading.Lock()


@functools.cache
def _umask() -> int:
    """The process umask, read on first use (not at import: importing has no side effects).

    Linux reports it in /proc/self/status. Elsewhere the only way to read it is to set it and
    set it back: under a lock, so that two first uses cannot read each other's temporary value,
    and with 0o077 as that value, so that a file another thread creates meanwhile is private
    rather than world-writable.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Write ``path`` by calling ``write(temporary_path)``, then renaming into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs honour the umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
