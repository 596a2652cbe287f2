"""Dense runs at several weight decays: which one makes a configuration grok in its budget.

Used to choose MNIST's weight decay, where the sources disagree: 0.1 in the authors' code,
0.01 in Omnigrok, 9.0 in the paper text. Makes no claim of the paper; reports t_gen per decay.
"""

from __future__ import annotations

from ..analysis.claims import arm_tgen, fmt_tgen
from ..analysis.figures import accuracy_curves, new_figure
from .arms import Dense
from .base import Experiment, Grid, register

DECAYS = (0.01, 0.1, 9.0)


@register
class WdSweep(Experiment):
    name = "wd-sweep"
    description = "dense runs at weight decay 0.01, 0.1 and 9.0 (how MNIST's was chosen)"
    grids = Grid(paper=DECAYS, quick=DECAYS)

    def arms(self, ctx):
        return [Dense(f"wd={wd}", (f"optim.weight_decay={wd}",)) for wd in self.grid(ctx)]

    def notes(self, ctx, summary):
        return {f"wd={wd}": fmt_tgen(arm_tgen(summary, f"wd={wd}")) for wd in self.grid(ctx)}

    def figure(self, ctx, summary, metrics):
        fig = new_figure(7, 4.5)
        ax = fig.subplots()
        accuracy_curves(ax, metrics, [f"wd={wd}" for wd in self.grid(ctx)], "weight decay sweep (dense)")
        ax.set_xscale("symlog", linthresh=1000)
        return fig
