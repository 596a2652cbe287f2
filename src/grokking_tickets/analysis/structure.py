"""Structure over training (v3 §5 and App. J), read from the run store of the MLP `tickets`
experiment; nothing trains. Three analyses, each a report section:

- **Mask drift** (claim S1): the Jaccard distance, per matrix, between the ticket-rate magnitude
  masks of each dense run's checkpoints δt = 2,000 steps apart (:func:`.masks.mask_drift`), and
  whether its largest value falls at the test-accuracy jump.
- **Fourier entropy**: the entropy of the power spectrum of each hidden neuron's input weights
  (rows of W_in · W_emb; :func:`.fourier.fourier_entropy`), mean over neurons, ticket against
  base over training, and at v3's checkpoints 0k / 2k / 30k.
- **Graph metrics** (claim S2; :mod:`.graphs`): of the dense runs' magnitude masks over training
  (weighted metrics with the weights of that checkpoint), and at equal density of the grokked
  ticket's mask against random, SNIP, GraSP and SynFlow masks of θ0 (built here with the
  package's scorers) and against tickets of earlier checkpoints (weighted metrics with θ0, which
  every one of these masks is applied to).

The settings below were fixed before any result was seen (docs/experiments.md: structure over training).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..errors import UserError
from ..models import build_model
from ..models.mlp import ModularMLP
from ..pruning import build_mask, mask_from_scores
from ..pruning.base import derived_seed
from ..pruning.scorers.magnitude import magnitude
from ..pruning.scorers.random import random_scores
from ..spec import MaskSpec
from ..store import Store
from ..tasks import build_dataset
from .appendix import periodicity_table, reads_mlp_tickets, ticket_mask, tickets_runs
from .claims import ClaimDef, Sample, comparisons, decide
from .figures import new_figure, save
from .graphs import DEFAULT_BOUND, network_metrics
from .masks import mask_drift
from .registry import ANALYSES, Analysis, AnalysisResult
from .stats import chance_p, mean_ci

JACCARD_DELTA = 2000  # v3's δt between the compared masks
S1_TOLERANCE = 0.25  # |t_JD − t_gen| / t_gen at most this: the largest change "coincides" with the jump
# Chosen after the first result, so reported beside S1's verdict and never in it: in the MLP the
# largest change by far is the first interval (θ0 to 2k, the masks of random weights giving way),
# and the argmax after this step is the one that can meet the jump.
POST_HOC_AFTER = 2 * JACCARD_DELTA
FOURIER_STEPS = (0, 2000, 30000)  # v3's checkpoints of the Fourier-entropy comparison
EARLIER_TICKET_STEPS = (2000, 5000, 10000, 16000)  # C4's grid: tickets from before and during grokking
GRAPH_EVERY = 2000  # graph metrics of the dense run's masks every this many steps
RANDOM_DRAWS = 3  # random masks per seed in S2 (a random mask's graph barely depends on θ0)
PAI_METHODS = ("random", "snip", "grasp", "synflow")
LAYER_MATCHED = "random, layer-matched"  # random within each matrix at the ticket's density there
LAYERS = ModularMLP.names  # forward order: tokens -> W_emb -> W_in -> hidden -> W_out -> W_unemb -> logits
SHOWN = ("spectral_gap", "weighted_spectral_gap", "ramanujan_gap", "avg_path_length", "clustering")
LABELS = {
    "spectral_gap": "spectral gap",
    "weighted_spectral_gap": "weighted spectral gap",
    "ramanujan_gap": "Ramanujan gap",
    "avg_path_length": "average path length",
    "clustering": "clustering coefficient (bipartite)",
}
DRIFT_FIGURE, ENTROPY_FIGURE = "structure-mask-drift", "structure-fourier-entropy"
GRAPHS_FIGURE, MASKS_FIGURE = "structure-graphs-training", "structure-graphs-masks"

S1 = ClaimDef(
    "S1",
    "The largest change of the magnitude mask between checkpoints 2,000 steps apart coincides with the "
    "test-accuracy jump.",
    "largest per-layer Jaccard distance at the test-accuracy jump (16k–20k; v3 §5, no numbers)",
    "per seed of the dense run, t_JD = the step t with the largest Jaccard distance between the magnitude "
    "masks (the ticket's rate and scope) at t − {delta} and t, averaged over the matrices {layers}; it "
    "coincides if |t_JD − t_gen| / t_gen <= {tol}. Holds if it coincides for every seed that grokked and "
    "the chance of that many coincidences, were t_JD any compared step with equal probability, is below "
    "0.05 (Poisson-binomial tail)",
    differs="the drift includes θ0 → 2k, whose distance is always the largest; their notebooks plot from 2k–3k on "
    "(mask_sim.ipynb at f35d376, figure.ipynb at 23016fe)",
)
S2 = ClaimDef(
    "S2",
    "The grokked ticket's mask has a longer average path length and a lower clustering coefficient than "
    "random masks at the same density.",
    "longer average path length, lower clustering coefficient (v3 App. J, no numbers)",
    "graph: the layered graph of {layers} (units as nodes, kept weights as unweighted undirected edges, "
    "units with no kept weight left out); path length: mean hop distance over connected pairs; "
    "clustering: Latapy et al.'s bipartite coefficient (a layered graph has no triangles). {draws} random "
    "masks per seed. Holds if the ticket's mean path length is above the random masks' and its mean "
    "clustering below, each one-sided Mann–Whitney p < 0.05",
)
# The authors' window (their notebooks plot the drift from 2k–3k on: mask_sim.ipynb at f35d376,
# figure.ipynb at 23016fe): the comparisons against θ0 left out, i.e. only steps t with t − δt > 0.
AUTHORS_WINDOW = "authors-window"
S1_AUTHORS = dataclasses.replace(
    S1,
    protocol=AUTHORS_WINDOW,
    differs="the window only: comparisons against θ0 left out, as their notebooks plot (mask_sim.ipynb at "
    "f35d376, figure.ipynb at 23016fe); their masks are per layer, ours at the ticket's rate and scope",
)
CLAIMS = (S1, S2)
FIGURE_OF_CLAIM = {"S1": DRIFT_FIGURE, "S2": MASKS_FIGURE}


def _np(mask: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {n: m.detach().cpu().numpy() for n, m in mask.items()}


def _grid(saved: list[int], every: int) -> list[int]:
    """The saved steps on a grid of ``every``; all saved steps where that grid has under 3."""
    on = [s for s in saved if s % every == 0]
    return on if len(on) >= 3 else saved


# -- mask drift (S1) -----------------------------------------------------------------------------


def drift_table(store: Store, runs: pd.DataFrame) -> tuple[pd.DataFrame, int | None]:
    """Per base run and step t: each matrix's Jaccard distance to the mask at t − δt, their mean
    (``mean``), and the test accuracy at t. δt is JACCARD_DELTA where the checkpoints allow at
    least 3 such pairs; otherwise consecutive checkpoints (short runs; δt None)."""
    metrics = pd.read_parquet(store.root / "metrics.parquet")
    base = runs[runs.arm == "base"]
    saved = {r.run_id: store.weight_steps(r.run_id) for r in base.itertuples()}
    fits = all(sum(s - JACCARD_DELTA in v for s in v) >= 3 for v in saved.values())
    used = JACCARD_DELTA if fits else None  # one δt for every seed
    rows = []
    for r in base.itertuples():
        mask = ticket_mask(store, runs, r.seed)
        weights = {s: store.weights(r.run_id, s) for s in saved[r.run_id]}
        acc = metrics[metrics.run_id == r.run_id].set_index("step").test_acc
        for row in mask_drift(weights, mask.rate, mask.scope, used):
            jd = {n: row[n] for n in LAYERS}
            rows.append({"seed": r.seed, **row, "mean": float(np.mean(list(jd.values()))),
                         "test_acc": float(acc.get(row["step"], np.nan))})  # fmt: skip
    return pd.DataFrame(rows), used


def judge_s1(drift: pd.DataFrame, runs: pd.DataFrame, delta: int | None, authors_window: bool = False) -> dict[str, Any]:
    """S1 from the drift table; ``authors_window``: judged under the authors' window (only steps t
    with t − δt > 0), as the row S1@authors-window."""
    base = runs[runs.arm == "base"].set_index("seed")
    if authors_window and delta:
        drift = drift[drift.step > delta]
    per: dict[str, Any] = {}
    hits, chances, offsets = 0, [], []
    for seed, d in drift.groupby("seed"):
        t_gen = base.t_gen.get(seed)
        t_jd = int(d.step.iloc[int(np.argmax(d["mean"].to_numpy()))])  # the first step on ties
        by_layer = {n: int(d.step.iloc[int(np.argmax(d[n].to_numpy()))]) for n in LAYERS}
        entry = {"t_JD": t_jd, "t_gen": None if pd.isna(t_gen) else int(t_gen), "t_JD per matrix": by_layer}
        if not pd.isna(t_gen):
            off = abs(t_jd - t_gen) / t_gen
            entry["|t_JD − t_gen| / t_gen"] = round(off, 3)
            offsets.append(off)
            hits += off <= S1_TOLERANCE
            # the chance that a step drawn uniformly from the compared ones falls within the tolerance
            chances.append(float(np.mean(np.abs(d.step.to_numpy() - t_gen) / t_gen <= S1_TOLERANCE)))
        if delta and not pd.isna(t_gen):  # post hoc, reported beside the verdict: see POST_HOC_AFTER
            late = d[d.step > POST_HOC_AFTER]
            if len(late):
                t_late = int(late.step.iloc[int(np.argmax(late["mean"].to_numpy()))])
                entry[f"post hoc: t_JD after step {POST_HOC_AFTER:,}"] = t_late
                entry[f"post hoc: offset after step {POST_HOC_AFTER:,}"] = round(abs(t_late - t_gen) / t_gen, 3)
        per[str(seed)] = entry
    judged = len(offsets)
    p = chance_p(hits, chances)
    direction = None if judged == 0 else hits == judged
    ci = mean_ci(offsets) if judged else None
    measured = {
        "per seed": per,
        "seeds that coincide": f"{hits} of {judged} that grokked (of {len(per)})",
        "mean |t_JD − t_gen| / t_gen": None if ci is None else round(ci["mean"], 3),
        "ci95": {"mean offset": None if not ci or ci["ci95"] is None else [round(x, 3) for x in ci["ci95"]]},
        "n": {"seeds": judged},
        "p": {"coincidence by chance": None if p is None else float(f"{p:.4g}")},
        "statistics": "p: the Poisson-binomial chance of at least this many coincidences were t_JD uniform over "
        "the compared steps (each seed its own chance); 95% CI of the mean offset: bootstrap "
        f"({ci['ci_method'] if ci else 'none'})",
    }
    layers = ", ".join(LAYERS)
    delta_text = f"{delta:,}" if delta else "one checkpoint (short run)"
    defn, label = (S1_AUTHORS, AUTHORS_WINDOW) if authors_window else (S1, "")
    return defn.row(label, measured, decide(direction, [p]), delta=delta_text, layers=layers, tol=S1_TOLERANCE)


# -- Fourier entropy -----------------------------------------------------------------------------


def entropy_at(per: pd.DataFrame, targets=FOURIER_STEPS) -> pd.DataFrame:
    """Mean ± std over seeds of the Fourier entropy per arm at each target step (the nearest saved)."""
    steps = sorted(per.step.unique())
    rows = []
    for target in targets:
        step = min(steps, key=lambda s: abs(s - target))
        at = per[per.step == step]
        row = {"step": f"{target:,}" if step == target else f"{target:,} (nearest saved: {step:,})"}
        for arm in ("base", "ticket"):
            e = at[at.arm == arm].entropy
            row[arm] = f"{e.mean():.3f} ± {e.std(ddof=1) if len(e) > 1 else 0.0:.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


# -- graph metrics (S2) --------------------------------------------------------------------------


def graph_curves(store: Store, runs: pd.DataFrame) -> pd.DataFrame:
    """Every graph metric of each dense run's magnitude mask (the ticket's rate and scope) every
    GRAPH_EVERY steps; weighted metrics with that checkpoint's weights."""
    rows = []
    for r in runs[runs.arm == "base"].itertuples():
        spec = ticket_mask(store, runs, r.seed)
        for step in _grid(store.weight_steps(r.run_id), GRAPH_EVERY):
            w = store.weights(r.run_id, step)
            mask = mask_from_scores(magnitude(w), spec.rate, spec.scope)
            rows.append({"seed": r.seed, "step": step, **network_metrics(_np(mask), _np(w), LAYERS, DEFAULT_BOUND)})
    return pd.DataFrame(rows)


