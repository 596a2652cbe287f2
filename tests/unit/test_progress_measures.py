"""Progress measures (analysis/progress_measures.py): the Fourier split of the logits, key
frequencies, restricted and excluded loss, embedding norms, on logits whose answer is known;
then the analysis on a small store, with its replay held to the stored weights."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from grokking_tickets.analysis import progress_measures as pm
from grokking_tickets.analysis.claims import VERDICTS
from grokking_tickets.config import from_dict
from grokking_tickets.experiments.run import run_experiment
from grokking_tickets.store import Store

P = 11


def _sum_logits(p: int, k: int, scale: float, sign: int = 1) -> torch.Tensor:
    """[p², p] logits scale · cos(2πk(s − c)/p), s = a + sign·b: a pure frequency-k circuit."""
    x = pm.grid(p)
    s = (x[:, 0] + sign * x[:, 1]).double()
    c = torch.arange(p, dtype=torch.float64)
    return scale * torch.cos(2 * math.pi * k * (s[:, None] - c[None, :]) / p)


def test_the_frequency_directions_are_orthogonal_with_the_stated_norm():
    for sign in (1, -1):
        B = pm.sum_basis(P, sign)
        assert B.shape == (P * P, 2 * (P // 2))
        torch.testing.assert_close(B.T @ B, torch.eye(B.shape[1], dtype=torch.float64) * P * P / 2, atol=1e-9, rtol=0)


def test_the_parts_add_up_and_find_a_planted_frequency():
    noise = torch.randn(P * P, P, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    L = _sum_logits(P, 3, 4.0) + 0.3 * noise
    B = pm.sum_basis(P)
    const, coef = pm.fourier_split(L, B)
    energy = pm.energies(coef, P * P)
    parts = torch.stack([pm.component(coef, B, [k]) for k in range(1, P // 2 + 1)])  # [F, p², C]
    torch.testing.assert_close(energy, parts.square().sum((1, 2)), rtol=1e-10, atol=0)  # ‖P_k L‖²
    assert pm.key_frequencies(energy.numpy()) == [3]
    centred = L - L.mean(1, keepdim=True)
    rest = centred - const - parts.sum(0)  # what depends on (a, b) other than through a + b
    assert abs(float((rest * parts.sum(0)).sum())) < 1e-8 * float(centred.square().sum())  # orthogonal
    torch.testing.assert_close(pm.component(coef, B, [1, 3]), parts[0] + parts[2])
    # the planted circuit is recovered whole: its part equals the planted logits (centred)
    planted = _sum_logits(P, 3, 4.0)
    assert float((parts[2] - (planted - planted.mean(1, keepdim=True))).abs().max()) < 0.3


def test_a_difference_circuit_is_seen_only_in_the_difference_basis():
    L = _sum_logits(P, 2, 5.0, sign=-1)
    e_diff = pm.energies(pm.fourier_split(L, pm.sum_basis(P, -1))[1], P * P)
    e_sum = pm.energies(pm.fourier_split(L, pm.sum_basis(P, 1))[1], P * P)
    assert float(e_diff.sum()) > 1e3 * float(e_sum.sum())


def test_key_frequencies_are_the_fewest_that_reach_the_share():
    assert pm.key_frequencies(np.array([1.0, 50.0, 45.0, 4.0])) == [2, 3]  # 95 of 100 >= 90
    assert pm.key_frequencies(np.array([1.0, 50.0, 38.0, 11.0])) == [2, 3, 4]  # 88 < 90: one more
    assert pm.key_frequencies(np.ones(5)) == [1, 2, 3, 4, 5]


def test_gini():
    assert pm.gini(np.ones(4)) == 0.0
    assert pm.gini(np.array([0.0, 0.0, 0.0, 2.0])) == pytest.approx(0.75)
    assert math.isnan(pm.gini(np.zeros(3)))


def test_embedding_norms_of_a_pure_frequency():
    t = torch.arange(P, dtype=torch.float64)
    E = torch.stack([torch.cos(2 * math.pi * 4 * t / P), torch.sin(2 * math.pi * 4 * t / P)])  # [2, p]
    E = torch.cat([E, torch.zeros(2, 1, dtype=torch.float64)], 1)  # an "=" token column, left out
    norms = pm.embedding_norms({"W_E": E}, "W_E", P)
    assert norms.argmax() == 3 and norms[3] > 1e6 * np.delete(norms, 3).max()


def test_restricted_and_excluded_loss_of_a_pure_circuit():
    """On a model whose logits are one frequency of a + b, restricted loss is its whole loss
    and excluded loss is chance (ln p): nothing but the circuit predicts."""
    cfg = from_dict({"task": {"p": P, "train_frac": 0.5, "pairs": "all"}, "model": {"d_emb": 4, "d_hidden": 4}})
    from grokking_tickets.spec import RunSpec

    m = pm.Measurer(RunSpec.dense(cfg, 0))
    m.model.forward = lambda w, x: _sum_logits(P, 2, 6.0)[x[:, 0] * P + x[:, 1]]  # the planted network
    key = pm.key_frequencies(m.energy(None))
    assert key == [2]
    w = {"W_emb": torch.randn(4, P, dtype=torch.float64)}
    got = m.measure(w, key)
    assert got["restricted_loss"] == pytest.approx(got["train_loss"], rel=1e-9)
    assert got["excluded_loss"] == pytest.approx(math.log(P), rel=1e-9)
    assert got["key_energy_share"] == pytest.approx(1.0)


def test_t_circuit_is_the_first_step_at_or_below_ln2():
    table = pd.DataFrame({"run_id": ["a"] * 4 + ["b"] * 2, "step": [0, 100, 200, 300, 0, 100],
                          "restricted_loss": [4.0, 0.8, math.log(2), 0.1, 4.0, 3.0]})  # fmt: skip
    tc = pm.t_circuit(table)
    assert tc["a"] == 200 and pd.isna(tc["b"])


def test_the_analysis_on_a_small_store(tmp_path):
    """Tickets on p = 13 for 300 steps: P1 is judged from the store, the early grid is replayed
    and equals the stored weights at the saved steps, the figure is drawn."""
    cfg = from_dict({
        "task": {"p": 13, "train_frac": 0.5}, "model": {"d_emb": 24, "d_hidden": 12},
        "train": {"steps": 300, "eval_every": 50, "checkpoint_every": 100}, "ticket": {"step": 300, "rate": 0.6},
        "seeds": [0, 1],
    })  # fmt: skip
    run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    res = pm.run_progress_measures(tmp_path)
    (row,) = res.claims
    assert row["id"] == "P1" and row["verdict"] in VERDICTS
    assert set(row["measured"]["per-seed t_circuit"]) == {"base", "ticket"}
    table = res.data["measures"][""]
    assert sorted(table[table.seed == 0].step.unique()) == [0, 50, 100, 150, 200, 250, 300]  # replayed every eval_every
    (section,) = res.sections
    exact = next(v for k, v in section["notes"].items() if k.startswith("replayed"))
    assert exact and all(exact.values()), exact  # the replay computed the stored runs' bits
    assert (tmp_path / "figures" / "progress-measures.png").exists()
    # the stored weights at a saved step give the same measures as the replay there
    store = Store(tmp_path)
    rid = table.run_id.iloc[0]
    m = pm.Measurer(store.spec(rid))
    key = pm.key_frequencies(m.energy(store.weights(rid, 300)))
    direct = m.measure(store.weights(rid, 100), key)
    at = table[(table.run_id == rid) & (table.step == 100)].iloc[0]
    assert direct["restricted_loss"] == pytest.approx(at.restricted_loss, rel=1e-12)


def test_the_transformer_is_measured_under_its_label(tmp_path):
    """The transformer's tickets (all ordered pairs, an embedding W_E with more columns than
    numbers) are measured too, as P1@transformer, their replay equal to the stored weights."""
    cfg = from_dict({
        "task": {"p": 11, "train_frac": 0.5, "pairs": "all"}, "model": {"name": "transformer", "d_model": 16, "d_mlp": 16},
        "train": {"steps": 200, "eval_every": 50, "checkpoint_every": 100}, "ticket": {"step": 200, "rate": 0.6},
        "seeds": [0],
    })  # fmt: skip
    run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    res = pm.run_progress_measures(tmp_path)
    (row,) = res.claims
    assert row["id"] == "P1@transformer" and row["verdict"] in VERDICTS
    (section,) = res.sections
    exact = next(v for k, v in section["notes"].items() if k.startswith("replayed"))
    assert all(exact.values()), exact
    assert (tmp_path / "figures" / "progress-measures@transformer.png").exists()
    table = res.data["measures"]["transformer"]
    assert table.restricted_loss.notna().all() and (table.embedding_gini.between(0, 1)).all()


def test_only_sums_that_wrap_around_on_their_pairs_are_measured():
    from grokking_tickets.config import TaskConfig

    ok = {(op, pairs): pm.measurable(TaskConfig(op=op, pairs=pairs)) for op in ("add", "sub", "mul") for pairs in ("unordered", "all")}
    assert ok == {("add", "unordered"): True, ("add", "all"): True, ("sub", "unordered"): False,
                  ("sub", "all"): True, ("mul", "unordered"): False, ("mul", "all"): False}  # fmt: skip
