"""Paper-style figures: mean ± std over seeds, test solid, train dashed, one color per arm."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; set before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..store import atomic_write  # noqa: E402


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
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
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
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, arm in enumerate(arms):
        df = metrics[metrics.arm == arm]
        if not df.empty:
            band(ax, df, column, arm, colors[i % len(colors)])
    ax.set_xlabel("step")
    ax.set_ylabel(f"{column.upper()} norm of the weights")
    ax.legend(fontsize=8)


def save(fig, out_dir: Path, name: str) -> str:
    path = Path(out_dir) / "figures" / f"{name}.png"
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return str(path)
