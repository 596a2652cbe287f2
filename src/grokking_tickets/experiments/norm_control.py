"""Figure 5: dense nets with the ticket's L1 or L2 norm at initialization (claims C6, C7)."""

from __future__ import annotations

from ..analysis.claims import ClaimDef, arm_tgen, fmt_tgen
from ..analysis.figures import accuracy_curves, new_figure, norm_curves
from .arms import Dense, NormMatched, Ticket
from .base import Experiment, register

C6 = ClaimDef(
    "C6",
    "Dense nets with the ticket's L1 norm, and with its L2 norm, generalize later than the ticket.",
    "controls slower than the ticket (Fig. 5)",
    "holds if both controls have a larger mean t_gen than the ticket",
)
C7 = ClaimDef(
    "C7",
    "During training the ticket's L1 norm is lower and its L2 norm higher than the norm-matched dense nets'.",
    "ticket: lower L1, higher L2 (Fig. 5)",
    "holds if the ticket's step-averaged L1 is below and its L2 above both controls'",
)
NAMES = ["ticket", "l1-control", "l2-control", "base"]  # in the figure and the measured numbers


@register
class NormControl(Experiment):
    name = "norm-control"
    description = "Fig. 5: dense nets scaled at initialization to the ticket's L1 or L2 norm"
    claims = (C6, C7)

    def arms(self, ctx):
        return [Dense("base"), Ticket("ticket"), NormMatched("l1-control", 1), NormMatched("l2-control", 2)]

    def judge(self, ctx, summary, metrics, trained):
        tg = {n: arm_tgen(summary, n) for n in NAMES}
        c6 = all(tg[c]["mean"] > tg["ticket"]["mean"] for c in ("l1-control", "l2-control"))
        # C7: norms averaged over every evaluated step after step 0 (at step 0 they are equal by design)
        later = metrics[metrics.step > 0]
        avg = later.groupby("arm")[["l1", "l2"]].mean()
        end = metrics[metrics.step == metrics.step.max()].groupby("arm")[["l1", "l2"]].mean()
        c7 = all(avg.l1["ticket"] < avg.l1[c] and avg.l2["ticket"] > avg.l2[c] for c in ("l1-control", "l2-control"))
        m7 = {
            "mean L1 over training": {n: round(float(avg.l1[n]), 1) for n in NAMES},
            "mean L2 over training": {n: round(float(avg.l2[n]), 2) for n in NAMES},
            "L1 at the last step": {n: round(float(end.l1[n]), 1) for n in NAMES},
            "L2 at the last step": {n: round(float(end.l2[n]), 2) for n in NAMES},
        }
        return [self.claim(ctx, C6, {f"{n} t_gen": fmt_tgen(tg[n]) for n in NAMES}, c6), self.claim(ctx, C7, m7, c7)]

    def figure(self, ctx, summary, metrics):
        fig = new_figure(15, 4)
        axes = fig.subplots(1, 3)
        accuracy_curves(axes[0], metrics, NAMES, "norm-matched controls", train=False)
        norm_curves(axes[1], metrics, NAMES, "l1")
        norm_curves(axes[2], metrics, NAMES, "l2")
        return fig
