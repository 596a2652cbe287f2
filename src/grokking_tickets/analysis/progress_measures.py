"""Progress measures (Nanda et al. 2023) of the base model and its grokking ticket, over training.

Nanda et al. read grokking on modular addition as three phases: memorization, *circuit
formation* (a few Fourier frequencies of a + b come to carry the logits while the test loss is
still high) and *clean-up* (the memorizing part is removed and the test loss falls). Their
progress measures, computed here for any model of a `tickets` experiment on modular addition
(the MLP and the transformer), from the weights in the store:

- **Logits in the Fourier basis of s = a + b** (a − b for subtraction on all ordered pairs; on
  a ≤ b pairs a − b never wraps around modulo p and there is nothing of this kind to measure:
  :func:`measurable`). The logits L of every ordered pair (a, b), [p², C], centred over the
  classes (softmax ignores a constant), are split into the components that depend on the input
  only through cos(2πks/p) and sin(2πks/p), one per frequency k = 1 … p // 2, plus the constant
  one; the directions are orthogonal over the p² pairs, so each component is a projection and
  its energy ‖P_k L‖² says how much of the logits frequency k carries. Any read-out of a
  frequency (any function of the class c) is kept, so the measure does not assume the circuit's
  exact form.
- **Key frequencies** of a run: the fewest frequencies that carry ≥ :data:`KEY_SHARE` of the
  energy of the s-dependent part of the logits at the run's last saved step (Nanda et al. read
  them off the final model too).
- **Restricted loss**: the cross-entropy on the training pairs of the constant component plus
  the key frequencies' components alone. It falls when the generalizing circuit has formed.
- **Excluded loss**: the cross-entropy on the training pairs of the logits with the key
  frequencies' components removed. It rises as the network comes to rely on the circuit
  instead of memorizing.
- **Fourier norms of the embedding**: the norm of each frequency's component of the token
  embedding (the MLP's W_emb, the transformer's W_E; [d, p] over tokens) and their Gini
  coefficient (0: every frequency alike; near 1: a few frequencies hold the embedding).

Where the action is faster than the checkpoints (the ticket generalizes within the first
checkpoint interval), the runs are replayed from θ0 to :data:`REPLAY_UNTIL` in memory
(:func:`grokking_tickets.cohort.replay`) and measured every ``train.eval_every`` steps; at the
saved steps inside that window the replayed weights are checked against the stored ones, and
the report says whether they matched bit for bit.

**t_circuit** of a run: the first measured step at which its restricted loss is at most
:data:`CIRCUIT_LOSS` (ln 2: the key frequencies alone give the right answer odds of at least
even, in the geometric mean over the training pairs). Fixed before any run was measured.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..arithmetic import promises_exact_populations
from ..cohort import replay
from ..errors import UserError
from ..models import build_model
from ..store import Store
from ..tasks import build_dataset
from .claims import ClaimDef, censor_at, comparisons, decide, labelled
from .figures import legend_below, new_figure, save
from .registry import ANALYSES, Analysis, AnalysisResult

KEY_SHARE = 0.9  # key frequencies: the fewest carrying this share of the s-dependent logit energy
CIRCUIT_LOSS = math.log(2)  # t_circuit: the first step with restricted train loss at most this
REPLAY_UNTIL = 2000  # runs are replayed from θ0 to this step, measured every train.eval_every
FIGURE = "progress-measures"
SUMS = {"add": 1, "sub": -1}  # s = a + SIGN · b: the ops whose answer is a function of one such sum


def measurable(task) -> bool:
    """Whether a task's answer is a modular sum that wraps around on its pairs, the structure the
    measures look for. (a − b) mod p on a ≤ b pairs is p − (b − a) except at a = b: it never wraps,
    a net can learn it as a line in b − a, and the measures read nothing about its circuit (on the
    MLP's a ≤ b pairs no run's restricted loss fell below ln 2, those that generalized included)."""
    return task.name == "modular" and task.op in SUMS and (task.op == "add" or task.pairs == "all")


P1 = ClaimDef(
    "P1",
    "The ticket's generalizing circuit forms early in training; the dense base model's forms "
    "during its plateau, after it memorizes and before it generalizes.",
    "not measured in the paper: its reading of grokking as memorization, circuit formation and "
    "clean-up (Nanda et al. 2023, §4 of the paper) and of the ticket as a good representation found "
    "early (App. G), put to Nanda et al.'s restricted loss",
    "holds if t_circuit (first step with restricted train loss ≤ ln 2) is later for the base than "
    "for the ticket (one-sided rank test, p < 0.05) and t_mem ≤ t_circuit ≤ t_gen on every base "
    "seed that grokked",
    differs="not in the authors' code; Nanda et al. pick the key frequencies from the embedding's Fourier norms "
    "and keep only cos/sin(w(a+b−c)) read-outs, ours from the logits' energy with any read-out of a frequency",
)
CLAIMS = (P1,)


# -- the measures ---------------------------------------------------------------------------------


def grid(p: int) -> torch.Tensor:
    """[p², 2] every ordered pair (a, b), row a·p + b."""
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    return torch.stack([a.reshape(-1), b.reshape(-1)], 1)


def sum_basis(p: int, sign: int = 1) -> torch.Tensor:
    """[p², 2F] float64: cos(2πks/p), sin(2πks/p) for k = 1 … F (F = p // 2, columns 2k − 2 and
    2k − 1), s = a + sign · b over :func:`grid`'s rows. For odd p the columns are orthogonal, each
    of squared norm p² / 2."""
    x = grid(p).double()
    s = (x[:, 0] + sign * x[:, 1]).remainder(p)
    k = torch.arange(1, p // 2 + 1, dtype=torch.float64)
    angle = 2 * math.pi * s[:, None] * k[None, :] / p  # [p², F]
    return torch.stack([angle.cos(), angle.sin()], 2).reshape(len(s), -1)


def fourier_split(logits: torch.Tensor, basis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits [p², C] -> (constant part [p², C], coefficients [2F, C]), float64; the logits are
    centred over classes first. Frequency k's part is ``component(coef, basis, [k])``."""
    L = logits.double()
    L = L - L.mean(1, keepdim=True)
    const = L.mean(0, keepdim=True).expand_as(L)
    return const, basis.T @ L / (basis.shape[0] / 2)


