"""grokking-tickets: grokking and lottery tickets, reproduced fast."""

from __future__ import annotations

from typing import NamedTuple

from .arithmetic import pin

# First thing, before anything loads torch: fix the CPU code paths of MKL and ATen, so that a
# run's bits do not depend on the CPU it trained on (arithmetic.py; GROKKING_TICKETS_ARITHMETIC).
pin()

# The checks of a Config that need the task and model registries (config.py imports neither):
# registered on import, so that every Config built anywhere runs them.
from . import validation  # noqa: F401
from .version import __version__ as __version__


class Results(NamedTuple):
    summary: pd.DataFrame  # noqa: F821  one row per (experiment, arm, run)
    metrics: pd.DataFrame  # noqa: F821  one row per run per evaluated step, with experiment and arm


def load(out_dir) -> Results:
    """The run store at ``out_dir`` as pandas DataFrames, for notebooks.

    ``metrics`` is joined with the summary's experiment, arm and seed, so
    ``metrics.groupby(["arm", "step"]).test_acc.mean()`` gives the curves of a figure.
    """
    from pathlib import Path

    import pandas as pd

    from .errors import UserError

    root = Path(out_dir)
    if not (root / "summary.csv").exists():
        raise UserError(f"{root} holds no run store (no summary.csv); run a command with --out {root} first")
    summary = pd.read_csv(root / "summary.csv")
    metrics = pd.read_parquet(root / "metrics.parquet")
    metrics = metrics.merge(summary[["run_id", "experiment", "arm"]], on="run_id")
    return Results(summary, metrics)
