import math

import pytest
import torch

from grokking_tickets.config import Config, ModelConfig, TaskConfig
from grokking_tickets.models.mlp import ModularMLP
from grokking_tickets.tasks import build_dataset
from grokking_tickets.tasks.modular import all_pairs
from grokking_tickets.train.loss import ce_grad, ce_loss


def test_paper_split_sizes_and_disjointness():
    data = build_dataset(TaskConfig())
    assert len(data.train_y) == 911 and len(data.test_y) == 2278 - 911  # 67·68/2 pairs a <= b
    assert bool((data.train_x[:, 0] <= data.train_x[:, 1]).all())
    tr = {tuple(r) for r in data.train_x.tolist()}
    te = {tuple(r) for r in data.test_x.tolist()}
    assert not tr & te
    assert len(all_pairs(TaskConfig(pairs="all"))[1]) == 67 * 67


def test_split_is_fixed_by_its_seed():
    a, b, c = (build_dataset(TaskConfig(split_seed=s)) for s in (0, 0, 1))
    assert torch.equal(a.train_x, b.train_x) and not torch.equal(a.train_x, c.train_x)


@pytest.mark.parametrize(
    "op, f",
    [("add", lambda a, b, p: (a + b) % p), ("sub", lambda a, b, p: (a - b) % p),
     ("mul", lambda a, b, p: (a * b) % p), ("x2xyy2", lambda a, b, p: (a * a + a * b + b * b) % p)],
)  # fmt: skip
def test_ops(op, f):
    x, y = all_pairs(TaskConfig(p=7, op=op, pairs="all"))
    assert [f(a, b, 7) for a, b in x.tolist()] == y.tolist()


def test_division_skips_zero_and_inverts():
    x, y = all_pairs(TaskConfig(p=7, op="div", pairs="all"))
    assert len(y) == 7 * 6
    assert all((c * b) % 7 == a for (a, b), c in zip(x.tolist(), y.tolist()))


def test_init_std_is_kappa_over_sqrt_fan_in():
    model = ModularMLP(ModelConfig(init_scale=2.0), 67, 67)
    theta = model.init(0)
    for name, w in theta.items():
        assert w.std().item() == pytest.approx(2.0 / math.sqrt(w.shape[1]), rel=0.05), name
    assert all(torch.equal(theta[k], model.init(0)[k]) for k in theta)


def _member(model, seed):
    return {k: v.double().unsqueeze(0) for k, v in model.init(seed).items()}


def test_factorized_forward_equals_plain_forward():
    cfg = Config()
    data = build_dataset(cfg.task)
    model = ModularMLP(cfg.model, 67, 67)
    params = _member(model, 3)
    prep = tuple(t.double() for t in model.prepare(data.test_x))
    fast = model.logits(params, prep)[0].T  # [N, C]
    plain = model.forward({k: v[0] for k, v in params.items()}, data.test_x)
    torch.testing.assert_close(fast, plain, rtol=1e-10, atol=1e-10)


def test_hand_written_gradients_equal_autograd():
    cfg = Config()
    data = build_dataset(cfg.task)
    model = ModularMLP(cfg.model, 67, 67)
    params = _member(model, 1)
    prep = tuple(t.double() for t in model.prepare(data.train_x))
    grads = model.grads(params, prep, data.train_y, ce_grad)
    leaves = {k: v[0].clone().requires_grad_() for k, v in params.items()}
    loss = torch.nn.functional.cross_entropy(model.forward(leaves, data.train_x), data.train_y)
    loss.backward()
    for k, leaf in leaves.items():
        torch.testing.assert_close(grads[k][0], leaf.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 30.0, 80.0])
def test_stable_ce_gradient_matches_float64(scale):
    """Against autograd through a float64 log-softmax, confident logits included."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 10, 50, generator=gen) * scale
    y = torch.randint(0, 10, (50,), generator=gen)
    got = ce_grad(logits.clone(), y).double()
    # the exact gradient, in float64 without cancellation: softmax, true class -sum(others)
    sm = logits.double().softmax(1)
    true = torch.nn.functional.one_hot(y, 10).T.bool().expand_as(sm)
    exact = torch.where(true, -sm.masked_fill(true, 0).sum(1, keepdim=True).expand_as(sm), sm) / 50
    # rtol: exp of a float32 difference x_j - max carries a relative error up to |x_j - max|·2^-24
    torch.testing.assert_close(got, exact, rtol=5e-5, atol=1e-30)
    # the authors' float64 log-softmax: equal up to its own rounding of softmax_c - 1 (2^-53 / N)
    ref = logits.double().requires_grad_()
    ce_loss(ref, y).sum().backward()
    torch.testing.assert_close(got, ref.grad, rtol=5e-5, atol=2**-52 / 50)
    if scale == 30.0:  # margins ~60 nats: float32's log-softmax loses the true-class gradient here
        f32 = logits.clone().requires_grad_()
        torch.nn.functional.cross_entropy(f32[0].T, y).backward()
        assert (f32.grad[0].gather(0, y.view(1, -1)) == 0).any()
        assert (got[0].gather(0, y.view(1, -1)) != 0).all()
