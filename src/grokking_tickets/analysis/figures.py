"""Figures: per arm the median over seeds with the range of the seeds shaded (never a band past
what any seed measured, so accuracy stays in [0, 1]; runs that go on after another ended, each on
its own), test solid, train dashed, one color per arm; steps on a log axis (0 at its linear
start) because a ticket's action is in the first thousand steps and a base's near 20k; legends
under the axes, off the data; per-seed t_gen as points, a run that never generalized drawn at the
budget as an open triangle ("later than").

Figures are built with matplotlib's object API (:class:`~matplotlib.figure.Figure`) and never
through pyplot, and no backend is set: importing this package leaves a notebook's inline
plotting as it was, and no figure stays open in pyplot's list.
"""

from __future__ import annotations

import textwrap
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
    """The median over seeds of ``column`` against step, the seeds' range [min, max] shaded: it
    shows where seeds part (one grokked, one not) instead of averaging them into a curve no run
    followed, and it never leaves the range of what was measured.

    Where runs end at different steps (one stopped early, train.stop_margin; one diverged), the
    median and range stop where the first run ends, so that they never jump when a run leaves
    them, and the runs that go on are drawn each on its own, thin."""
    last = df.groupby("run_id")["step"].max() if "run_id" in df else pd.Series([df["step"].max()])
    common = last.min()
    shared = df[df["step"] <= common]
    g = shared[column].groupby(shared["step"])
    mid, lo, hi = g.median(), g.min(), g.max()
    ax.plot(mid.index, mid.values, style, color=color, label=label, lw=1.5)
    ax.fill_between(mid.index, lo.values, hi.values, color=color, alpha=0.18, lw=0)  # one seed: no width
    for run_id in last[last > common].index:  # the runs that went on
        run = df[(df["run_id"] == run_id) & (df["step"] >= common)].sort_values("step")
        ax.plot(run["step"], run[column], style, color=color, lw=0.8, alpha=0.7)


def log_steps(ax, steps) -> None:
    """A symmetric-log step axis: linear up to the first evaluated step, logarithmic after, so
    step 0 stays on the axis."""
    positive = [s for s in steps if s > 0]
    ax.set_xscale("symlog", linthresh=min(positive) if positive else 1)
    ax.set_xlim(left=0)


def legend_below(ax, ncol: int = 4) -> None:
    """The axes' legend under them, off the data."""
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(ncol, len(handles)), fontsize=8, frameon=False)


def tgen_points(ax, summary: pd.DataFrame, arms: list, xs: list, budget: float) -> None:
    """Each arm's per-seed t_gen at x (spread a little by seed) with its median as a bar; a run that
    never generalized is an open triangle at the budget (its t_gen is later than that)."""
    colors = _colors()
    spacing = float(min(np.diff(sorted(xs)))) if len(xs) > 1 else 1.0
    for i, (arm, x) in enumerate(zip(arms, xs)):
        rows = summary[summary.arm == arm].sort_values("seed")
        if rows.empty:
            continue
        c = colors[i % len(colors)]
        t = rows.t_gen.to_numpy(dtype=float)  # NaN: never generalized
        got = ~np.isnan(t)
        xj = x + np.linspace(-0.2, 0.2, len(rows)) * spacing
        ax.scatter(xj[got], t[got], color=c, s=16, zorder=3)
        ax.scatter(xj[~got], np.full(int((~got).sum()), budget), facecolors="none", edgecolors=c, marker="^", s=30, zorder=3)
        ax.hlines(float(np.median(np.where(got, t, budget))), x - 0.3 * spacing, x + 0.3 * spacing, color=c, lw=2)
    ax.axhline(budget, color="0.6", lw=0.8, ls=":")
    ax.set_ylim(0, budget * 1.08)


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
    log_steps(ax, metrics.step.unique())
    ax.set_xlabel("step (log)")
    ax.set_ylabel("accuracy (test solid, train dashed)" if train else "test accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{title}\n(median over seeds; shaded: their range)" if title else "median over seeds; shaded: their range", fontsize=10)
    legend_below(ax)


def norm_curves(ax, metrics: pd.DataFrame, arms: list[str], column: str) -> None:
    colors = _colors()
    for i, arm in enumerate(arms):
        df = metrics[metrics.arm == arm]
        if not df.empty:
            band(ax, df, column, arm, colors[i % len(colors)])
    log_steps(ax, metrics.step.unique())
    ax.set_xlabel("step (log)")
    ax.set_ylabel(f"{column.upper()} norm of the weights")
    legend_below(ax)


def save(fig: Figure, out_dir: Path, name: str, note: str | None = None) -> str:
    """Write ``fig`` to OUT/figures/NAME.png (atomically); returns the path. ``note``: a line of
    small grey text under everything, wrapped to the figure's width, with room made for it."""
    path = Path(out_dir) / "figures" / f"{name}.png"
    if note:
        text = textwrap.fill(note, int(fig.get_figwidth() * 15))  # characters of 7-point text per inch
        height = (text.count("\n") + 1) * 7 * 1.35 / (fig.get_figheight() * 72) + 0.01  # of the figure
        fig.text(0.01, 0.005, text, fontsize=7, color="0.35", va="bottom")
        fig.tight_layout(rect=(0, height, 1, 1))
    else:
        fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    return str(path)
