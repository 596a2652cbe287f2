"""Figure 7: pruning-at-initialization masks at the ticket's density (claim C9)."""

from __future__ import annotations

from ..analysis.claims import ClaimDef, arm_tgen, censor_at, comparisons, decide, fmt_tgen, tgen_sample
from ..analysis.figures import accuracy_curves, new_figure
from ..pruning import SCORERS
from .arms import Dense, PaI, Ticket
from .base import Experiment, register, stops_early

C9 = ClaimDef(
    "C9",
    "Random, SNIP, GraSP and SynFlow masks at the ticket's density do not beat the base and are all "
    "slower than the grokking ticket.",
    "all PaI masks no better than base (Fig. 7)",
    "holds if no PaI method has a smaller mean t_gen than the base, and all have a larger one than the ticket, "
    "and for each method the one-sided Mann–Whitney tests of base t_gen < its t_gen and of ticket t_gen < its "
    "t_gen have p < 0.05 (a rank test cannot show 'not faster than the base', so it tests the stronger "
    "'slower than the base': not significant there means no faster, but not shown slower)",
    differs="SNIP, GraSP and SynFlow as their original papers define them, scored at θ0; their prune.py uses "
    "copies of Synaptic-Flow's (GraSP with temperature 200, SynFlow on real data in float32) and scores the "
    "loaded final weights",
)
METHODS = ("random", "snip", "grasp", "synflow")  # the paper's four (a new scorer is an arm of its own)


@register
class PruningAtInit(Experiment):
    name = "pai"
    description = "Fig. 7: random, SNIP, GraSP and SynFlow masks at the ticket's density"
    claims = (C9,)

    def methods(self, ctx) -> tuple[str, ...]:
        """The methods defined for this model (SynFlow is not for softmax attention)."""
        model = ctx.model(Dense("base").spec(ctx, ctx.seeds[0], {}))
        return tuple(m for m in METHODS if SCORERS[m].applies_to(model))

    def arms(self, ctx):
        return [Dense("base"), Ticket("ticket")] + [PaI(m, m, stops_early(ctx)) for m in self.methods(ctx)]

    def judge(self, ctx, summary, metrics, trained):
        methods = self.methods(ctx)
        names = ["base", "ticket", *methods]
        tg = {n: arm_tgen(summary, n) for n in names}
        no_beat = all(tg[m]["mean"] >= tg["base"]["mean"] for m in methods)
        slower = all(tg[m]["mean"] > tg["ticket"]["mean"] for m in methods)
        censor = censor_at(summary, names)
        sample = {n: tgen_sample(summary, n, censor) for n in names}
        tests = [(f"{ref} < {m}", sample[m], sample[ref]) for m in methods for ref in ("base", "ticket")]
        stats, ps = comparisons(tests)
        measured = {f"{n} t_gen": fmt_tgen(tg[n]) for n in names}
        if len(methods) < len(METHODS):
            measured["not run"] = "synflow (undefined for softmax attention)"
        measured.update(stats)
        return [self.claim(ctx, C9, measured, decide(no_beat and slower, ps))]

    def figure(self, ctx, summary, metrics):
        fig = new_figure(7, 4.5)
        arms = ["base", "ticket", *self.methods(ctx)]
        accuracy_curves(fig.subplots(), metrics, arms, "pruning at initialization", train=False)
        return fig
