import math

import pytest
import torch

from grokking_tickets.config import ModelConfig, TaskConfig
from grokking_tickets.models.mlp import ModularMLP
from grokking_tickets.pruning.controls import lp_norm, norm_ratio
from grokking_tickets.pruning.masks import mask_from_scores, n_pruned
from grokking_tickets.pruning.scorers.grasp import grasp
from grokking_tickets.pruning.scorers.snip import snip
from grokking_tickets.pruning.scorers.synflow import synflow
from grokking_tickets.tasks import build_dataset
from grokking_tickets.train.loss import ce_loss


def _scores(seed=0, ties=False):
    gen = torch.Generator().manual_seed(seed)
    out = {"a": torch.rand(7, 5, generator=gen), "b": torch.rand(3, 11, generator=gen), "c": torch.rand(13, generator=gen)}
    if ties:
        out = {k: (v * 4).floor() for k, v in out.items()}  # values in {0, 1, 2, 3}: many ties
    return out


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 0.6, 0.81, 0.99])
def test_exact_counts_global_and_per_layer(rate, ties):
    sc = _scores(1, ties)
    n = sum(v.numel() for v in sc.values())
    glob = mask_from_scores(sc, rate, "global")
    assert sum(int((~m).sum()) for m in glob.values()) == n_pruned(rate, n) == math.floor(rate * n + 0.5)
    layer = mask_from_scores(sc, rate, "layer")
    for k, v in sc.items():
        assert int((~layer[k]).sum()) == n_pruned(rate, v.numel())
    # every pruned score is <= every kept score (global)
    flat_s = torch.cat([v.flatten() for v in sc.values()])
    flat_m = torch.cat([m.flatten() for m in glob.values()])
    if 0 < rate:
        assert flat_s[~flat_m].max() <= flat_s[flat_m].min()


def test_ties_are_broken_by_position():
    sc = {"a": torch.zeros(2, 3), "b": torch.zeros(4)}
    m = mask_from_scores(sc, 0.5, "global")  # 5 of 10 pruned: the first five positions
    assert m["a"].flatten().tolist() == [False] * 5 + [True] and m["b"].tolist() == [True] * 4
    again = mask_from_scores({k: v.clone() for k, v in sc.items()}, 0.5)
    assert all(torch.equal(m[k], again[k]) for k in m)


def test_bad_rate_or_scope():
    with pytest.raises(ValueError):
        mask_from_scores(_scores(), 1.0)
    with pytest.raises(ValueError):
        mask_from_scores(_scores(), 0.5, "neuron")


def test_norm_ratio_matches_the_ticket():
    theta = _scores(2)
    mask = mask_from_scores({k: v.abs() for k, v in theta.items()}, 0.6)
    for p in (1, 2):
        r = norm_ratio(theta, mask, p)
        control = {k: v * r for k, v in theta.items()}
        ticket = {k: v * mask[k] for k, v in theta.items()}
        assert lp_norm(control, p) == pytest.approx(lp_norm(ticket, p), rel=1e-6)  # float32 θ0·r


def test_norms_are_the_same_float_in_any_order_and_thread_count():
    """r_p is part of a control's run id, so ‖·‖_p must not depend on how a machine sums: the
    same float for any order of the entries and any torch thread count, and the exactly
    rounded value (Python's integer-exact sum of the float64 squares / absolute values)."""
    from fractions import Fraction

    gen = torch.Generator().manual_seed(3)
    theta = {"a": torch.randn(100, 200, generator=gen), "b": torch.randn(1000, generator=gen) * 1e-3}
    flat = torch.cat([t.flatten() for t in theta.values()])
    shuffled = {"x": flat[torch.randperm(len(flat), generator=gen)]}
    threads = torch.get_num_threads()
    try:
        for p in (1, 2):
            ref = lp_norm(theta, p)
            assert lp_norm(shuffled, p) == ref
            torch.set_num_threads(1)
            assert lp_norm(theta, p) == ref
            torch.set_num_threads(max(threads, 2))
            exact = sum(Fraction(abs(float(x)) ** p) for x in flat.double().tolist())  # float32² is exact in float64
            assert ref == (float(exact) if p == 1 else float(exact) ** 0.5)
    finally:
        torch.set_num_threads(threads)