def energies(coef: torch.Tensor, n: int) -> torch.Tensor:
    """[F] ‖P_k L‖² of each frequency (orthogonal directions of squared norm n / 2, n = p²)."""
    return (coef[0::2].square() + coef[1::2].square()).sum(1) * (n / 2)


def component(coef: torch.Tensor, basis: torch.Tensor, key: list[int]) -> torch.Tensor:
    """[p², C] the logits' part carried by the frequencies ``key`` (1-based)."""
    cols = [c for k in key for c in (2 * k - 2, 2 * k - 1)]
    return basis[:, cols] @ coef[cols]


def key_frequencies(energy: np.ndarray, share: float = KEY_SHARE) -> list[int]:
    """The fewest frequencies (1-based) whose energies sum to at least ``share`` of the total."""
    order = np.argsort(-energy, kind="stable")
    cum = np.cumsum(energy[order]) / max(float(energy.sum()), 1e-300)
    n = int(np.searchsorted(cum, share - 1e-12) + 1)
    return sorted(int(k) + 1 for k in order[:n])


def gini(x: np.ndarray) -> float:
    """Gini coefficient of nonnegative values: 0 when all are equal, (n − 1) / n when one holds all."""
    x = np.sort(np.asarray(x, float))
    n, total = len(x), float(x.sum())
    if n == 0 or total <= 0:
        return float("nan")
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (n * total))


def embedding_norms(weights: dict[str, torch.Tensor], name: str, p: int) -> np.ndarray:
    """[F] the norm of each non-constant frequency's component of the token embedding [d, ≥p]."""
    E = weights[name][:, :p].double()  # [d, p]: the p number tokens (the transformer's "=" left out)
    power = torch.fft.rfft(E, dim=1).abs().square().sum(0)[1:]  # [F]
    return power.sqrt().numpy()