def comparison_masks(store: Store, base_id: str, ticket_id: str) -> dict[str, dict[str, torch.Tensor]]:
    """The masks S2 compares for one seed, by kind: the grokked ticket's (as it trained), random
    (RANDOM_DRAWS draws: ``random`` is the one the `pai` experiment's random arm uses), SNIP,
    GraSP and SynFlow of θ0 at the ticket's rate and scope, random masks with the ticket's
    density in every matrix (RANDOM_DRAWS draws), and magnitude masks of the dense run at earlier
    checkpoints (``ticket@STEP``)."""
    mspec = store.spec(ticket_id).init.mask
    ticket = store.mask(ticket_id)
    if mspec is None or ticket is None:
        raise UserError(f"ticket run {ticket_id} has no mask (rate 0.0): no structure to compare")
    base = store.spec(base_id)
    model = build_model(base.model, build_dataset(base.task, base.split_seed))
    theta0 = store.theta0(base_id)
    out = {"ticket": ticket}
    for method in PAI_METHODS:
        out[method] = build_mask(MaskSpec(method, mspec.rate, mspec.scope), base, model, theta0, store)
    for draw in range(1, RANDOM_DRAWS):
        scores = random_scores(model.shapes(), derived_seed(base.seed, f"random-mask:{draw}"))
        out[f"random ({draw})"] = mask_from_scores(scores, mspec.rate, mspec.scope)
    # a control beside the verdict: random within each matrix at the ticket's own density there
    # (global magnitude pruning leaves the matrices at different densities; uniform random does not)
    for draw in range(RANDOM_DRAWS):
        scores = random_scores(model.shapes(), derived_seed(base.seed, f"random-layer-matched:{draw}"))
        rates = {n: 1 - int(ticket[n].sum()) / ticket[n].numel() for n in scores}  # exact counts survive n_pruned
        out[f"{LAYER_MATCHED} ({draw})"] = {n: mask_from_scores({n: scores[n]}, rates[n])[n] for n in scores}
    saved = store.weight_steps(base_id)
    earlier = [s for s in EARLIER_TICKET_STEPS if s in saved and s < mspec.step]
    earlier = earlier or [s for s in saved if 0 < s < mspec.step][:4]  # short runs: their first checkpoints
    for step in earlier:
        out[f"ticket@{step}"] = mask_from_scores(magnitude(store.weights(base_id, step)), mspec.rate, mspec.scope)
    return out