# -- pruning-at-initialization scorers on a tiny model, against independent computations --------


def _tiny():
    task = TaskConfig(p=5, train_frac=0.6)
    model = ModularMLP(ModelConfig(d_emb=4, d_hidden=3), 5, 5)
    return model, model.init(0), build_dataset(task)


def _loss64(model, theta, data):
    prep = tuple(t.double() for t in model.prepare(data.train_x))
    return ce_loss(model.logits({k: v.unsqueeze(0) for k, v in theta.items()}, prep), data.train_y)[0]


def _fd_grad(model, theta, data, eps=1e-6):
    """Central finite differences of the float64 training loss."""
    out = {}
    for k, v in theta.items():
        g = torch.zeros_like(v)
        for i in range(v.numel()):
            plus = {n: t.clone() for n, t in theta.items()}
            minus = {n: t.clone() for n, t in theta.items()}
            plus[k].view(-1)[i] += eps
            minus[k].view(-1)[i] -= eps
            g.view(-1)[i] = (_loss64(model, plus, data) - _loss64(model, minus, data)) / (2 * eps)
        out[k] = g
    return out


def test_snip_is_abs_grad_times_weight():
    model, theta, data = _tiny()
    theta64 = {k: v.double() for k, v in theta.items()}
    g = _fd_grad(model, theta64, data)
    got = snip(model, theta, data)
    for k in theta:
        torch.testing.assert_close(got[k].double(), (g[k] * theta64[k]).abs(), rtol=1e-4, atol=1e-7)


def test_grasp_is_weight_times_hessian_gradient():
    model, theta, data = _tiny()
    theta64 = {k: v.double() for k, v in theta.items()}
    g = _fd_grad(model, theta64, data)
    eps = 1e-4  # Hg by finite differences of the gradient along g
    gp = _fd_grad(model, {k: theta64[k] + eps * g[k] for k in theta}, data)
    gm = _fd_grad(model, {k: theta64[k] - eps * g[k] for k in theta}, data)
    got = grasp(model, theta, data)
    for k in theta:
        hg = (gp[k] - gm[k]) / (2 * eps)
        torch.testing.assert_close(got[k].double(), theta64[k] * hg, rtol=2e-3, atol=1e-6)


def test_synflow_one_round_is_the_closed_form():
    """With |θ| and an all-ones input, R = 1ᵀ|Wu||Wo||Wi||We|1; its score for We[i, j] is
    (1ᵀ|Wu||Wo||Wi|)_i · |We[i, j]|, and for Wu[c, i] it is |Wu[c, i]| · (|Wo||Wi||We|1)_i."""
    model, theta, _ = _tiny()
    A = {k: v.double().abs() for k, v in theta.items()}
    got = synflow(model, theta, rate=0.0, rounds=1)
    left = torch.ones(5, dtype=torch.float64) @ A["W_unemb"] @ A["W_out"] @ A["W_in"]  # [d]
    torch.testing.assert_close(got["W_emb"], left[:, None] * A["W_emb"])
    right = A["W_out"] @ A["W_in"] @ A["W_emb"] @ torch.ones(5, dtype=torch.float64)  # [d]
    torch.testing.assert_close(got["W_unemb"], A["W_unemb"] * right[None, :])


def test_synflow_prunes_iteratively_to_the_exact_rate():
    model, theta, _ = _tiny()
    sc = synflow(model, theta, rate=0.7, rounds=10)
    mask = mask_from_scores(sc, 0.7)
    n = sum(v.numel() for v in theta.values())
    assert sum(int((~m).sum()) for m in mask.values()) == n_pruned(0.7, n)
    # weights pruned in earlier rounds score -inf, so the final mask keeps them pruned
    assert any(torch.isinf(v).any() for v in sc.values())
    assert all(bool((~mask[k])[torch.isinf(sc[k])].all()) for k in sc)