def _ce(logits: torch.Tensor, rows: torch.Tensor, y: torch.Tensor) -> float:
    return float(torch.nn.functional.cross_entropy(logits[rows], y))


class Measurer:
    """The progress measures of one configuration's runs (one model, one modular task)."""

    def __init__(self, spec):
        if not measurable(spec.task):
            raise UserError(f"progress measures need modular add, or sub on all pairs; this run is {spec.task.name} "
                            f"{spec.task.op} on {spec.task.pairs} pairs")  # fmt: skip
        self.p = spec.task.p
        self.data = build_dataset(spec.task, spec.split_seed)
        self.model = build_model(spec.model, self.data)
        if self.model.token_embedding is None:
            raise UserError(f"progress measures need a token embedding; model {spec.model.name} has none")
        self.basis = sum_basis(self.p, SUMS[spec.task.op])
        self.x = grid(self.p)
        self.train_rows = self.data.train_x[:, 0] * self.p + self.data.train_x[:, 1]
        self.test_rows = self.data.test_x[:, 0] * self.p + self.data.test_x[:, 1]

    @torch.no_grad()
    def split(self, weights) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits [p², C] float64, constant part [p², C], Fourier coefficients [2F, C])."""
        logits = self.model.forward(weights, self.x).double()
        return (logits, *fourier_split(logits, self.basis))

    def energy(self, weights) -> np.ndarray:
        """[F] ‖P_k L‖² of each frequency."""
        _, _, coef = self.split(weights)
        return energies(coef, len(self.x)).numpy()

    def measure(self, weights, key: list[int]) -> dict[str, float]:
        logits, const, coef = self.split(weights)
        keyed = component(coef, self.basis, key)  # [p², C]
        y_tr = self.data.train_y
        energy = energies(coef, len(self.x))
        idx = np.array(key) - 1
        norms = embedding_norms(weights, self.model.token_embedding, self.p)
        return {
            "train_loss": _ce(logits, self.train_rows, y_tr),
            "test_loss": _ce(logits, self.test_rows, self.data.test_y),
            "restricted_loss": _ce(const + keyed, self.train_rows, y_tr),
            "excluded_loss": _ce(logits - keyed, self.train_rows, y_tr),
            "key_energy_share": float(energy[idx].sum() / energy.sum().clamp_min(1e-300)),
            "embedding_gini": gini(norms),
            "embedding_key_share": float(np.square(norms[idx]).sum() / max(np.square(norms).sum(), 1e-300)),
        }


# -- from the store ---------------------------------------------------------------------------------


def reads_tickets(experiment: str, cfg) -> bool:
    """Whether :func:`ticket_experiments` would measure the `tickets` experiment filed as
    ``experiment`` on configuration ``cfg`` (a :func:`measurable` sum, any model)."""
    return experiment.partition("@")[0] == "tickets" and measurable(cfg.task)


def ticket_experiments(summary: pd.DataFrame, store: Store) -> dict[str, pd.DataFrame]:
    """{label: base and ticket rows} of every `tickets` experiment on a :func:`measurable` sum in
    the store ("" for the MLP, "transformer", "transformer-sub", ...)."""
    out = {}
    for exp, rows in summary.groupby("experiment", sort=False):
        name, _, label = exp.partition("@")
        rows = rows[rows.arm.isin(["base", "ticket"])]
        if name != "tickets" or set(rows.arm) != {"base", "ticket"}:
            continue
        if measurable(store.spec(rows.run_id.iloc[0]).task):
            out[label] = rows
    return out


def _replayed(store: Store, rows: pd.DataFrame, every: int) -> tuple[dict[str, dict[int, Any]], dict[str, bool]]:
    """{run_id: {step: weights}} replayed from θ0 to REPLAY_UNTIL, and {run_id: whether the replay
    equals the stored weights at every saved step in the window}."""
    specs = [store.spec(r) for r in rows.run_id]
    until = min(REPLAY_UNTIL, min(s.train.steps for s in specs))
    # together where a member computes what it would alone (the arithmetic promises it), else one by one
    groups: dict[str, list] = {}
    for s in specs:
        groups.setdefault(s.cohort_key() if promises_exact_populations() else s.run_id, []).append(s)
    out: dict[str, dict[int, Any]] = {s.run_id: {} for s in specs}
    for group in groups.values():
        for step, weights in replay(group, store, "cpu", until, every):
            for s, w in zip(group, weights):
                out[s.run_id][step] = w
    exact = {}
    for s in specs:
        saved = [t for t in store.weight_steps(s.run_id) if t <= until]
        exact[s.run_id] = all(
            all(torch.equal(out[s.run_id][t][n], w) for n, w in store.weights(s.run_id, t).items()) for t in saved
        )
    return out, exact


def measure_runs(store: Store, rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One row per (run, measured step) of the base and ticket runs in ``rows``, and notes."""
    first = store.spec(rows.run_id.iloc[0])
    m = Measurer(first)
    replayed, exact = _replayed(store, rows, first.train.eval_every)
    out, keys = [], {}
    for r in rows.itertuples():
        saved = store.weight_steps(r.run_id)
        key = key_frequencies(m.energy(store.weights(r.run_id, saved[-1])))
        keys[r.run_id] = key
        steps = {t: None for t in saved} | replayed[r.run_id]  # replayed weights fill the early grid
        for step in sorted(steps):
            w = steps[step] if steps[step] is not None else store.weights(r.run_id, step)
            out.append({"run_id": r.run_id, "arm": r.arm, "seed": int(r.seed), "step": int(step),
                        "replayed": steps[step] is not None, **m.measure(w, key)})  # fmt: skip
    table = pd.DataFrame(out)
    notes = {
        "key frequencies per run (arm, seed)": {f"{r.arm}, seed {r.seed}": keys[r.run_id] for r in rows.itertuples()},
        f"replayed from θ0 to step {min(REPLAY_UNTIL, first.train.steps):,}, equal to the stored weights at the saved steps":
            {f"{r.arm}, seed {r.seed}": exact[r.run_id] for r in rows.itertuples()},
    }  # fmt: skip
    return table, notes


