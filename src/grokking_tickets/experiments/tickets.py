"""Figure 2: the grokking ticket against the dense base (claims C1, C2, C3 by configuration)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..report.claims import arm_tgen, claim, fmt_tgen
from ..report.figures import accuracy_curves, band, save
from .base import Arm, Context, ExperimentResult

ARMS = [Arm("base"), Arm("ticket", mask="magnitude")]


def claim_id(ctx: Context) -> str:
    if ctx.cfg.task.name == "mnist":
        return "C3"
    return "C2" if ctx.cfg.model.name == "transformer" else "C1"


def run(ctx: Context) -> ExperimentResult:
    ctx.train_arms(ARMS)
    summary, metrics = ctx.results()
    base, ticket = arm_tgen(summary, "base"), arm_tgen(summary, "ticket")
    speedup = base["mean"] / ticket["mean"]
    # "much sooner": every ticket seed groks, at most half the base's (censored) mean t_gen
    holds = ticket["grokked"] == ticket["n"] and speedup >= 2.0
    measured = {
        "base t_gen": fmt_tgen(base),
        "ticket t_gen": fmt_tgen(ticket),
        "speedup (base / ticket)": round(speedup, 2),
        "rule": "holds if every ticket seed groks and base mean t_gen / ticket mean t_gen >= 2",
    }
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.set_yscale("log")
    for i, arm in enumerate(["base", "ticket"]):
        df = metrics[metrics.arm == arm]
        band(ax1, df, "test_loss", arm, f"C{i}", "-")
        band(ax1, df, "train_loss", None, f"C{i}", "--")
    ax1.set_xlabel("step")
    ax1.set_ylabel("loss (test solid, train dashed)")
    ax1.legend(fontsize=8)
    accuracy_curves(ax2, metrics, ["base", "ticket"], "grokking ticket vs base")
    return ExperimentResult([claim(claim_id(ctx), measured, holds)], save(fig, ctx.store.root, ctx.experiment))
