"""How sensitive each claim is to the choices behind it: every claim of a
configuration judged again under protocol variants and under training settings the paper never
tried, as a claims x variants grid that ends each claim as robust, fragile or fails.

Two kinds of variant:

* **Re-judged** (cost nothing): the same runs, judged at another ``train.threshold`` (90%, 99%),
  or a variant the claim's own row already reports (C7: the authors' per-matrix norm definition;
  the norms averaged only after every arm has generalized). :class:`JudgeContext` trains
  nothing and writes nothing: a run that is not in the store makes the cell "not run".
* **Trained**: the MLP on primes 59, 97 and 113, on the ops sub and x^2+xy+y^2, and with each
  run's own train/test split (``task.split = "seed"``, the authors' code). Their runs live in
  the same store, filed under ``EXPERIMENT~VARIANT`` and judged under the label ``VARIANT``, so
  they never mix with the configuration's own experiments and their claim rows (C1@p97) stay
  out of claims.json: they are in ``sensitivity.json`` only. The exception are the variants that
  *are* the authors' protocol (``Variant.protocol``: their split, their 50k budget, each citing
  the authors' file and commit): their rows (C1@split-seed) join claims.json with that protocol
  named, so the claims table says under which protocol each verdict was reached.

Classification. At 3 seeds against 3, no one-sided rank test can reach p < 0.05 (the floor is
exactly 0.05), so a grid of "holds" would say nothing. A claim is therefore classified by the
direction its rule states, and the grid keeps the verdict of each cell (a cell "holds" only where
its test is significant too): **robust** where the direction is met in every variant that could
judge it (two or more), **fails** where it is met in none, **fragile** otherwise, with the
variants where it is met. A cell "not run" (the variant lacks runs, or the claim is not one of
its experiment's) does not count either way.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis.claims import claim_key, merge_claims, verdict_of
from ..analysis.tables import build_tables
from ..config import Config, apply_overrides
from ..errors import UserError
from ..registry import Registry
from ..spec import RunSpec
from ..store import Store, write_json
from .base import EXPERIMENTS, Context, dense_first, experiment_label
from .run import run_experiment


@dataclass
class _Relabelled(Context):
    """A context whose claim ids carry ``claim_label`` in place of the configuration's label
    (C1@p97), and whose tables of the experiment it files under are built in memory."""

    claim_label: str | None = None

    @property
    def label(self) -> str:
        return self.claim_label if self.claim_label is not None else super().label

    def _tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        summary, metrics = build_tables(self.store, self.cfg.train.threshold, {self.experiment})
        if metrics is None:  # JudgeContext.train_arms found every run filed here; TrainContext filed them
            raise RuntimeError(f"no finished run is filed under {self.experiment}")
        return summary, metrics


@dataclass
class JudgeContext(_Relabelled):
    """A Context that judges what a store holds and changes nothing: it trains nothing, files
    nothing, and builds its tables in memory. A stage whose runs the store does not hold, all
    finished and filed under this experiment, gives None: the experiment is "not run" here."""

    _filed_ids: dict | None = None  # (arm, seed) -> run id, of the runs filed under this experiment

    @property
    def _filed(self) -> dict[tuple[str, int], str]:
        if self._filed_ids is None:
            self._filed_ids = {
                (m["arm"], int(m["seed"])): m["run_id"] for m in self.store.members() if m["experiment"] == self.experiment
            }
        return self._filed_ids

    def _spec(self, arm, seed: int, by_name) -> RunSpec | None:
        """In a published folder (no weights: a norm-matched control's spec, which measures the
        ticket's mask, cannot be rebuilt) the run is the one the experiment registered for this
        arm and seed when it ran (None: none was); elsewhere the arm's spec, as when training."""
        if not self.store.published:
            return super()._spec(arm, seed, by_name)
        rid = self._filed.get((arm.name, seed))
        return None if rid is None else self.store.spec(rid)

    def train_arms(self, arms, seeds=None) -> dict[str, list[RunSpec]] | None:
        """Every arm's runs for every seed, where the store holds them all; None otherwise."""
        seeds = seeds or self.seeds
        by_name = self._by_name(arms)
        out: dict[str, list[RunSpec]] = {}
        for stage in dense_first(arms):  # derived arms read dense weights
            for arm in stage:
                chains = [] if self.store.published else [r for s in seeds for r in arm.chain(self, s, by_name)]
                specs = [self._spec(arm, s, by_name) for s in seeds]
                if not all(r is not None and self.store.is_done(r.run_id) for r in [*chains, *specs]):
                    return None
                if not {r.run_id for r in specs} <= set(self._filed.values()):
                    return None  # finished, but not filed under this experiment: not its tables
                out[arm.name] = specs
        return out


@dataclass
class TrainContext(_Relabelled):
    """Trains what is missing and files it under its own experiment name (``tickets~p97``)."""


# -- variants -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str  # the grid's column, and the label of its claim ids
    about: str  # one line for the report
    overrides: tuple[str, ...] = ()  # --set overrides of the configuration
    trained: bool = False  # needs runs of its own (else: the configuration's runs, re-judged)
    # a claim row's measured field that holds this variant's direction (C7's definitions); such a
    # variant judges nothing itself
    field: dict[str, str] = field(default_factory=dict)
    # where the variant is the authors' own setting: what it takes from them, citing their file
    # and commit; its claim rows join claims.json under this protocol (the module docstring)
    protocol: str | None = None
    # the model.name values it is meant for (None: all); the default grid leaves it out elsewhere
    models: tuple[str, ...] | None = None


VARIANTS: Registry[Variant] = Registry("variant")
for _v in (
    # thresholds: MNIST's configuration is judged at 85%, the others at 95%; a variant whose
    # threshold is the configuration's own is left out of its grid (it would repeat "as run")
    Variant("t85", "t_mem / t_gen at 85% accuracy", ("train.threshold=0.85",)),
    Variant("t90", "t_mem / t_gen at 90% accuracy", ("train.threshold=0.9",)),
    Variant("t95", "t_mem / t_gen at 95% accuracy", ("train.threshold=0.95",)),
    Variant("t99", "t_mem / t_gen at 99% accuracy (Fig. 1 calls the ticket generalized near 100%)",
            ("train.threshold=0.99",)),
    Variant("authors-norms", "C7 with the authors' norms: the mean over matrices of each matrix's L1 / Frobenius norm",
            field={"C7": "direction holds in the authors' definition"}),
    Variant("c7-late", "C7 with the norms averaged only after every run has generalized",
            field={"C7": "direction holds after every run's t_gen"}),
    Variant("p59", "the configuration on p = 59", ("task.p=59",), trained=True),
    Variant("p97", "the configuration on p = 97", ("task.p=97",), trained=True),
    Variant("p113", "the configuration on p = 113", ("task.p=113",), trained=True),
    # seeds no setting of the presets was chosen on (every sweep of exploratory.md used seeds 0-2)
    Variant("seeds-8-15", "the configuration on held-out seeds 8-15", ("seeds=[8,9,10,11,12,13,14,15]",), trained=True),
    Variant("sub", "the configuration on (a - b) mod p", ("task.op=sub",), trained=True),
    Variant("x2xyy2", "the configuration on (a^2 + ab + b^2) mod p", ("task.op=x2xyy2",), trained=True),
    Variant("split-seed", "each run's own train/test split, drawn by its seed (the authors' code)",
            ("task.split=seed",), trained=True,
            protocol="each run's train/test split drawn from its seed (data_module.py gen_train_test at bd705c8)"),
    # gouki510/Grokking-Tickets at 790d402 (2023-12-04): config/config.py trains the dense MLP
    # num_epochs = 50000 steps at weight decay 1, and config/config_pruning.py prunes its "final"
    # checkpoint and retrains the ticket num_epochs = 50000 steps (weight decay 1, kept 0.4)
    Variant("budget-50k", "the authors' 50k budget: dense runs and tickets train 50,000 steps, the ticket from the "
            "dense run's final weights", ("train.steps=50000", "ticket.step=50000"), trained=True,
            protocol="dense runs and tickets train 50,000 steps, the ticket pruned from the final weights "
                     "(config/config.py and config/config_pruning.py at 790d402)"),
    # gouki510/Grokking-Tickets at 74c55e6: edge_pop_wo_decay.sh runs train_slth.py -o adam -w 1
    # -l 0.01 --pruning_rate 0.4 (kept) on the checkpoint 1000.pth of a dense run at
    # config_slth.py's frac_train 0.5, and draws each run's split from its -s seed while the
    # checkpoint stays one run's: the popup runs' splits are their seeds', the sources' the fixed one
    Variant("authors-popup", "E1 as the authors' edge-popup script runs it: θ_mem at step 1,000, score lr 0.01, "
            "half the pairs for training, each popup run's split drawn from its seed",
            ("task.train_frac=0.5", "popup.mem_step=1000", "popup.lr=0.01", "popup.split=seed"), trained=True,
            protocol="θ_mem at step 1,000, score lr 0.01, train_frac 0.5, each popup run's split drawn from its "
                     "seed over weights trained on another split (train_slth.py, config/config_slth.py and "
                     "edge_pop_wo_decay.sh at 74c55e6)"),
    # the same, with the authors' second script (edge_pop_w_decay.sh at 74c55e6: train_slth.py
    # --weight_learning --double_reg): the kept weights train with the scores, one AdamW (lr
    # 0.01, weight decay 1) over both
    Variant("weight-learning", "authors-popup with the kept weights training too, under the mask (the authors' "
            "--weight_learning --double_reg)",
            ("task.train_frac=0.5", "popup.mem_step=1000", "popup.lr=0.01", "popup.split=seed",
             "popup.learn_weights=true"), trained=True,
            protocol="authors-popup's settings, and the kept weights train with the scores under one AdamW at lr "
                     "0.01 and weight decay 1 (train_slth.py --weight_learning --double_reg, edge_pop_w_decay.sh "
                     "at 74c55e6)"),
    # gouki510/Grokking-Tickets at 28ba672: config/config_pruning_mnist.py sets reinitialize = False,
    # so prune.py leaves the pruned net at the dense run's final weights (no rewind to θ0), and
    # data_module.py's MNISTDataModule trains on the official test set and tests on the official
    # training set. For C3: run with --experiments tickets on the MNIST configuration.
    Variant("authors-mnist", "C3 as the authors' MNIST pruning runs it: the ticket keeps the dense run's final "
            "weights (no rewind), trained on the official test set's first 1,000 images, tested on the official "
            "60,000 training images", ("task.mnist_sets=official", "ticket.rewind_step=100000"), trained=True,
            models=("mnist-mlp",),
            protocol="the ticket keeps the dense run's final weights, not rewound to θ0 (config/config_pruning_mnist.py "
                     "reinitialize = False, prune.py), trained on the first 1,000 images of the official test set and "
                     "tested on the official 60,000 training images (data_module.py MNISTDataModule), at 28ba672; "
                     "still ours: a fresh AdamW for the ticket, full batch"),
    # ironjr/grokfast at b891518, README "Algorithmic Data (Transformer decoder, Grokfast)": main.py
    # --filter ema --alpha 0.98 --lamb 2.0 --weight_decay 0.005 on x·y mod 97, half the pairs for
    # training (main.py at 47397ee); its baseline groks at 39,890 steps, Grokfast at 910. For
    # A1, the claim Grokfast makes: run with --trained-experiments accelerators on the transformer.
    Variant("grokfast-protocol", "A1 as Grokfast's README runs it: x·y mod 97, half the pairs for training, "
            "weight decay 0.005, EMA filter α 0.98, λ 2 (the transformer)",
            # α 0.98 and λ 2 are the EMA filter's defaults here (config.OptimConfig)
            ("task.p=97", "task.op=mul", "task.train_frac=0.5", "optim.weight_decay=0.005"), trained=True,
            models=("transformer",),
            protocol="x·y mod 97, train_frac 0.5, weight decay 0.005, Grokfast EMA α 0.98, λ 2 (README and main.py "
                     "of ironjr/grokfast at b891518 / 47397ee); still ours: the paper's 1-layer transformer (theirs: 2 "
                     "layers, LayerNorm), full batch (theirs: 512), decoupled AdamW (theirs: Adam's L2 decay), no lr "
                     "warm-up, y = 0 kept, 30k steps (theirs: 300k), and the base at weight decay 0.005 too (their "
                     "baseline runs at 0)"),
    # C8 as the authors last ran it (their no-weight-decay runs are the transformer's): master at
    # bd705c8, config/config_pruning.py (transformer, d_model 128, a <= b pairs, lr 1e-3, 30k steps,
    # the ticket from the final weights of a dense run at weight decay 1, retrained at weight decay 0)
    # and run.sh (seed 0; kept fractions 0.11-0.39 by 0.01, i.e. rates 0.61-0.89). For it: run with
    # --trained-experiments no-weight-decay --seeds 0 on the transformer.
    Variant("authors-c8", "C8 as the authors' last no-weight-decay runs have it: the transformer on a ≤ b pairs",
            ("task.pairs=unordered",), trained=True, models=("transformer",),
            protocol="the transformer (d_model 128) on a ≤ b pairs, lr 1e-3, 30k steps, ticket from the final "
                     "weights of the weight-decay-1 run, retrained without weight decay (config/config_pruning.py "
                     "and run.sh at bd705c8: seed 0, rates 0.61–0.89 by 0.01); still ours: rates below 0.75 by 0.1 "
                     "(0.6, 0.7) and the sweep's 0.90, the ticket at each critical rate retrained with weight decay "
                     "beside it, and the rule's test across seeds (theirs: one seed)"),
):  # fmt: skip
    VARIANTS.register(_v)

AS_RUN = "as run"
# what the trained variants run by default: C1 is the claim every configuration makes; more
# experiments per variant cost proportionally more (docs/experiments.md: sensitivity)
TRAINED_EXPERIMENTS = ("tickets",)


def _base_id(cid: str) -> str:
    return cid.partition("@")[0]


DIRECTION_MET = "direction met"  # a cell read off a claim's row, which states a direction and no test


def _direction(verdict: str) -> bool | None:
    return {"holds": True, "not significant": True, DIRECTION_MET: True, "does not hold": False}.get(verdict)


def classify(cells: dict[str, str]) -> tuple[str, list[str]]:
    """(robust | fragile | fails | undetermined, the variants where the direction is met) of one
    claim's {variant: verdict} (see the module docstring)."""
    judged = {v: d for v, d in ((v, _direction(c)) for v, c in cells.items()) if d is not None}
    met = [v for v, d in judged.items() if d]
    if len(judged) < 2:
        return "undetermined", met
    return ("robust" if len(met) == len(judged) else "fails" if not met else "fragile"), met


def sensitivity(
    cfg: Config,
    scale: str,
    out: str | Path,
    device,
    experiments: tuple[str, ...],
    variants: tuple[str, ...] | None = None,
    train: bool = True,
    trained_experiments: tuple[str, ...] = TRAINED_EXPERIMENTS,
    progress: bool = True,
) -> dict[str, Any]:
    """Judge ``experiments`` of ``cfg`` as run (training what is missing), then under every
    variant; returns (and writes to OUT/sensitivity.json) the grid. ``train=False`` trains
    nothing at all: the configuration is judged from what the store holds, and whatever lacks
    runs stays "not run"."""
    names = variants if variants is not None else tuple(VARIANTS.names())
    chosen = [VARIANTS[n] for n in names]  # an unknown name lists the valid ones
    model = cfg.model.name
    if variants is not None and (wrong := [v.name for v in chosen if v.models and model not in v.models]):
        raise UserError(f"variant {wrong[0]} is for model.name = {' or '.join(VARIANTS[wrong[0]].models)}; got {model!r}")
    chosen = [v for v in chosen if not v.models or model in v.models]  # the default grid: what applies here
    # every configuration checked against every experiment it runs, before anything trains
    vcfgs = {v.name: apply_overrides(cfg, list(v.overrides)) for v in chosen if not v.field}
    # a variant that changes nothing here (t95 where the threshold is already 95%) would only
    # repeat the "as run" column and count it twice in the classification: it is left out
    chosen = [v for v in chosen if v.field or vcfgs[v.name] != cfg]
    for v in chosen:
        for name in (trained_experiments if v.trained else experiments) if not v.field else ():
            EXPERIMENTS[name].check(vcfgs[v.name])
    for name in experiments:
        EXPERIMENTS[name].check(cfg)
    store = Store(out)
    cells: dict[str, dict[str, str]] = {}  # base claim id -> variant -> verdict
    judged: dict[str, list[dict[str, Any]]] = {}  # variant -> its claim rows, numbers and all

    def put(column: str, rows: list[dict[str, Any]]) -> None:
        judged.setdefault(column, []).extend(rows)
        for row in rows:
            cells.setdefault(_base_id(row["id"]), {})[column] = verdict_of(row)

    base_rows = []
    for name in experiments:
        if progress:
            print(f"sensitivity: {name} as run", file=sys.stderr, flush=True)
        if train:
            base_rows += run_experiment(name, cfg, scale, out, device, progress).claims
            continue
        # --no-train: judged from the store as it is, nothing trained or written
        judged_here = EXPERIMENTS[name].judged(JudgeContext(cfg, store, device, experiment_label(name, cfg), scale, progress))
        base_rows += judged_here[0] if judged_here is not None else []
    put(AS_RUN, base_rows)
    for v in chosen:
        if v.field:  # read off the rows as run
            for row in base_rows:
                key = v.field.get(_base_id(row["id"]))
                if key is not None and isinstance(row.get("measured"), dict) and key in row["measured"]:
                    met = row["measured"][key]  # a direction only: these variants have no test
                    cells[_base_id(row["id"])][v.name] = DIRECTION_MET if met else "does not hold"
            continue
        vcfg = vcfgs[v.name]
        for name in trained_experiments if v.trained else experiments:
            if progress:
                print(f"sensitivity: {name} under {v.name}", file=sys.stderr, flush=True)
            filed = f"{experiment_label(name, vcfg)}~{v.name}" if v.trained else experiment_label(name, cfg)
            kind = TrainContext if (v.trained and train) else JudgeContext
            ctx = kind(vcfg, store, device, filed, scale, progress, claim_label=v.name)
            judged_here = EXPERIMENTS[name].judged(ctx)
            if judged_here is not None:
                put(v.name, judged_here[0])
                continue
            for defn in EXPERIMENTS[name].claims:  # the store lacks its runs
                cells.setdefault(defn.id, {}).setdefault(v.name, "not run")
    columns = [AS_RUN, *[v.name for v in chosen]]
    grid = []
    for cid in sorted(cells, key=claim_key):
        row = {v: cells[cid].get(v, "not run") for v in columns}
        if all(c == "not run" for c in row.values()):
            continue  # a claim none of these experiments judges here (C2 on the MLP)
        verdict, met = classify(row)
        grid.append({"claim": cid, **row, "classification": verdict, "direction met in": met})
    result = {
        "variants": {AS_RUN: f"the configuration as run (threshold {cfg.train.threshold:g})",
                     **{v.name: v.about for v in chosen}},
        "experiments": list(experiments),
        "trained_experiments": list(trained_experiments),
        "grid": grid,
        "claims": judged,  # each judged variant's claim rows (C1@p97 ...), with what they measured
    }  # fmt: skip
    write_json(Path(out) / "sensitivity.json", result)
    grid_figure(result, out)
    authors = [_as_protocol(row, v) for v in chosen if v.protocol for row in judged.get(v.name, [])]
    if authors:
        merge_claims(Path(out) / "claims.json", authors)
    return result


def _as_protocol(row: dict[str, Any], variant: Variant) -> dict[str, Any]:
    """A claim row judged under a variant that is the authors' setting, as claims.json keeps it:
    the protocol named, and what still differs said relative to the row as run."""
    base = _base_id(row["id"])
    differs = row.get("differs") or "nothing known"
    return {**row, "protocol": f"authors' {variant.name}: {variant.protocol}",
            "differs": f"the rest as {base}'s protocol; {base} as run differs by: {differs}"}  # fmt: skip


def grid_table(result: dict[str, Any]) -> pd.DataFrame:
    """The grid as a table: one row per claim, a short verdict per variant, the classification."""
    short = {"holds": "holds", "not significant": "n.s.", DIRECTION_MET: "dir.", "does not hold": "no", "not run": "–"}
    rows = []
    for r in result["grid"]:
        row = {"claim": r["claim"], **{v: short.get(r[v], r[v]) for v in result["variants"]}}
        row["classification"] = r["classification"]
        rows.append(row)
    return pd.DataFrame(rows)




GRID_FIGURE = "sensitivity"
_CELL_COLORS = {"holds": "#4c9a4c", "not significant": "#e6c34a", DIRECTION_MET: "#9cc79c",
                "does not hold": "#c85a5a", "not run": "#e6e6e6"}  # fmt: skip


def grid_figure(result: dict[str, Any], root: str | Path) -> str | None:
    """The grid as a picture: a row per claim, a column per variant, each cell coloured by its
    verdict and labelled, the classification at the right. Saved as figures/sensitivity.png."""
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    from ..analysis.figures import new_figure, save

    table = grid_table(result)
    variants = list(result["variants"])
    rows = result["grid"]
    if not rows:  # nothing judged: no picture to draw
        return None
    fig = new_figure(max(8.0, 1.0 + 0.9 * len(variants)), 2.2 + 0.32 * len(rows))
    ax = fig.subplots()
    image = [[to_rgb(_CELL_COLORS.get(r[v], "#ffffff")) for v in variants] for r in rows]
    ax.imshow(image, aspect="auto", interpolation="nearest")
    for i, row in table.iterrows():
        for j, v in enumerate(variants):
            ax.text(j, i, row[v], ha="center", va="center", fontsize=7)
    # variant names above the grid, the legend below it: neither can run into the other
    ax.xaxis.tick_top()
    ax.set_xticks(range(len(variants)), variants, rotation=30, ha="left", fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{r['claim']}: {r['classification']}" for r in rows], fontsize=8)
    ax.tick_params(length=0)
    legend = [Patch(color=c, label=k) for k, c in _CELL_COLORS.items()]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=5, fontsize=7, frameon=False)
    fig.suptitle("each claim judged as run and under each variant (row label: its classification)", fontsize=10)
    return save(fig, Path(root), GRID_FIGURE)
