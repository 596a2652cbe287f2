"""Appendix I: is the ticket fast only because it has fewer trainable weights?

A dense MLP narrowed (d_emb) to the ticket's number of nonzero weights, trained like the base,
against the ticket and the base. Modular MLP only; makes no claim of the paper's table.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt

from ..errors import UserError
from ..report.claims import arm_tgen, fmt_tgen
from ..report.figures import accuracy_curves, save
from .base import Arm, Context, ExperimentResult


def narrow_width(ctx: Context) -> tuple[int, int]:
    """(d_emb of the narrow MLP, the ticket's nonzero count)."""
    model = ctx.model(ctx.spec(Arm("base"), ctx.seeds[0], {}))
    if ctx.cfg.model.name != "mlp":
        raise UserError("equal-params is defined for the modular MLP (model.name = mlp)")
    n = sum(math.prod(s) for s in model.shapes().values())
    kept = n - int(ctx.cfg.ticket.rate * n + 0.5)
    per_width = n // ctx.cfg.model.d_emb  # parameters per unit of d_emb: p + 2H + C
    return max(1, round(kept / per_width)), kept




def run(ctx: Context) -> ExperimentResult:
    d, kept = narrow_width(ctx)
    arms = [Arm("base"), Arm("ticket", mask="magnitude"), Arm("narrow", (f"model.d_emb={d}",))]
    ctx.train_arms(arms)
    summary, metrics = ctx.results()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    accuracy_curves(ax, metrics, [a.name for a in arms], f"equal trainable weights ({kept:,}): narrow d_emb={d}")
    notes = {a.name: fmt_tgen(arm_tgen(summary, a.name)) for a in arms}
    notes["narrow d_emb"] = d
    notes["ticket nonzero weights"] = kept
    return ExperimentResult([], save(fig, ctx.store.root, ctx.experiment), notes=notes)
