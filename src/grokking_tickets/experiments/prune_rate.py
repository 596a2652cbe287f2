"""Figure 4: grokking tickets at pruning rates 0.0 to 0.9 (claim C5). Rate 0.0 is the base run."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..report.claims import arm_tgen, claim, fmt_tgen
from ..report.figures import accuracy_curves, save
from .base import Arm, Context, ExperimentResult

RATES = {"paper": tuple(round(0.1 * i, 1) for i in range(10)), "quick": (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)}


def run(ctx: Context) -> ExperimentResult:
    rates = RATES[ctx.scale]
    arms = [Arm("base")] + [Arm(f"rate={r}", mask="magnitude", rate=r) for r in rates]
    ctx.train_arms(arms)
    summary, metrics = ctx.results()
    tg = {r: arm_tgen(summary, f"rate={r}") for r in rates}
    base = arm_tgen(summary, "base")
    faster = all(tg[r]["mean"] < base["mean"] for r in (0.1, 0.3, 0.5, 0.7) if r in tg)
    no_grok_09 = tg[0.9]["grokked"] == 0 if 0.9 in tg else None
    groks = [r for r in rates if r > 0 and tg[r]["grokked"] == tg[r]["n"]]
    fastest = min(groks, key=lambda r: tg[r]["mean"]) if groks else None
    mid = fastest is not None and 0.3 <= fastest <= 0.7
    holds = bool(faster and no_grok_09 and mid)
    measured = {
        **{f"rate={r} t_gen": fmt_tgen(tg[r]) for r in rates},
        "fastest rate": fastest,
        "rule": "holds if rates 0.1/0.3/0.5/0.7 each beat the base mean t_gen, no 0.9 seed groks, "
        "and the fastest fully-grokking rate lies in [0.3, 0.7]",
    }
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    accuracy_curves(ax1, metrics, [f"rate={r}" for r in rates], "pruning rate", train=False)
    xs = [r for r in rates if tg[r]["grokked"]]
    ax2.errorbar(xs, [tg[r]["mean"] for r in xs], yerr=[tg[r]["std"] for r in xs], fmt="o-", capsize=3)
    ax2.set_xlabel("pruning rate")
    ax2.set_ylabel("t_gen (mean ± std; censored at the budget)")
    return ExperimentResult([claim("C5", measured, holds)], save(fig, ctx.store.root, ctx.experiment))
