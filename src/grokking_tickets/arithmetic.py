"""How a training command's CPU does float32 arithmetic: denormals flushed to zero by default.

Values below float32's smallest normal number (1.2e-38) reach the Adam moments and the weights
of units that stop receiving gradient, and x86 computes on them in microcode: late in training a
CPU step slows down 1.5-12x while nothing about the model changes (README: Speed). Flushing
them to zero changes a value only where it would be denormal; measured with
``scripts/denormal_check.py`` on every preset, the metrics stay bit-identical.

The CPU's flush mode is per thread, and the intra-op worker threads copy their creator's when
they start, so it has to be set before the first parallel operation of the process: the CLI
does that first thing (:func:`denormals`), and a Ray worker on the variable below. Set later
(a notebook that has already computed), it reaches the calling thread only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from .errors import UserError

ENV = "GROKKING_TICKETS_DENORMALS"  # "flush" (default) or "keep"; child processes inherit it
MODES = ("flush", "keep")


def mode() -> str:
    value = os.environ.get(ENV, "flush")
    if value not in MODES:
        raise UserError(f"{ENV} must be flush or keep; got {value!r}")
    return value


@contextmanager
def denormals(keep: bool) -> Iterator[None]:
    """Flush float32/float64 denormals to zero on this process's CPU while the block runs,
    unless ``keep`` or the environment says keep. After it, flushing is off (PyTorch's default;
    torch has no getter for the mode) and the environment variable is as it was found."""
    before = os.environ.get(ENV)
    chosen = "keep" if keep else mode()
    os.environ[ENV] = chosen  # what a Ray worker started from here reads
    torch.set_flush_denormal(chosen == "flush")
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        if before is None:
            del os.environ[ENV]
        else:
            os.environ[ENV] = before


def apply_from_environment() -> None:
    """In a worker process (Ray): the driver's choice."""
    torch.set_flush_denormal(mode() == "flush")
