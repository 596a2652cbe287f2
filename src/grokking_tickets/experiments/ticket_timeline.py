"""Figure 3: tickets taken before, during and after grokking (claim C4)."""

from __future__ import annotations

import numpy as np

from ..analysis.claims import ClaimDef, arm_tgen, censor_at, comparisons, decide, fmt_tgen, tgen_sample
from ..analysis.figures import accuracy_curves, new_figure
from .arms import Dense, Ticket
from .base import Experiment, Grid, register, stops_early

C4 = ClaimDef(
    "C4",
    "Tickets taken earlier (2k, 5k, 10k, 16k) are slower than the grokking ticket (28k); test accuracy "
    "at a fixed step rises with the step the ticket was taken at.",
    "28k ticket fastest; accuracy rises with ticket step (Fig. 3)",
    "holds if every earlier ticket has a larger mean t_gen than {last} and the rank correlation is > 0, and "
    "for each earlier ticket the one-sided Mann–Whitney test of {last} t_gen < its t_gen has p < 0.05 "
    "(the rank correlation, over the arms' mean accuracies, is not tested)",
)


def _spearman(x, y) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1]) if np.std(rx) and np.std(ry) else float("nan")


@register
class TicketTimeline(Experiment):
    name = "ticket-timeline"
    description = "Fig. 3: tickets from the dense weights before, during and after grokking"
    grids = Grid(paper=(2000, 5000, 10000, 16000, 28000), quick=(2000, 10000, 28000))  # the tickets' steps
    claims = (C4,)
    fixed_step = 2000  # test accuracy of every ticket is compared at this step (chosen before any run)

    def arms(self, ctx):
        return [Dense("base")] + [Ticket(f"ticket@{s}", stops_early(ctx), step=s) for s in self.grid(ctx)]

    def _acc_at_fixed_step(self, names, metrics) -> list[float]:
        at_fixed = metrics[metrics.step == self.fixed_step].groupby("arm").test_acc.mean()
        return [float(at_fixed.get(n, np.nan)) for n in names]

    def judge(self, ctx, summary, metrics, trained):
        steps = self.grid(ctx)
        names = [f"ticket@{s}" for s in steps]
        tg = {n: arm_tgen(summary, n) for n in names}
        last = names[-1]
        acc = self._acc_at_fixed_step(names, metrics)
        rho = _spearman(steps, acc)
        earlier_slower = all(tg[n]["mean"] > tg[last]["mean"] for n in names[:-1])
        censor = censor_at(summary, names)
        samples = {n: tgen_sample(summary, n, censor) for n in names}
        stats, ps = comparisons([(f"{last} < {n}", samples[n], samples[last]) for n in names[:-1]])
        measured = {
            **{f"{n} t_gen": fmt_tgen(tg[n]) for n in names},
            f"test acc at step {self.fixed_step}": {n: round(a, 4) for n, a in zip(names, acc)},
            "spearman(ticket step, acc)": round(rho, 3),
            **stats,
        }
        return [self.claim(ctx, C4, measured, decide(earlier_slower and rho > 0, ps), last=last)]

    def figure(self, ctx, summary, metrics):
        steps = self.grid(ctx)
        names = [f"ticket@{s}" for s in steps]
        fig = new_figure(11, 4)
        ax1, ax2 = fig.subplots(1, 2)
        accuracy_curves(ax1, metrics, names + ["base"], "tickets taken at different steps")
        ax2.plot(steps, self._acc_at_fixed_step(names, metrics), "o-")
        ax2.set_xlabel("step the ticket was taken at")
        ax2.set_ylabel(f"test accuracy at step {self.fixed_step}")
        ax2.set_ylim(-0.02, 1.02)
        return fig
