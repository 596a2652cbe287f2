"""Paper-style figures: mean ± std over seeds, test solid, train dashed, one color per arm.

Figures are built with matplotlib's object API (:class:`~matplotlib.figure.Figure`) and never
through pyplot, and no backend is set: importing this package leaves a notebook's inline
plotting as it was, and no figure stays open in pyplot's list.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..files import atomic_write


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height))


def _colors() -> list[str]:
    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def band(ax, df: pd.DataFrame, column: str, label: str | None, color, style: str = "-") -> None:
    """Mean ± std over seeds of ``column`` against step; on a log axis, of its log10
    (a geometric mean and band, so the band never crosses zero)."""
    log = ax.get_yscale() == "log"
    values = np.log10(df[column].clip(lower=1e-300)) if log else df[column]
    g = values.groupby(df["step"])
    mean, std = g.mean(), g.std().fillna(0.0)
    lo, mid, hi = mean - std, mean, mean + std
    if log:
        lo, mid, hi = 10**lo, 10**mid, 10**hi
    ax.plot(mid.index, mid.values, style, color=color, label=label, lw=1.5)
    ax.fill_between(mid.index, lo.values, hi.values, color=color, alpha=0.2, lw=0)


def accuracy_curves(ax, metrics: pd.DataFrame, arms: list[str], title: str = "", train: bool = True) -> None:
    colors = _colors()
    for i, arm in enumerate(arms):
        df = metrics[metrics.arm == arm]
        if df.empty:
            continue
        c = colors[i % len(colors)]
        band(ax, df, "test_acc", arm, c, "-")
        if train:
            band(ax, df, "train_acc", None, c, "--")
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy (test solid, train dashed)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=8)


def norm_curves(ax, metrics: pd.DataFrame, arms: list[str], column: str) -> None:
    colors = _colors()
    for i, arm in enumerate(arms):
        df = metrics[metrics.arm == arm]
        if not df.empty:
            band(ax, df, column, arm, colors[i % len(colors)])
    ax.set_xlabel("step")
    ax.set_ylabel(f"{column.upper()} norm of the weights")
    ax.legend(fontsize=8)


def save(fig: Figure, out_dir: Path, name: str) -> str:
    """Write ``fig`` to OUT/figures/NAME.png (atomically); returns the path."""
    path = Path(out_dir) / "figures" / f"{name}.png"
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    return str(path)
