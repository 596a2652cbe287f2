"""Progress for people and for logs.

On a terminal: a tqdm bar. Written to a file or a pipe (CI, nohup, a cluster job, a Ray
worker), a bar's every refresh would land in the log (thousands of carriage-return updates per
cohort), so there a plain line is written instead, at most every ``every_s`` seconds or every
tenth of the work, and at the end:

    3 runs: 12,000/30,000 steps (40%), 118 steps/s, ETA 2.5 min
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def progress(total: int, *, initial: int = 0, desc: str = "", unit: str = "step", enabled: bool = True):
    """A tqdm bar on a terminal, periodic plain lines elsewhere, nothing when not ``enabled``.
    All three have ``update(n)``, ``set_description(desc)`` and ``close()``."""
    if not enabled:
        return _Silent()
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
    return PlainProgress(total, initial=initial, desc=desc, unit=unit)


def duration(seconds: float) -> str:
    """42 s, 3.5 min, 1.2 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class PlainProgress:
    def __init__(
        self, total: int, *, initial: int = 0, desc: str = "", unit: str = "step", every_s: float = 30.0,
        stream: TextIO | None = None, clock=time.monotonic,
    ):  # fmt: skip
        self.total, self.n, self.desc, self.unit, self.every_s = total, initial, desc, unit, every_s
        self.stream, self.clock = stream, clock
        self.t0 = self.last_t = clock()
        self.n0 = initial
        self.last_tenth = self._tenth()

    def _tenth(self) -> int:
        return int(10 * self.n / self.total) if self.total else 10

    def update(self, k: int = 1) -> None:
        self.n += k
        now = self.clock()
        if now - self.last_t >= self.every_s or self._tenth() > self.last_tenth or self.n >= self.total:
            self.last_t, self.last_tenth = now, self._tenth()
            self._line(now)

    def _line(self, now: float) -> None:
        rate = (self.n - self.n0) / max(now - self.t0, 1e-9)
        eta = duration((self.total - self.n) / rate) if rate > 0 else "?"
        pct = 100 * self.n / self.total if self.total else 100
        text = f"{self.desc}: {self.n:,}/{self.total:,} {self.unit}s ({pct:.0f}%), {rate:,.0f} {self.unit}s/s"
        text += f", ETA {eta}" if self.n < self.total else f", done in {duration(now - self.t0)}"
        print(text, file=self.stream or sys.stderr, flush=True)

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def close(self) -> None:
        pass


class _Silent:
    def update(self, k: int = 1) -> None:
        pass

    def set_description(self, desc: str) -> None:
        pass

    def close(self) -> None:
        pass
