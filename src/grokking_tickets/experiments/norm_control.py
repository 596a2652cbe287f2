"""Figure 5: dense nets with the ticket's L1 or L2 norm at initialization (claims C6, C7)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..report.claims import arm_tgen, claim, fmt_tgen
from ..report.figures import accuracy_curves, norm_curves, save
from .base import Arm, Context, ExperimentResult

ARMS = [Arm("base"), Arm("ticket", mask="magnitude"), Arm("l1-control", norm_match=1), Arm("l2-control", norm_match=2)]


def run(ctx: Context) -> ExperimentResult:
    ctx.train_arms(ARMS)
    summary, metrics = ctx.results()
    names = ["ticket", "l1-control", "l2-control", "base"]
    tg = {n: arm_tgen(summary, n) for n in names}
    c6 = all(tg[c]["mean"] > tg["ticket"]["mean"] for c in ("l1-control", "l2-control"))
    # C7: norms averaged over every evaluated step after step 0 (at step 0 they are equal by design)
    later = metrics[metrics.step > 0]
    avg = later.groupby("arm")[["l1", "l2"]].mean()
    end = metrics[metrics.step == metrics.step.max()].groupby("arm")[["l1", "l2"]].mean()
    c7 = all(avg.l1["ticket"] < avg.l1[c] and avg.l2["ticket"] > avg.l2[c] for c in ("l1-control", "l2-control"))
    m6 = {**{f"{n} t_gen": fmt_tgen(tg[n]) for n in names},
          "rule": "holds if both controls have a larger mean t_gen than the ticket"}  # fmt: skip
    m7 = {
        "mean L1 over training": {n: round(float(avg.l1[n]), 1) for n in names},
        "mean L2 over training": {n: round(float(avg.l2[n]), 2) for n in names},
        "L1 at the last step": {n: round(float(end.l1[n]), 1) for n in names},
        "L2 at the last step": {n: round(float(end.l2[n]), 2) for n in names},
        "rule": "holds if the ticket's step-averaged L1 is below and its L2 above both controls'",
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    accuracy_curves(axes[0], metrics, names, "norm-matched controls", train=False)
    norm_curves(axes[1], metrics, names, "l1")
    norm_curves(axes[2], metrics, names, "l2")
    claims = [claim("C6", m6, c6), claim("C7", m7, c7)]
    return ExperimentResult(claims, save(fig, ctx.store.root, ctx.experiment))