def mask_comparison(store: Store, runs: pd.DataFrame) -> pd.DataFrame:
    """Every graph metric of every compared mask, per seed; weighted metrics with θ0."""
    rows = []
    tickets = runs[runs.arm == "ticket"].set_index("seed")
    for r in runs[runs.arm == "base"].itertuples():
        if r.seed not in tickets.index:
            continue
        theta0 = _np(store.theta0(r.run_id))
        for kind, mask in comparison_masks(store, r.run_id, tickets.run_id[r.seed]).items():
            group = kind.split(" (")[0]  # the draws of one kind of random mask form one group
            rows.append({"seed": r.seed, "mask": kind, "group": group,
                         **network_metrics(_np(mask), theta0, LAYERS, DEFAULT_BOUND)})  # fmt: skip
    return pd.DataFrame(rows)


def _sample(df: pd.DataFrame, group: str, metric: str) -> Sample:
    rows = df[df.group == group].sort_values("seed", kind="stable")
    values = tuple(float(v) for v in rows[metric])
    return Sample(group, tuple(int(s) for s in rows.seed), values, tuple(round(v, 4) for v in values))


def judge_s2(cmp: pd.DataFrame) -> dict[str, Any]:
    if cmp.empty:
        return S2.row("", {"why": "no seed has both a base run and a ticket"}, None, layers=", ".join(LAYERS),
                      draws=RANDOM_DRAWS)  # fmt: skip
    # each comparison claimed-larger first: the ticket's path length, the random masks' clustering
    apl = {g: _sample(cmp, g, "avg_path_length") for g in ("ticket", "random")}
    cc = {g: _sample(cmp, g, "clustering") for g in ("ticket", "random")}
    m1, p1 = comparisons([("ticket path length > random", apl["ticket"], apl["random"])],
                         quantity="average path length", censored=False, digits=4)  # fmt: skip
    m2, p2 = comparisons([("random clustering > ticket", cc["random"], cc["ticket"])],
                         quantity="clustering coefficient", censored=False, digits=4)  # fmt: skip
    mean = cmp.groupby("group")[list(SHOWN)].mean()
    direction = bool(
        mean.loc["ticket", "avg_path_length"] > mean.loc["random", "avg_path_length"]
        and mean.loc["ticket", "clustering"] < mean.loc["random", "clustering"]
    )
    measured = {
        "ticket (mean over seeds)": {LABELS[k]: round(float(mean.loc["ticket", k]), 4) for k in SHOWN},
        "random (mean over seeds and draws)": {LABELS[k]: round(float(mean.loc["random", k]), 4) for k in SHOWN},
        **({f"{LAYER_MATCHED} (control, not judged)": {LABELS[k]: round(float(mean.loc[LAYER_MATCHED, k]), 4)
                                                       for k in SHOWN}} if LAYER_MATCHED in mean.index else {}),
        "n": {**m1["n"], **m2["n"]},
        "per-seed average path length": m1["per-seed average path length"],
        "per-seed clustering coefficient": m2["per-seed clustering coefficient"],
        "effect": {**m1["effect"], **m2["effect"]},
        "ci95": {**m1["ci95"], **m2["ci95"]},
        "p": {**m1["p"], **m2["p"]},
        "statistics": m1["statistics"],
    }
    return S2.row("", measured, decide(direction, p1 + p2), layers=", ".join(LAYERS), draws=RANDOM_DRAWS)


