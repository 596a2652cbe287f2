"""Grokking times from a run's evaluated metrics.

t_mem (t_gen) is the first evaluated step at which train (test) accuracy reaches the
threshold; tau = t_gen / t_mem. Each is None when the threshold is never reached (or, for tau,
when t_mem is 0 or missing): a run that does not grok is reported as such.
"""

from __future__ import annotations

from collections.abc import Sequence


def first_reach(steps: Sequence[int], values: Sequence[float], threshold: float) -> int | None:
    for s, v in zip(steps, values):
        if v >= threshold:
            return int(s)
    return None


def grokking_times(
    steps: Sequence[int], train_acc: Sequence[float], test_acc: Sequence[float], threshold: float = 0.95
) -> dict[str, float | int | None]:
    t_mem = first_reach(steps, train_acc, threshold)
    t_gen = first_reach(steps, test_acc, threshold)
    tau = t_gen / t_mem if (t_mem and t_gen is not None) else None
    return {"t_mem": t_mem, "t_gen": t_gen, "tau": tau}
