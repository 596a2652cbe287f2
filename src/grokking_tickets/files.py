"""Atomic file writes, for every layer (the run store, the MNIST data file, figures).

A reader sees either the old file or the whole new one, never a half-written file, even when
the process is killed midway: the content goes to a temporary file beside the target, is
synced to disk, then renamed over it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: mkstemp makes 0600 files, and outputs should honour the umask


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Write ``path`` by calling ``write(temporary_path)``, then renaming into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
