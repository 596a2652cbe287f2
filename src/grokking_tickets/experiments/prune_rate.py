"""Figure 4: grokking tickets at pruning rates 0.0 to 0.9 (claim C5). Rate 0.0 is the base run."""

from __future__ import annotations

from ..analysis.claims import ClaimDef, arm_tgen, censor_at, comparisons, decide, fmt_tgen, tgen_sample
from ..analysis.figures import accuracy_curves, new_figure, tgen_points
from .arms import Dense, Ticket
from .base import Experiment, Grid, register, stops_early

C5 = ClaimDef(
    "C5",
    "Rates 0.1, 0.3, 0.5, 0.7 all speed grokking up vs the base; 0.9 does not grok within the budget; "
    "the fastest rate is mid-range.",
    "fastest at 0.5; 0.9 does not grok (Fig. 4)",
    "holds if rates 0.1/0.3/0.5/0.7 each beat the base mean t_gen, no 0.9 seed groks, "
    "and the fastest fully-grokking rate lies in [0.3, 0.7], and for each of 0.1/0.3/0.5/0.7 the one-sided "
    "Mann–Whitney test of its t_gen < base t_gen has p < 0.05 (the 0.9 and fastest-rate parts are not tested)",
    differs="tickets train 30k steps; several commits of theirs train them 50k, on rate grids of 0.1 and 0.05, one seed",
)


@register
class PruneRate(Experiment):
    name = "prune-rate"
    description = "Fig. 4: tickets at pruning rates 0.0 to 0.9; rate 0.0 is the base run"
    grids = Grid(paper=tuple(round(0.1 * i, 1) for i in range(10)), quick=(0.0, 0.1, 0.3, 0.5, 0.7, 0.9))
    claims = (C5,)

    def arms(self, ctx):
        # rate 0.0 is the base run itself (it prunes nothing), which the others are made from
        return [Dense("base")] + [Ticket(f"rate={r}", stops_early(ctx) if r else (), rate=r) for r in self.grid(ctx)]

    def judge(self, ctx, summary, metrics, trained):
        rates = self.grid(ctx)
        tg = {r: arm_tgen(summary, f"rate={r}") for r in rates}
        base = arm_tgen(summary, "base")
        faster = all(tg[r]["mean"] < base["mean"] for r in (0.1, 0.3, 0.5, 0.7) if r in tg)
        no_grok_09 = tg[0.9]["grokked"] == 0 if 0.9 in tg else None
        groks = [r for r in rates if r > 0 and tg[r]["grokked"] == tg[r]["n"]]
        fastest = min(groks, key=lambda r: tg[r]["mean"]) if groks else None
        mid = fastest is not None and 0.3 <= fastest <= 0.7
        faster_rates = [r for r in (0.1, 0.3, 0.5, 0.7) if r in tg]
        censor = censor_at(summary, ["base", *(f"rate={r}" for r in faster_rates)])
        base_s = tgen_sample(summary, "base", censor)
        tests = [(f"rate={r} < base", base_s, tgen_sample(summary, f"rate={r}", censor)) for r in faster_rates]
        stats, ps = comparisons(tests)
        measured = {**{f"rate={r} t_gen": fmt_tgen(tg[r]) for r in rates}, "fastest rate": fastest, **stats}
        return [self.claim(ctx, C5, measured, decide(bool(faster and no_grok_09 and mid), ps))]

    def figure(self, ctx, summary, metrics):
        rates = self.grid(ctx)
        fig = new_figure(11, 4)
        ax1, ax2 = fig.subplots(1, 2)
        accuracy_curves(ax1, metrics, [f"rate={r}" for r in rates], "pruning rate", train=False)
        tgen_points(ax2, summary, [f"rate={r}" for r in rates], list(rates), float(summary.steps.max()))
        ax2.set_xlabel("pruning rate")
        ax2.set_ylabel("t_gen per seed (bar: median)")
        ax2.set_title("open triangle: never generalized within the budget (dotted)", fontsize=10)
        return fig
