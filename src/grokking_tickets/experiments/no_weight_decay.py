"""Figure 6: tickets without weight decay, and the critical pruning rate (claim C8).

The critical rate is the largest rate whose ticket still groks (test accuracy reaches the
threshold within the budget) with weight decay 0. It is found per seed: the rate sweep is
the coarse grid; above the largest grid rate that groks, bisection narrows the boundary to
0.01 (this assumes grokking is monotone in the rate between two grid points; across the
grid it is not assumed: the largest grokking grid rate is taken). The tickets themselves are
always made from the dense run trained WITH weight decay; only their retraining has none.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..analysis.claims import ClaimDef, arm_tgen, fmt_tgen
from ..analysis.figures import accuracy_curves, new_figure
from .arms import Dense, Ticket
from .base import Context, Experiment, Grid, register

C8 = ClaimDef(
    "C8",
    "With no weight decay, the ticket at the critical rate groks, about as fast as with weight decay; "
    "the dense base without weight decay does not.",
    "k_crit = 0.81; no-wd ticket ≈ wd ticket; base without wd does not grok (Fig. 6)",
    "holds if every seed has a critical rate, every critical-no-wd ticket groks with mean t_gen at most "
    "2x that of critical-wd, and no base-no-wd seed groks",
)
RESOLUTION = 0.01
NO_WD = ("optim.weight_decay=0",)


def search_critical(
    grid: dict[int, dict[float, bool]],
    oracle: Callable[[dict[int, float]], dict[int, bool]],
    resolution: float = RESOLUTION,
) -> dict[int, float | None]:
    """Per seed: the largest grokking grid rate, refined upward by bisection to ``resolution``.

    grid: seed -> {rate: groks}. oracle: {seed: rate} -> {seed: groks}, called once per round
    with every seed still searching (so one round trains as one population). Rate 1.0 (prune
    everything) never groks. A seed with no grokking grid rate gets None.
    """
    lo: dict[int, int] = {}
    hi: dict[int, int] = {}
    out: dict[int, float | None] = {}
    for seed, res in grid.items():
        rates = sorted(res)
        ok = [r for r in rates if res[r]]
        if not ok:
            out[seed] = None
            continue
        top = max(ok)
        above = [r for r in rates if r > top]
        lo[seed] = round(top / resolution)
        hi[seed] = round((above[0] if above else 1.0) / resolution)
    while True:
        active = {s: (lo[s] + hi[s]) // 2 for s in lo if hi[s] - lo[s] > 1}
        if not active:
            break
        answers = oracle({s: m * resolution for s, m in active.items()})
        for s, m in active.items():
            if answers[s]:
                lo[s] = m
            else:
                hi[s] = m
    out.update({s: round(lo[s] * resolution, 10) for s in lo})
    return out


@register
class NoWeightDecay(Experiment):
    name = "no-weight-decay"
    description = "Fig. 6: tickets retrained without weight decay; each seed's critical rate"
    grids = Grid(paper=tuple(round(0.1 * i, 1) for i in range(10)), quick=(0.0, 0.3, 0.6, 0.8, 0.9))  # the sweep
    claims = (C8,)

    def arms(self, ctx):
        return [Dense("base")] + [Ticket(f"no-wd rate={r}", NO_WD, rate=r) for r in self.grid(ctx)]

    def train(self, ctx: Context) -> dict[int, float | None]:
        """The sweep, the critical-rate search, then the final arms; returns each seed's critical rate."""
        grid = self.grid(ctx)
        specs = ctx.train_arms(self.arms(ctx))
        t_gen = _t_gen_by_run(ctx)

        def groks(spec) -> bool:
            return not pd.isna(t_gen[spec.run_id])

        grid_res = {s: {r: groks(specs[f"no-wd rate={r}"][i]) for r in grid} for i, s in enumerate(ctx.seeds)}

        def oracle(rates: dict[int, float]) -> dict[int, bool]:
            nonlocal t_gen
            arm = Ticket("critical-search", NO_WD, seed_rates=rates)
            got = ctx.train_arms([Dense("base"), arm], seeds=tuple(rates))["critical-search"]
            t_gen = _t_gen_by_run(ctx)
            return {spec.seed: groks(spec) for spec in got}

        k_crit = search_critical(grid_res, oracle)
        found = {s: k for s, k in k_crit.items() if k is not None}
        final = [Dense("base"), Dense("base-no-wd", NO_WD)]
        ctx.train_arms(final)
        if found:
            tickets = [Ticket("critical-wd", seed_rates=found), Ticket("critical-no-wd", NO_WD, seed_rates=found)]
            ctx.train_arms(final + tickets, seeds=tuple(found))
        return k_crit

    def judge(self, ctx, summary, metrics, k_crit):
        found = {s: k for s, k in k_crit.items() if k is not None}
        base_nowd = arm_tgen(summary, "base-no-wd")
        spread = np.std(list(found.values()), ddof=1) if len(found) > 1 else 0
        measured = {
            "critical rate per seed": {str(s): k for s, k in k_crit.items()},
            "critical rate": f"{np.mean(list(found.values())):.2f} ± {spread:.2f}" if found else "none found",
            **{f"no-wd rate={r} t_gen": fmt_tgen(arm_tgen(summary, f"no-wd rate={r}")) for r in self.grid(ctx)},
            "base-no-wd t_gen": fmt_tgen(base_nowd),
        }
        holds: bool | None = False
        if found:
            nowd, wd = arm_tgen(summary, "critical-no-wd"), arm_tgen(summary, "critical-wd")
            measured["critical-no-wd t_gen"] = fmt_tgen(nowd)
            measured["critical-wd t_gen"] = fmt_tgen(wd)
            holds = (
                len(found) == len(ctx.seeds)
                and nowd["grokked"] == nowd["n"]
                and nowd["mean"] <= 2 * wd["mean"]
                and base_nowd["grokked"] == 0
            )
        return [self.claim(ctx, C8, measured, holds)]

    def figure(self, ctx, summary, metrics):
        fig = new_figure(11, 4)
        ax1, ax2 = fig.subplots(1, 2)
        sweep = [f"no-wd rate={r}" for r in self.grid(ctx)]
        accuracy_curves(ax1, metrics, sweep, "no weight decay: rate sweep", train=False)
        accuracy_curves(ax2, metrics, ["critical-wd", "critical-no-wd", "base-no-wd"], "critical rate")
        return fig


def _t_gen_by_run(ctx: Context) -> dict:
    summary, _ = ctx.results()
    return dict(zip(summary.run_id, summary.t_gen))
