"""The grokking ticket on every configuration at once: per task, each seed's t_gen of the dense
base and of its ticket, from each configuration's ``tickets`` experiment (C1 on the MLP, C2 on the
transformer, C3 on MNIST, and C1 under the label of every task the later version added).

One figure, on a log step axis (a ticket's t_gen is hundreds of steps, a base's tens of
thousands); a run that never generalized is drawn at its budget as an open triangle, and each
task's budget is a dotted segment. No claim of its own: each configuration's verdict is its
experiment's row. It reads summary.csv only, so it runs on a published folder too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from .figures import new_figure, save
from .registry import ANALYSES, Analysis, AnalysisResult

FIGURE = "tickets-by-task"
ARMS = (("base", "C0"), ("ticket", "C1"))


def tickets_experiments(summary: pd.DataFrame) -> list[str]:
    """Each configuration's `tickets` experiment in the store (never a variant's: tickets~p97),
    the paper's three first, then the rest by name."""
    names = {e for e in summary.experiment.unique() if (e == "tickets" or e.startswith("tickets@")) and "~" not in e}
    first = [e for e in ("tickets", "tickets@transformer", "tickets@mnist-mlp") if e in names]
    return first + sorted(names - set(first))


def task_label(experiment: str) -> str:
    """tickets -> mlp-add (the paper's bare label), tickets@mlp-sub -> mlp-sub."""
    return experiment.partition("@")[2] or "mlp-add"


def task_table(summary: pd.DataFrame, experiments: list[str]) -> pd.DataFrame:
    """Per task and arm: seeds, how many generalized, the median t_gen (a run that never did
    counts at its budget, so a median above the budget's half means most did not) and the budget."""
    rows = []
    for e in experiments:
        runs = summary[summary.experiment == e]
        budget = int(runs.steps.max())
        for arm, _ in ARMS:
            t = runs[runs.arm == arm].t_gen.to_numpy(dtype=float)
            if len(t) == 0:
                continue
            got = ~np.isnan(t)
            rows.append({"task": task_label(e), "arm": arm, "seeds": len(t), "generalized": int(got.sum()),
                         "median t_gen": float(np.median(np.where(got, t, budget))), "budget": budget})  # fmt: skip
    return pd.DataFrame(rows)


def draw(summary: pd.DataFrame, experiments: list[str], out: Path) -> str:
    fig = new_figure(max(7.0, 1.6 * len(experiments) + 2), 4.6)
    ax = fig.subplots()
    for i, e in enumerate(experiments):
        runs = summary[summary.experiment == e]
        budget = float(runs.steps.max())
        ax.hlines(budget, i - 0.4, i + 0.4, color="0.6", lw=0.8, ls=":")
        for j, (arm, color) in enumerate(ARMS):
            rows = runs[runs.arm == arm].sort_values("seed")
            t = rows.t_gen.to_numpy(dtype=float)
            if len(t) == 0:
                continue
            got = ~np.isnan(t)
            x = i + (j - 0.5) * 0.36 + np.linspace(-0.1, 0.1, len(t))
            ax.scatter(x[got], t[got], color=color, s=16, zorder=3, label=arm if i == 0 else None)
            ax.scatter(x[~got], np.full(int((~got).sum()), budget), facecolors="none", edgecolors=color, marker="^",
                       s=30, zorder=3, label=f"{arm}: never within the budget" if i == 0 else None)  # fmt: skip
            ax.hlines(float(np.median(np.where(got, t, budget))), i + (j - 0.5) * 0.36 - 0.14,
                      i + (j - 0.5) * 0.36 + 0.14, color=color, lw=2)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(range(len(experiments)), [task_label(e) for e in experiments], fontsize=9)
    ax.set_xlim(-0.6, len(experiments) - 0.4)
    ax.set_ylabel("t_gen per seed (steps, log; bar: median)")
    ax.set_title("the grokking ticket against its dense base on every task (dotted: the budget)", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, fontsize=8, frameon=False)
    return save(fig, out, FIGURE)


def run_tasks(root: Path) -> AnalysisResult:
    path = Path(root) / "summary.csv"
    if not path.exists():
        raise UserError(f"{root} has no summary.csv: no experiment has run there")
    summary = pd.read_csv(path)
    experiments = tickets_experiments(summary)
    if not experiments:
        raise UserError("no configuration's `tickets` experiment in this store")
    table = task_table(summary, experiments)
    figure = draw(summary, experiments, Path(root))
    text = table.to_string(index=False, float_format=lambda x: f"{x:,.0f}")
    section = {"title": "The grokking ticket on every task", "figure": figure, "notes": None, "text": text}
    return AnalysisResult([], [section], {"table": table})


ANALYSES.register(Analysis("tasks", (), {}, run_tasks, reads_weights=False, figures=(FIGURE,)))
