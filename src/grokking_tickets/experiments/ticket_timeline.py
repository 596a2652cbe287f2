"""Figure 3: tickets taken before, during and after grokking (claim C4)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..report.claims import arm_tgen, claim, fmt_tgen
from ..report.figures import accuracy_curves, save
from .base import Arm, Context, ExperimentResult

STEPS = {"paper": (2000, 5000, 10000, 16000, 28000), "quick": (2000, 10000, 28000)}
FIXED_STEP = 2000  # test accuracy of every ticket is compared at this step (chosen before any run)


def _spearman(x, y) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1]) if np.std(rx) and np.std(ry) else float("nan")


def run(ctx: Context) -> ExperimentResult:
    steps = STEPS[ctx.scale]
    arms = [Arm("base")] + [Arm(f"ticket@{s}", mask="magnitude", ticket_step=s) for s in steps]
    ctx.train_arms(arms)
    summary, metrics = ctx.results()
    names = [a.name for a in arms[1:]]
    tg = {n: arm_tgen(summary, n) for n in names}
    last = names[-1]
    at_fixed = metrics[metrics.step == FIXED_STEP].groupby("arm").test_acc.mean()
    acc = [float(at_fixed.get(n, np.nan)) for n in names]
    rho = _spearman(steps, acc)
    earlier_slower = all(tg[n]["mean"] > tg[last]["mean"] for n in names[:-1])
    holds = earlier_slower and rho > 0
    measured = {
        **{f"{n} t_gen": fmt_tgen(tg[n]) for n in names},
        f"test acc at step {FIXED_STEP}": {n: round(a, 4) for n, a in zip(names, acc)},
        "spearman(ticket step, acc)": round(rho, 3),
        "rule": f"holds if every earlier ticket has a larger mean t_gen than {last} and the rank correlation is > 0",
    }
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    accuracy_curves(ax1, metrics, names + ["base"], "tickets taken at different steps")
    ax2.plot(steps, acc, "o-")
    ax2.set_xlabel("step the ticket was taken at")
    ax2.set_ylabel(f"test accuracy at step {FIXED_STEP}")
    ax2.set_ylim(-0.02, 1.02)
    return ExperimentResult([claim("C4", measured, holds)], save(fig, ctx.store.root, ctx.experiment))
