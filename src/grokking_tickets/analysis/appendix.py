"""The appendix analyses of the MLP `tickets` experiment: periodicity (claim C10) and dead
neurons. They read the run store (weights saved every ``train.checkpoint_every`` steps and the
metrics) and never train. Mask drift, Fourier entropy and graph metrics, v3's analyses of
structure, are in :mod:`.structure`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import UserError
from ..models.mlp import ModularMLP
from ..spec import MaskSpec
from ..store import Store
from ..tasks import build_dataset
from .claims import ClaimDef
from .figures import new_figure, save
from .fourier import periodicity
from .masks import dead_neurons
from .registry import ANALYSES, Analysis, AnalysisResult

EARLY_STEP = 2000  # "early in training" for C10, fixed before any run
PERIODICITY_FIGURE = "analysis-periodicity"  # the figure C10 is judged from

C10 = ClaimDef(
    "C10",
    "The ticket's hidden neurons are periodic in the input early in training; the base model's only around grokking.",
    "periodic neurons in the ticket early (App. G)",
    "holds if the ticket's mean top-1 share at step {early} is at least twice the base's, and the "
    "base's at its t_gen is at least twice its own at that step",
)
CLAIMS = (C10,)


def reads_mlp_tickets(experiment: str, cfg) -> bool:
    """Whether the `tickets` experiment filed as ``experiment`` is the one :func:`tickets_runs` reads."""
    return experiment == "tickets" and cfg.model.name == "mlp"


def tickets_runs(store: Store) -> pd.DataFrame:
    """The summary rows of the MLP `tickets` experiment (arms base and ticket); UserError if none."""
    summary = pd.read_csv(store.root / "summary.csv")
    rows = summary[(summary.experiment == "tickets") & summary.arm.isin(["base", "ticket"])]
    rows = rows[[store.spec(r).model.name == "mlp" for r in rows.run_id]]
    if rows.empty:
        raise UserError(f"{store.root} has no MLP `tickets` experiment to analyse; run `grokking-tickets run tickets` first")
    return rows


def _nearest_step(steps: list[int], target: float) -> int:
    return min(steps, key=lambda s: abs(s - target))


def periodicity_table(store: Store, runs: pd.DataFrame) -> pd.DataFrame:
    out = []
    for r in runs.itertuples():
        for step in store.weight_steps(r.run_id):
            out.append({"run_id": r.run_id, "arm": r.arm, "seed": r.seed, "step": step, **periodicity(store.weights(r.run_id, step))})
    return pd.DataFrame(out)


def run_appendix(root: str | Path) -> AnalysisResult:
    """Claim C10 and the dead neurons, from the MLP `tickets` experiment in store ``root``."""
    store = Store(root)
    runs = tickets_runs(store)
    per = periodicity_table(store, runs)
    mean = per.groupby(["arm", "step"])[["top_share", "entropy"]].mean()
    base_tgen = runs[runs.arm == "base"].t_gen.dropna()
    steps = sorted(per.step.unique())
    early = _nearest_step(steps, EARLY_STEP)
    tick_early = float(mean.loc[("ticket", early), "top_share"])
    base_early = float(mean.loc[("base", early), "top_share"])
    base_at_gen = None
    if len(base_tgen):
        gen_step = _nearest_step(steps, float(base_tgen.mean()))
        base_at_gen = float(mean.loc[("base", gen_step), "top_share"])
    uniform = float(per.uniform_share.iloc[0])
    holds = base_at_gen is not None and tick_early >= 2 * base_early and base_at_gen >= 2 * base_early
    measured = {
        f"ticket top-1 frequency share at step {early}": round(tick_early, 3),
        f"base top-1 frequency share at step {early}": round(base_early, 3),
        "base top-1 frequency share at its mean t_gen": None if base_at_gen is None else round(base_at_gen, 3),
        "share for a spread-out spectrum": round(uniform, 3),
    }
    c10 = C10.row("", measured, holds, early=early)  # only the paper's MLP is analysed: no label

    spec = store.spec(runs.run_id.iloc[0])

    # dead neurons at the last step, over every input pair
    data = build_dataset(spec.task)
    every = torch.cat([data.train_x, data.test_x])
    dead = {
        arm: [dead_neurons(store.weights(r.run_id, int(r.steps)), every) for r in runs[runs.arm == arm].itertuples()]
        for arm in ("base", "ticket")
    }

    notes = {f"dead neurons at the last step (of {spec.model.d_hidden})": {arm: v for arm, v in dead.items()}}
    sections = [
        {"title": "Periodicity of hidden neurons (C10)", "figure": _periodicity_figure(store, runs, mean, early),
         "notes": None, "text": ""},
        {"title": "Dead neurons", "figure": None, "notes": notes, "text": ""},
    ]  # fmt: skip
    return AnalysisResult([c10], sections, {"periodicity": per})


def ticket_mask(store: Store, runs: pd.DataFrame, seed: int) -> MaskSpec:
    """How the ticket of ``seed`` was pruned (of another seed, where this one has none yet)."""
    tickets = runs[runs.arm == "ticket"]
    own = tickets[tickets.seed == seed]
    mask = store.spec((own if len(own) else tickets).run_id.iloc[0]).init.mask
    return MaskSpec("magnitude", 0.0) if mask is None else mask  # None: at rate 0.0 the ticket is the base run


def _periodicity_figure(store: Store, runs: pd.DataFrame, mean: pd.DataFrame, early: int) -> str:
    fig = new_figure(15, 4)
    axes = fig.subplots(1, 3)
    for arm, color in (("base", "C0"), ("ticket", "C1")):
        m = mean.loc[arm]
        axes[0].plot(m.index, m.top_share, color=color, label=arm)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("mean top-1 share of a neuron's power")
    axes[0].set_title("periodicity of hidden neurons")
    axes[0].legend()
    for ax, arm in zip(axes[1:], ("base", "ticket")):
        rid = runs[runs.arm == arm].run_id.iloc[0]
        w = store.weights(rid, early)
        P = ModularMLP.input_table(w).numpy()  # [H, p]
        strongest = np.argsort(-np.abs(P).sum(1))[:4]
        for j in strongest:
            ax.plot(P[j], lw=1)
        ax.set_xlabel("input token")
        ax.set_ylabel("input weight of a neuron")
        ax.set_title(f"{arm}, step {early}: 4 strongest neurons")
    return save(fig, store.root, PERIODICITY_FIGURE)


ANALYSES.register(
    Analysis("appendix", CLAIMS, {"C10": PERIODICITY_FIGURE}, run_appendix, reads_tickets=reads_mlp_tickets)
)
