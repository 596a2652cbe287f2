"""Dense runs at several weight decays: which one makes a configuration grok in its budget.

Used to choose MNIST's weight decay, where the sources disagree: 0.1 in the authors' code,
0.01 in Omnigrok, 9.0 in the paper text. Makes no claim of the paper; reports t_gen per decay.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..report.claims import arm_tgen, fmt_tgen
from ..report.figures import accuracy_curves, save
from .base import Arm, Context, ExperimentResult

DECAYS = (0.01, 0.1, 9.0)


def run(ctx: Context) -> ExperimentResult:
    arms = [Arm(f"wd={wd}", (f"optim.weight_decay={wd}",)) for wd in DECAYS]
    ctx.train_arms(arms)
    summary, metrics = ctx.results()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    accuracy_curves(ax, metrics, [a.name for a in arms], "weight decay sweep (dense)")
    ax.set_xscale("symlog", linthresh=1000)
    note = {a.name: fmt_tgen(arm_tgen(summary, a.name)) for a in arms}
    return ExperimentResult([], save(fig, ctx.store.root, ctx.experiment), notes=note)
