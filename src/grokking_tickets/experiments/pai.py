"""Figure 7: pruning-at-initialization masks at the ticket's density (claim C9)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..pruning import SCORERS
from ..report.claims import arm_tgen, claim, fmt_tgen
from ..report.figures import accuracy_curves, save
from .base import Arm, Context, ExperimentResult

ALL_METHODS = ("random", "snip", "grasp", "synflow")


def run(ctx: Context) -> ExperimentResult:
    model = ctx.model(ctx.spec(Arm("base"), ctx.seeds[0], {}))
    methods = tuple(m for m in ALL_METHODS if SCORERS[m].applies_to(model))
    arms = [Arm("base"), Arm("ticket", mask="magnitude")] + [Arm(m, mask=m) for m in methods]
    ctx.train_arms(arms)
    summary, metrics = ctx.results()
    tg = {a.name: arm_tgen(summary, a.name) for a in arms}
    no_beat = all(tg[m]["mean"] >= tg["base"]["mean"] for m in methods)
    slower = all(tg[m]["mean"] > tg["ticket"]["mean"] for m in methods)
    measured = {
        **{f"{a.name} t_gen": fmt_tgen(tg[a.name]) for a in arms},
        "rule": "holds if no PaI method has a smaller mean t_gen than the base, and all have a larger one than the ticket",
    }
    if len(methods) < len(ALL_METHODS):
        measured["not run"] = "synflow (undefined for softmax attention)"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    accuracy_curves(ax, metrics, [a.name for a in arms], "pruning at initialization", train=False)
    return ExperimentResult([claim("C9", measured, no_beat and slower)], save(fig, ctx.store.root, ctx.experiment))