def t_circuit(table: pd.DataFrame) -> pd.Series:
    """run_id -> the first measured step with restricted loss ≤ CIRCUIT_LOSS (NaN: never)."""
    hit = table[table.restricted_loss <= CIRCUIT_LOSS]
    first = hit.groupby("run_id").step.min()
    return first.reindex(table.run_id.unique())


def judge(rows: pd.DataFrame, circuit: pd.Series, label: str) -> dict[str, Any]:
    """Claim P1 on one configuration's base and ticket runs (``circuit``: run_id -> t_circuit)."""
    from .claims import Sample

    censor = censor_at(rows, ["base", "ticket"])
    samples = {}
    for arm in ("base", "ticket"):
        r = rows[rows.arm == arm].sort_values("seed", kind="stable")
        shown = [None if pd.isna(circuit.get(i)) else int(circuit[i]) for i in r.run_id]
        samples[arm] = Sample(arm, tuple(int(s) for s in r.seed), tuple(censor if v is None else float(v) for v in shown), tuple(shown))
    never = any(v is None for s in samples.values() for v in s.shown)  # a circuit that never formed enters at budget + 1
    measured, ps = comparisons([("ticket < base", samples["base"], samples["ticket"])], quantity="t_circuit", censored=never)
    base = rows[rows.arm == "base"]
    during = {}
    for r in base.itertuples():
        tc = circuit.get(r.run_id)
        if pd.isna(r.t_gen) or pd.isna(tc):
            during[str(r.seed)] = None  # not judged: it never generalized, or its circuit never formed
        else:
            during[str(r.seed)] = bool((pd.isna(r.t_mem) or r.t_mem <= tc) and tc <= r.t_gen)
    judged = [v for v in during.values() if v is not None]
    measured["base: t_mem ≤ t_circuit ≤ t_gen, per seed"] = during
    direction = None
    if judged:
        direction = bool(np.mean(samples["base"].values) > np.mean(samples["ticket"].values) and all(judged))
    return P1.row(label, measured, decide(direction, ps if direction is not None else None))


