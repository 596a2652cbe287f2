"""Two accelerators of grokking, the grokking ticket and Grokfast (Lee et al. 2024), alone,
together, and chained: a ticket found from a Grokfast run (claims A1–A5, ours, not the paper's).

Arms (every seed; the filter is ``optim.grad_filter`` when the config names one, else ``ema``,
with ``optim.grokfast_alpha``/``grokfast_lambda``/``grokfast_window``):

    base                 dense, AdamW (the paper's run)
    ticket               the grokking ticket: rate ``ticket.rate`` from base's weights at ``ticket.step``, rewound to θ0
    grokfast             dense, with the Grokfast filter
    ticket+grokfast      the grokking ticket, trained with the filter
    l2-control+grokfast  dense θ0 scaled to the ticket's L2 norm (as in norm-control), trained with the filter
    grokfast-ticket      a ticket from the grokfast run's weights at the first checkpoint at or after
                         its t_gen (per seed; seeds whose grokfast run never generalizes get none),
                         rewound to θ0, trained without the filter

Cost of a generalized network, in model-steps: the arm's t_gen, plus the steps spent finding its
ticket, i.e. the dense run's steps up to the step the ticket's weights come from (``ticket.step``
for the paper's ticket, its Grokfast retraining and the norm control, whose scale needs the
ticket's mask; the Grokfast run's checkpoint for the grokfast-ticket; 0 for dense arms). A run
that never generalizes counts as censored at its budget + 1, as everywhere. One-shot pruning is
assumed (the steps of the intermediate rounds of ``ticket.rounds`` > 1 are not counted).

A ticket taken at or after the Grokfast run's t_gen can never cost fewer steps than that run
itself (its cost includes them): A5 compares it with the paper's way to a ticket instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..analysis.claims import ClaimDef, Sample, arm_tgen, censor_at, comparisons, decide, fmt_tgen, tgen_sample
from ..analysis.figures import accuracy_curves, new_figure
from .arms import Dense, NormMatched, Ticket
from .base import Context, Experiment, Stage, register, stops_early

A1 = ClaimDef(
    "A1",
    "Grokfast makes the dense network generalize much sooner.",
    "Lee et al. 2024: grokking more than 50x sooner (algorithmic data, transformer); not measured on this MLP",
    "holds if every grokfast seed groks, base mean t_gen / grokfast mean t_gen >= 2, and the one-sided "
    "Mann–Whitney test of grokfast t_gen < base t_gen has p < 0.05",
    differs="not the paper's claim: Grokfast's own protocol (EMA α 0.98, λ 2) is on a transformer at weight "
    "decay 0.005; here the paper's MLP at weight decay 1",
)
A2 = ClaimDef(
    "A2",
    "The two accelerators compose: the grokking ticket trained with Grokfast generalizes sooner than the ticket alone.",
    "— (neither paper)",
    "holds if every ticket+grokfast seed groks, its mean t_gen is below the ticket's, and the one-sided "
    "Mann–Whitney test of ticket+grokfast t_gen < ticket t_gen has p < 0.05",
)
A3 = ClaimDef(
    "A3",
    "With Grokfast too, the ticket's speed is not its norm: a dense net with the ticket's L2 norm, trained with "
    "Grokfast, generalizes later than the ticket trained with Grokfast.",
    "C6 (without Grokfast): the L2 control is slower than the ticket",
    "holds if l2-control+grokfast has a larger mean t_gen than ticket+grokfast and the one-sided "
    "Mann–Whitney test of ticket+grokfast t_gen < l2-control+grokfast t_gen has p < 0.05",
)
A4 = ClaimDef(
    "A4",
    "A Grokfast run yields a grokking ticket: the ticket found from its weights at its t_gen, trained without "
    "Grokfast, generalizes much sooner than the dense base.",
    "— (neither paper); the paper's ticket comes from the dense run at step 30k",
    "holds if every seed's grokfast run groks (so every seed has a ticket), every grokfast-ticket seed groks, "
    "base mean t_gen / grokfast-ticket mean t_gen >= 2, and the one-sided Mann–Whitney test of "
    "grokfast-ticket t_gen < base t_gen has p < 0.05",
)
A5 = ClaimDef(
    "A5",
    "Counting the steps spent finding it, a ticket found from a Grokfast run reaches a generalized network in fewer "
    "model-steps than the paper's grokking ticket (its dense run to ticket.step, then the ticket).",
    "— (neither paper)",
    "holds if every seed has a grokfast-ticket, every one groks, and their mean total (Grokfast steps to the "
    "ticket's step + its t_gen) is below the ticket's (ticket.step + its t_gen; censored at budget + 1), and "
    "the one-sided Mann–Whitney test of the totals has p < 0.05",
)
ARMS = ["base", "ticket", "grokfast", "ticket+grokfast", "l2-control+grokfast", "grokfast-ticket"]
NO_FILTER = ("optim.grad_filter=none",)


def checkpoint_after(t_gen: int, checkpoint_every: int, steps: int) -> int:
    """The first step at or after ``t_gen`` whose weights a run saves (the checkpoint grid or the last step)."""
    return min(math.ceil(t_gen / checkpoint_every) * checkpoint_every, steps)


@register
class Accelerators(Experiment):
    name = "accelerators"
    description = "Grokfast and the grokking ticket, alone, together, and a ticket found from a Grokfast run"
    about = """
        Which accelerator of grokking should one use, and what does each really cost? Two
        accelerators race on the same task, seeds and budget: the grokking ticket (which needs a
        dense run to generalization first) and Grokfast (Lee et al. 2024: a low-pass filter of the
        gradients, amplified and added to them before each optimizer step). Arms: the dense base,
        the ticket, the dense net with Grokfast, the ticket with Grokfast, the L2 norm-matched
        control with Grokfast, and a ticket found from the Grokfast run at its own t_gen. The left
        panel shows test accuracy against the step; the right one the total cost of a generalized
        network in model-steps, the dense steps spent finding the ticket (hatched) plus the arm's
        own steps to t_gen, seeds as dots. A1-A5 are our claims, not the paper's, each with
        per-seed values, a bootstrap CI and a one-sided Mann-Whitney p.
    """
    claims = (A1, A2, A3, A4, A5)

    @staticmethod
    def filter_override(ctx: Context) -> tuple[str, ...]:
        kind = ctx.cfg.optim.grad_filter
        return (f"optim.grad_filter={'ema' if kind == 'none' else kind}",)

    def arms(self, ctx):
        gf = self.filter_override(ctx)
        return [
            Dense("base", NO_FILTER),
            Dense("grokfast", gf),  # the grokfast-tickets' source: its whole budget
            Ticket("ticket", NO_FILTER),  # tickets' own ticket (its claims read more than t_gen)
            Ticket("ticket+grokfast", (*gf, *stops_early(ctx))),
            NormMatched("l2-control+grokfast", 2, overrides=(*gf, *stops_early(ctx))),
        ]

    def stages(self, ctx: Context) -> Iterator[Stage]:
        """The arms, then the grokfast-tickets from the grokfast runs' weights at their t_gen."""
        arms = self.arms(ctx)
        yield Stage(arms)
        steps = self.ticket_steps(ctx)
        if steps:
            ticket = Ticket("grokfast-ticket", (*NO_FILTER, *stops_early(ctx)), source="grokfast", seed_steps=steps)
            yield Stage([arms[1], ticket], seeds=tuple(sorted(steps)))

    def ticket_steps(self, ctx: Context) -> dict[int, int]:
        """seed -> the step a grokfast-ticket is pruned at: the first checkpoint at or after its
        grokfast run's t_gen (seeds whose grokfast run never generalized have none)."""
        summary, _ = ctx.results()
        grokfast = self.arms(ctx)[1]
        specs = [grokfast.spec(ctx, s, {}) for s in ctx.seeds]
        t_gen = dict(zip(summary.run_id, summary.t_gen))
        train = specs[0].train
        return {
            s.seed: checkpoint_after(int(t_gen[s.run_id]), train.checkpoint_every, train.steps)
            for s in specs
            if s.run_id in t_gen and not pd.isna(t_gen[s.run_id])
        }

    # -- numbers ------------------------------------------------------------------------------------------

    def costs(self, ctx: Context, summary: pd.DataFrame) -> pd.DataFrame:
        """One row per run of the experiment: arm, seed, t_gen (censored at budget + 1), grokked,
        the steps spent finding its ticket, and the total."""
        rows = []
        for r in summary[summary.arm.isin(ARMS)].itertuples():
            grokked = not pd.isna(r.t_gen)
            t = int(r.t_gen) if grokked else int(r.steps) + 1
            if r.arm.startswith("l2-control"):
                find = ctx.cfg.ticket.step  # its scale is measured on the ticket's mask
            else:
                mask = ctx.store.spec(r.run_id).init.mask
                find = mask.step if mask is not None and mask.step is not None else 0
            rows.append(
                {"arm": r.arm, "seed": int(r.seed), "t_gen": t, "grokked": grokked, "find": find, "total": find + t}
            )
        return pd.DataFrame(rows, columns=["arm", "seed", "t_gen", "grokked", "find", "total"])

    @staticmethod
    def _total(costs: pd.DataFrame, arm: str) -> dict[str, Any]:
        c = costs[costs.arm == arm]
        if c.empty:
            return {"mean": float("nan"), "std": 0.0, "n": 0, "grokked": 0, "censored": False}
        t = c.total.to_numpy(float)
        return {
            "mean": float(t.mean()),
            "std": float(t.std(ddof=1)) if len(t) > 1 else 0.0,
            "n": len(t),
            "grokked": int(c.grokked.sum()),
            "censored": not c.grokked.all(),
        }

    @staticmethod
    def _fmt_total(s: dict[str, Any]) -> str:
        if s["n"] == 0:
            return "no runs"
        txt = f"{s['mean']:,.0f} ± {s['std']:,.0f}"
        return f"{'≥' if s['censored'] else ''}{txt} ({s['grokked']}/{s['n']} grokked)"

    def notes(self, ctx, summary):
        costs = self.costs(ctx, summary)
        out: dict[str, Any] = {}
        for arm in ARMS:
            c = costs[costs.arm == arm].sort_values("seed")
            if c.empty:
                out[arm] = "no runs (no grokfast seed generalized)" if arm == "grokfast-ticket" else "no runs"
                continue
            per_seed = {int(r.seed): (int(r.t_gen) if r.grokked else None) for r in c.itertuples()}
            total_seed = {int(r.seed): f"{'≥' if not r.grokked else ''}{int(r.total):,}" for r in c.itertuples()}
            out[f"{arm} t_gen"] = f"{fmt_tgen(arm_tgen(summary, arm))}; per seed {per_seed}"
            out[f"{arm} total model-steps"] = f"{self._fmt_total(self._total(costs, arm))}; per seed {total_seed}"
            if arm == "grokfast-ticket":
                out["grokfast-ticket step per seed"] = {int(r.seed): int(r.find) for r in c.itertuples()}
        return out

    @staticmethod
    def _total_sample(costs: pd.DataFrame, arm: str) -> Sample:
        c = costs[costs.arm == arm].sort_values("seed", kind="stable")
        shown = tuple(int(t) if g else None for t, g in zip(c.total, c.grokked))
        return Sample(f"{arm} total", tuple(int(s) for s in c.seed), tuple(float(t) for t in c.total), shown)

    def judge(self, ctx, summary, metrics, trained):
        costs = self.costs(ctx, summary)
        censor = censor_at(summary, ARMS)
        sample = lambda arm: tgen_sample(summary, arm, censor)
        have = set(summary.arm)
        tg = {a: arm_tgen(summary, a) for a in ARMS if a in have}
        tot = {a: self._total(costs, a) for a in ARMS}
        fm = {a: fmt_tgen(t) for a, t in tg.items()}
        all_grok = lambda a: a in tg and tg[a]["grokked"] == tg[a]["n"]
        rows = []

        base, gf = tg["base"], tg["grokfast"]
        speed = base["mean"] / gf["mean"]
        m1 = {"base t_gen": fm["base"], "grokfast t_gen": fm["grokfast"], "speedup (base / grokfast)": round(speed, 2)}
        stats, ps = comparisons([("grokfast < base", sample("base"), sample("grokfast"))])
        rows.append(self.claim(ctx, A1, {**m1, **stats}, decide(all_grok("grokfast") and speed >= 2.0, ps)))

        t, tgf = tg["ticket"], tg["ticket+grokfast"]
        m2 = {"ticket t_gen": fm["ticket"], "ticket+grokfast t_gen": fm["ticket+grokfast"]}
        stats, ps = comparisons([("ticket+grokfast < ticket", sample("ticket"), sample("ticket+grokfast"))])
        direction = all_grok("ticket+grokfast") and tgf["mean"] < t["mean"]
        rows.append(self.claim(ctx, A2, {**m2, **stats}, decide(direction, ps)))

        ctl = tg["l2-control+grokfast"]
        m3 = {"ticket+grokfast t_gen": fm["ticket+grokfast"], "l2-control+grokfast t_gen": fm["l2-control+grokfast"]}
        stats, ps = comparisons(
            [("ticket+grokfast < l2-control+grokfast", sample("l2-control+grokfast"), sample("ticket+grokfast"))]
        )
        rows.append(self.claim(ctx, A3, {**m3, **stats}, decide(ctl["mean"] > tgf["mean"], ps)))

        # every seed of the experiment: those without a grokfast-ticket are the ones whose grokfast run never generalized
        seeds = sorted(summary[summary.arm == "grokfast"].seed.astype(int))
        found = sorted(costs[costs.arm == "grokfast-ticket"].seed)
        missing = [s for s in seeds if s not in found]
        m4: dict[str, Any] = {"grokfast t_gen": fm["grokfast"], "base t_gen": fm["base"], "ticket t_gen": fm["ticket"]}
        m5: dict[str, Any] = {f"{a} total model-steps": self._fmt_total(tot[a]) for a in ARMS}
        if missing:
            m4["seeds without a grokfast-ticket (grokfast never generalized)"] = missing
            m5["seeds without a grokfast-ticket (grokfast never generalized)"] = missing
        holds4: bool = False
        holds5: bool = False
        ps4: list | None = None
        ps5: list | None = None
        if "grokfast-ticket" in tg:
            gt = tg["grokfast-ticket"]
            steps = costs[costs.arm == "grokfast-ticket"].set_index("seed").find.to_dict()
            m4["grokfast-ticket step per seed"] = {str(s): int(v) for s, v in sorted(steps.items())}
            m4["grokfast-ticket t_gen"] = fm["grokfast-ticket"]
            m4["speedup (base / grokfast-ticket)"] = round(base["mean"] / gt["mean"], 2)
            m4["grokfast-ticket t_gen / ticket t_gen"] = round(gt["mean"] / t["mean"], 2)
            holds4 = not missing and all_grok("grokfast-ticket") and base["mean"] / gt["mean"] >= 2.0
            holds5 = (
                not missing and all_grok("grokfast-ticket") and tot["grokfast-ticket"]["mean"] < tot["ticket"]["mean"]
            )
            m5["grokfast-ticket total / grokfast total"] = round(
                tot["grokfast-ticket"]["mean"] / tot["grokfast"]["mean"], 2
            )
            stats, ps4 = comparisons([("grokfast-ticket < base", sample("base"), sample("grokfast-ticket"))])
            m4.update(stats)
            totals = (self._total_sample(costs, "ticket"), self._total_sample(costs, "grokfast-ticket"))
            stats, ps5 = comparisons([("grokfast-ticket total < ticket total", *totals)], quantity="total model-steps")
            m5.update(stats)
        # without a grokfast-ticket for every seed the direction fails (the verdict needs no test)
        rows.append(self.claim(ctx, A4, m4, decide(holds4, ps4)))
        rows.append(self.claim(ctx, A5, m5, decide(holds5, ps5)))
        return rows

    def figure(self, ctx, summary, metrics):
        fig = new_figure(14, 4.5)
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        kind = self.filter_override(ctx)[0].split("=")[1]
        accuracy_curves(ax1, metrics, ARMS, f"grokking ticket and Grokfast ({kind})")
        costs = self.costs(ctx, summary)
        colors = [f"C{i}" for i in range(len(ARMS))]
        x = np.arange(len(ARMS))
        for i, arm in enumerate(ARMS):
            c = costs[costs.arm == arm]
            if c.empty:
                ax2.text(i, 0, "none", ha="center", va="bottom", fontsize=8)
                continue
            find, t = float(c.find.mean()), float(c.t_gen.mean())
            label = ("finding the ticket (dense steps)", "to t_gen (the arm's color)") if i == 1 else (None, None)
            ax2.bar(i, find, color="0.75", edgecolor="0.4", hatch="//", label=label[0])
            ax2.bar(i, t, bottom=find, color=colors[i], label=label[1])
            ax2.scatter(np.full(len(c), i), c.total, color="k", s=10, zorder=3)
            if len(c) > 1:
                ax2.errorbar(i, c.total.mean(), yerr=c.total.std(ddof=1), color="k", capsize=3, lw=1)
            if not c.grokked.all():
                ax2.text(i, c.total.max(), "≥ (censored)", ha="center", va="bottom", fontsize=7)
        ax2.set_xticks(x, ARMS, rotation=30, ha="right", fontsize=8)
        ax2.set_ylabel("model-steps to a generalized network")
        ax2.set_title("total cost (mean; dots: seeds)")
        # under the rotated arm names, off the bars and their "censored" marks
        ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
        return fig
