"""Appendix I: is the ticket fast only because it has fewer trainable weights?

A dense MLP narrowed (d_emb) to the ticket's number of nonzero weights, trained like the base,
against the ticket and the base. Modular MLP only; makes no claim of the paper's table.
"""

from __future__ import annotations

import math

from ..analysis.claims import arm_tgen, fmt_tgen
from ..analysis.figures import accuracy_curves, new_figure
from ..pruning.masks import n_pruned
from .arms import Dense, Ticket
from .base import Context, Experiment, register, stops_early


def narrow_width(ctx: Context) -> tuple[int, int]:
    """(d_emb of the narrow MLP, the ticket's nonzero count)."""
    model = ctx.model(Dense("base").spec(ctx, ctx.seeds[0], {}))
    n = sum(math.prod(s) for s in model.shapes().values())
    kept = n - n_pruned(ctx.cfg.ticket.rate, n)
    per_width = n // ctx.cfg.model.d_emb  # parameters per unit of d_emb: p + 2H + C
    return max(1, round(kept / per_width)), kept


@register
class EqualParams(Experiment):
    name = "equal-params"
    description = "App. I: a dense MLP narrowed to the ticket's number of nonzero weights"
    models = ("mlp",)  # the width that is narrowed is the MLP's d_emb

    def arms(self, ctx):
        d, _ = narrow_width(ctx)
        return [Dense("base"), Ticket("ticket"), Dense("narrow", (f"model.d_emb={d}", *stops_early(ctx)))]

    def notes(self, ctx, summary):
        d, kept = narrow_width(ctx)
        notes = {a: fmt_tgen(arm_tgen(summary, a)) for a in ("base", "ticket", "narrow")}
        notes["narrow d_emb"] = d
        notes["ticket nonzero weights"] = kept
        return notes

    def figure(self, ctx, summary, metrics):
        d, kept = narrow_width(ctx)
        fig = new_figure(7, 4.5)
        title = f"equal trainable weights ({kept:,}): narrow d_emb={d}"
        accuracy_curves(fig.subplots(), metrics, ["base", "ticket", "narrow"], title)
        return fig