def comparison_table(cmp: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds (and random draws) of each shown metric, per kind of mask."""
    g = cmp.groupby("group", sort=False)[list(SHOWN)]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    out = pd.DataFrame(index=mean.index)
    for k in SHOWN:
        out[LABELS[k]] = [f"{m:.3f} ± {s:.3f}" for m, s in zip(mean[k], std[k])]
    return out.reset_index().rename(columns={"group": "mask"})


# -- the analysis --------------------------------------------------------------------------------


def run_structure(root: str | Path) -> AnalysisResult:
    """Claims S1 and S2, and the report sections of the structure analyses (title, figure,
    notes, text), from the MLP `tickets` experiment in store ``root``."""
    store = Store(root)
    runs = tickets_runs(store)
    drift, delta = drift_table(store, runs)
    s1 = judge_s1(drift, runs, delta)
    s1_authors = judge_s1(drift, runs, delta, authors_window=True)
    per = periodicity_table(store, runs)
    entropy = entropy_at(per)
    curves = graph_curves(store, runs)
    cmp = mask_comparison(store, runs)
    s2 = judge_s2(cmp)
    t_gen = runs[runs.arm == "base"].t_gen.dropna()
    delta_text = f"{delta:,} steps" if delta else "one checkpoint (a short run)"
    sections = [
        {"title": "Structure: mask drift (S1)", "figure": _drift_figure(store, drift, t_gen), "text": "",
         "notes": {"δt between compared masks": delta_text,
                   "mean Jaccard distance per matrix": {n: round(float(drift[n].mean()), 3) for n in LAYERS}}},
        {"title": "Structure: Fourier entropy of hidden neurons' input weights", "figure": _entropy_figure(store, per),
         "text": entropy.to_string(index=False),
         "notes": {"entropy of a flat spectrum (log of the number of non-DC frequencies)":
                   round(float(per.uniform_entropy.iloc[0]), 3)}},
        {"title": "Structure: graph metrics of the dense run's magnitude masks", "text": "", "notes": None,
         "figure": _curves_figure(store, curves, t_gen)},
        {"title": "Structure: graph metrics of masks at the ticket's density (S2)", "notes": None,
         "figure": _masks_figure(store, cmp), "text": comparison_table(cmp).to_string(index=False)},
    ]  # fmt: skip
    return AnalysisResult([s1, s1_authors, s2], sections, {"drift": drift, "entropy": per, "curves": curves, "masks": cmp})


# -- figures -------------------------------------------------------------------------------------


def _mark_tgen(ax, t_gen: pd.Series) -> None:
    if len(t_gen):
        ax.axvspan(t_gen.min(), t_gen.max(), color="grey", alpha=0.15, lw=0)
        ax.axvline(t_gen.mean(), color="grey", ls=":", lw=1, label="base t_gen (range shaded)")


def _drift_figure(store: Store, drift: pd.DataFrame, t_gen: pd.Series) -> str:
    fig = new_figure(12, 4)
    ax1, ax2 = fig.subplots(1, 2)
    g = drift.groupby("step")
    for n in LAYERS:
        ax1.plot(g[n].mean().index, g[n].mean().values, label=n)
    _mark_tgen(ax1, t_gen)
    ax1.set_xlabel("step t")
    ax1.set_ylabel("Jaccard distance of the masks at t − δt and t")
    ax1.set_title("mask drift per matrix (mean over seeds)")
    ax1.legend(fontsize=8)
    acc = ax1.twinx()
    acc.plot(g.test_acc.mean().index, g.test_acc.mean().values, color="k", lw=1, alpha=0.5)
    acc.set_ylabel("test accuracy (black)")
    for seed, d in drift.groupby("seed"):
        ax2.plot(d.step, d["mean"], label=f"seed {seed}")
    _mark_tgen(ax2, t_gen)
    ax2.set_xlabel("step t")
    ax2.set_ylabel("mean Jaccard distance over matrices")
    ax2.set_title("per seed: the largest change and t_gen")
    ax2.legend(fontsize=8)
    return save(fig, store.root, DRIFT_FIGURE)


def _entropy_figure(store: Store, per: pd.DataFrame) -> str:
    fig = new_figure(7, 4)
    ax = fig.subplots()
    for arm, color in (("base", "C0"), ("ticket", "C1")):
        g = per[per.arm == arm].groupby("step").entropy
        m, s = g.mean(), g.std().fillna(0.0)
        ax.plot(m.index, m.values, color=color, label=arm)
        ax.fill_between(m.index, (m - s).values, (m + s).values, color=color, alpha=0.2, lw=0)
    ax.axhline(per.uniform_entropy.iloc[0], color="grey", ls="--", lw=1, label="flat spectrum")
    ax.set_xlabel("step")
    ax.set_ylabel("Fourier entropy (nats, mean over neurons)")
    ax.set_title("Fourier entropy of W_in · W_emb rows")
    ax.legend(fontsize=8)
    return save(fig, store.root, ENTROPY_FIGURE)


def _curves_figure(store: Store, curves: pd.DataFrame, t_gen: pd.Series) -> str:
    fig = new_figure(18, 3.6)
    axes = fig.subplots(1, len(SHOWN))
    for ax, k in zip(axes, SHOWN):
        g = curves.groupby("step")[k]
        m, s = g.mean(), g.std().fillna(0.0)
        ax.plot(m.index, m.values, color="C0")
        ax.fill_between(m.index, (m - s).values, (m + s).values, color="C0", alpha=0.2, lw=0)
        _mark_tgen(ax, t_gen)
        ax.set_xlabel("step")
        ax.set_title(LABELS[k] + (" (mean over matrices)" if "gap" in k else ""), fontsize=9)
    if len(t_gen):
        axes[0].legend(fontsize=7)
    return save(fig, store.root, GRAPHS_FIGURE)


def _masks_figure(store: Store, cmp: pd.DataFrame) -> str:
    fig = new_figure(18, 3.8)
    axes = fig.subplots(1, len(SHOWN))
    groups = list(dict.fromkeys(cmp.group))
    for ax, k in zip(axes, SHOWN):
        g = cmp.groupby("group")[k]
        m, s = g.mean().reindex(groups), g.std().fillna(0.0).reindex(groups)
        colors = ["C1" if x == "ticket" else "C7" if x.startswith("random") else "C0" for x in groups]
        ax.bar(range(len(groups)), m.values, yerr=s.values, color=colors)
        ax.set_xticks(range(len(groups)), groups, rotation=60, ha="right", fontsize=7)
        lo, hi = float(np.nanmin(m - s)), float(np.nanmax(m + s))
        ax.set_ylim(lo - 0.1 * (hi - lo + 1e-9), hi + 0.1 * (hi - lo + 1e-9))
        ax.set_title(LABELS[k], fontsize=9)
    return save(fig, store.root, MASKS_FIGURE)


ANALYSES.register(Analysis("structure", CLAIMS, FIGURE_OF_CLAIM, run_structure, reads_tickets=reads_mlp_tickets))