def run_progress_measures(root: str | Path) -> AnalysisResult:
    """Claim P1 (and P1@transformer, ...) and the progress-measure figures, from every `tickets`
    experiment on a modular sum in store ``root``."""
    store = Store(root)
    path = store.root / "summary.csv"
    if not path.exists():
        raise UserError(f"{root} has no summary.csv")
    experiments = ticket_experiments(pd.read_csv(path), store)
    if not experiments:
        raise UserError(f"{root} has no `tickets` experiment on modular addition or subtraction to measure")
    claims, sections, tables = [], [], {}
    for label, rows in experiments.items():
        table, notes = measure_runs(store, rows)
        circuit = t_circuit(table)
        claims.append(judge(rows, circuit, label))
        tables[label] = table
        per_run = rows.assign(t_circuit=rows.run_id.map(circuit))[["arm", "seed", "t_mem", "t_circuit", "t_gen"]]
        stem = labelled(FIGURE, label)
        sections.append({
            "title": f"Progress measures ({labelled('tickets', label)}): restricted and excluded loss, Fourier norms",
            "figure": _figure(store, table, rows, stem, label), "notes": notes,
            "text": per_run.to_string(index=False, float_format=lambda x: f"{x:,.0f}"),
        })  # fmt: skip
    return AnalysisResult(claims, sections, {"measures": tables})


# -- the figure -------------------------------------------------------------------------------------


def _figure(store: Store, table: pd.DataFrame, rows: pd.DataFrame, stem: str, label: str) -> str:
    """Four panels against a log step axis (0 drawn at the axis' linear start): restricted loss,
    excluded loss, the key frequencies' share of the logits, the Gini coefficient of the
    embedding's Fourier norms. One thin line per run (seeds can differ), base and ticket in
    their colours; a dot marks each run's t_gen on its restricted-loss line."""
    fig = new_figure(12, 8)
    axes = fig.subplots(2, 2).ravel()
    panels = (
        ("restricted_loss", "restricted loss (key frequencies only), train", "log"),
        ("excluded_loss", "excluded loss (key frequencies removed), train", "log"),
        ("key_energy_share", "key frequencies' share of the logits", "linear"),
        ("embedding_gini", "Gini of the embedding's Fourier norms", "linear"),
    )
    colors = {"base": "C0", "ticket": "C1"}
    every = int(table.step[table.step > 0].min()) if (table.step > 0).any() else 1
    for ax, (col, title, yscale) in zip(axes, panels):
        for r in rows.itertuples():
            d = table[table.run_id == r.run_id].sort_values("step")
            ax.plot(d.step, d[col], color=colors[r.arm], lw=1, alpha=0.8)
            if col == "restricted_loss" and not pd.isna(r.t_gen):
                at = d.iloc[(d.step - r.t_gen).abs().argmin()]
                ax.plot([at.step], [at[col]], "o", color=colors[r.arm], ms=4)
        ax.set_xscale("symlog", linthresh=every)
        ax.set_yscale(yscale)
        if col == "restricted_loss":
            ax.axhline(CIRCUIT_LOSS, color="grey", lw=0.8, ls=":")
        if yscale == "linear":
            ax.set_ylim(-0.02, 1.02)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step (log; 0 at the left)")
    for arm, c in colors.items():
        axes[0].plot([], [], color=c, label=arm)
    axes[0].plot([], [], "o", color="grey", label="t_gen")
    axes[0].plot([], [], ":", color="grey", label="ln 2 (t_circuit)")
    fig.suptitle(f"Progress measures, {labelled('tickets', label)}: one line per run", fontsize=11)
    legend_below(axes[0])  # under the first panel, off the data (save's tight_layout makes room for it)
    return save(fig, store.root, stem)


ANALYSES.register(
    Analysis("progress_measures", CLAIMS, {"P1": FIGURE}, run_progress_measures, reads_tickets=reads_tickets)
)
