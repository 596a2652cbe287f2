"""Figure 7: pruning-at-initialization masks at the ticket's density (claim C9)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..report.claims import arm_tgen, claim, fmt_tgen
from ..report.figures import accuracy_curves, save
from .base import Arm, Context, ExperimentResult

METHODS = ("random", "snip", "grasp", "synflow")
ARMS = [Arm("base"), Arm("ticket", mask="magnitude")] + [Arm(m, mask=m) for m in METHODS]


def run(ctx: Context) -> ExperimentResult:
    ctx.train_arms(ARMS)
    summary, metrics = ctx.results()
    tg = {a.name: arm_tgen(summary, a.name) for a in ARMS}
    no_beat = all(tg[m]["mean"] >= tg["base"]["mean"] for m in METHODS)
    slower = all(tg[m]["mean"] > tg["ticket"]["mean"] for m in METHODS)
    measured = {
        **{f"{a.name} t_gen": fmt_tgen(tg[a.name]) for a in ARMS},
        "rule": "holds if no PaI method has a smaller mean t_gen than the base, and all have a larger one than the ticket",
    }
    fig, ax = plt.subplots(figsize=(7, 4.5))
    accuracy_curves(ax, metrics, [a.name for a in ARMS], "pruning at initialization", train=False)
    return ExperimentResult([claim("C9", measured, no_beat and slower)], save(fig, ctx.store.root, ctx.experiment))
