"""Grokfast (train/grokfast.py): the filter against the authors' code, the trainer with the filter
against a plain single-model loop over a trajectory, and the settings' place in a run's identity.

Exactness in populations, pruned weights and resume with the filter: tests/unit/test_exactness.py.
"""

from __future__ import annotations

from collections import deque

import pytest
import torch

from grokking_tickets.config import Config, OptimConfig, apply_overrides, from_dict, load_preset
from grokking_tickets.errors import UserError
from grokking_tickets.models import build_model
from grokking_tickets.spec import RunSpec
from grokking_tickets.tasks import build_dataset
from grokking_tickets.train.grokfast import FilterSpec, GradFilter
from grokking_tickets.train.population import Member, Population

# -- the filter, as the authors wrote it (github ironjr/grokfast, grokfast.py), on plain tensors ----


def _reference_ema(grads: dict, state: dict | None, alpha: float, lamb: float) -> tuple[dict, dict]:
    """gradfilter_ema: the state starts as the first gradient, then ema = ema·α + g·(1 − α); g + ema·λ."""
    if state is None:
        state = {n: g.clone() for n, g in grads.items()}
    out = {}
    for n, g in grads.items():
        state[n] = state[n] * alpha + g * (1 - alpha)
        out[n] = g + state[n] * lamb
    return out, state


def _reference_ma(grads: dict, state: dict | None, window: int, lamb: float) -> tuple[dict, dict]:
    """gradfilter_ma (filter_type='mean', warmup=True): the mean of the last w gradients, added
    once w of them are collected."""
    if state is None:
        state = {n: deque(maxlen=window) for n in grads}
    out = {}
    for n, g in grads.items():
        state[n].append(g.clone())
        out[n] = g + sum(state[n]) / len(state[n]) * lamb if len(state[n]) == window else g
    return out, state


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here (CPU-only machine)")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]


@pytest.mark.parametrize("device", DEVICES)
def test_the_filter_computes_the_authors_filters(device):
    """Two members with different filters and one without, 40 steps of random gradients: the EMA
    is the authors' arithmetic operation for operation (bit for bit), the MA their windowed
    mean up to the last bits (ours keeps the window's sum as a float64 running sum)."""
    gen = torch.Generator().manual_seed(0)
    shapes = {"a": (5, 3), "b": (7,)}
    specs = [FilterSpec("ema", 2.0, alpha=0.9), FilterSpec("ma", 5.0, window=6), None]
    filt = GradFilter(specs, {n: torch.zeros(3, *s, device=device) for n, s in shapes.items()})
    refs: list = [None, None]
    for t in range(40):
        grads = {n: (torch.randn(3, *s, generator=gen) * (1 + t % 5)).to(device) for n, s in shapes.items()}
        raw = {n: g.clone() for n, g in grads.items()}
        filt.apply(grads)
        ema, refs[0] = _reference_ema({n: g[0] for n, g in raw.items()}, refs[0], 0.9, 2.0)
        ma, refs[1] = _reference_ma({n: g[1] for n, g in raw.items()}, refs[1], 6, 5.0)
        for n in shapes:
            if device == "cpu":
                assert torch.equal(grads[n][0], ema[n]), (t, n)
            else:  # the foreach kernels on CUDA: held to rounding
                torch.testing.assert_close(grads[n][0], ema[n], rtol=1e-6, atol=1e-7)
            torch.testing.assert_close(grads[n][1], ma[n], rtol=1e-6, atol=1e-6, msg=f"step {t} {n}")
            if t < 5:  # the MA passes the gradient unchanged until its window is full
                assert torch.equal(grads[n][1], raw[n][1])
            assert torch.equal(grads[n][2], raw[n][2])  # no filter: untouched


# -- the trainer with the filter against the plain loop -----------------------------------------------

STEPS = 100
EMA, MA = FilterSpec("ema", 2.0, alpha=0.98), FilterSpec("ma", 5.0, window=10)
# Narrower than the paper's and with a larger learning rate, to learn within 100 steps in
# seconds: the filter is elementwise, and what matters is that it acts on every gradient in its
# parameter's layout (the transformer's gradients come in other layouts), whatever the width.
SETUPS = {
    "mlp": ("mlp-modadd", ["model.d_emb=128", "optim.lr=3e-3"]),
    "transformer": ("transformer-modadd", ["model.d_model=64", "model.d_mlp=64", "optim.lr=3e-3"]),
}


def _plain_run(model, cfg, data, member: Member, steps: int, device: str = "cpu"):
    """One model by the book: ``model.forward``, autograd, the authors' filter on the gradients,
    the mask after the filter, torch.optim.AdamW. Returns the weights and the loss before each step."""
    data = data.to(device)
    x, y = data.train_x, data.train_y
    mask = {n: m.to(device) for n, m in member.mask.items()} if member.mask else None
    theta = {
        n: (t.to(device) * mask[n] if mask else t.to(device)).clone().requires_grad_() for n, t in member.theta0.items()
    }
    o = cfg.optim
    opt = torch.optim.AdamW(
        theta.values(), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=member.weight_decay
    )
    spec, state, losses = member.grad_filter, None, []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model.forward(theta, x).double(), y)
        opt.zero_grad()
        loss.backward()
        grads = {n: p.grad for n, p in theta.items()}
        if spec is not None and spec.kind == "ema":
            grads, state = _reference_ema(grads, state, spec.alpha, spec.lamb)
        elif spec is not None:
            grads, state = _reference_ma(grads, state, spec.window, spec.lamb)
        for n, p in theta.items():
            p.grad = grads[n] * mask[n] if mask else grads[n]
        opt.step()
        losses.append(loss.item())
    return {n: p.detach() for n, p in theta.items()}, torch.tensor(losses, dtype=torch.float64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(SETUPS))
def test_trainer_with_grokfast_follows_the_plain_loop(name, device):
    """float64, 100 steps, one population: a masked member with the EMA filter and a weight decay
    of its own, and a member with the MA filter (w = 10: 9 steps of warm-up, then the window
    wraps 9 times); on the MLP also a dense member with the EMA. Members without a filter are
    test_trajectory.py's."""
    preset, overrides = SETUPS[name]
    cfg = apply_overrides(load_preset(preset), overrides)
    data = build_dataset(cfg.task)
    model = build_model(cfg.model, data)
    gen = torch.Generator().manual_seed(7)
    mask = {n: torch.rand(s, generator=gen) < 0.4 for n, s in model.shapes().items()}
    f64 = lambda theta: {n: t.double() for n, t in theta.items()}
    members = [Member(f64(model.init(1)), mask, 0.3, EMA), Member(f64(model.init(2)), None, 1.0, MA)]
    if name == "mlp":
        members.append(Member(f64(model.init(0)), None, 1.0, EMA))
    pop = Population(model, data, cfg.optim, members, cfg.train.loss, device)
    losses = []
    for _ in range(STEPS):
        losses.append(pop.evaluate()[:, 0])
        pop.step()
    losses = torch.stack(losses).cpu()
    for k, member in enumerate(members):
        ref, ref_losses = _plain_run(model, cfg, data, member, STEPS, device)
        ref = {n: t.cpu() for n, t in ref.items()}
        assert ref_losses[-1] < 0.9 * ref_losses[0], "the plain loop must be learning for the test to mean much"
        torch.testing.assert_close(losses[:, k], ref_losses, rtol=1e-10, atol=0, msg=f"{name} member {k} loss")
        for n in model.names:
            scale = ref[n].abs().max().item()
            got = pop.params[n][k].cpu()
            torch.testing.assert_close(got, ref[n], rtol=0, atol=1e-10 * scale, msg=f"{name} {k} {n}")
            if member.mask is not None:
                assert (got[~mask[n]] == 0).all(), (name, n)


def test_the_filter_changes_the_trajectory():
    """Not a no-op: after 30 steps a member with the filter is far from the same member without."""
    cfg = from_dict({"task": {"p": 11, "train_frac": 0.5}, "model": {"d_emb": 16, "d_hidden": 8}})
    data = build_dataset(cfg.task)
    model = build_model(cfg.model, data)
    members = [Member(model.init(0), None, 1.0, EMA), Member(model.init(0), None, 1.0, None)]
    pop = Population(model, data, cfg.optim, members, cfg.train.loss, "cpu")
    for _ in range(30):
        pop.step()
    diff = (pop.params["W_in"][0] - pop.params["W_in"][1]).abs().max()
    assert diff > 1e-3 * pop.params["W_in"][1].abs().max()


# -- settings and identity --------------------------------------------------------------------------


def _id(*overrides: str) -> str:
    return RunSpec.dense(apply_overrides(Config(), list(overrides)), 0).run_id


def test_filter_settings_enter_the_run_id_only_where_they_act():
    base = _id()
    assert base == _id("optim.grokfast_alpha=0.9", "optim.grokfast_lambda=3.0", "optim.grokfast_window=7")
    ema = _id("optim.grad_filter=ema")
    assert ema != base
    assert ema == _id("optim.grad_filter=ema", "optim.grokfast_lambda=2.0")  # λ as applied: 0 is 2.0 for ema
    assert ema == _id("optim.grad_filter=ema", "optim.grokfast_window=7")  # the window is the MA's
    assert ema != _id("optim.grad_filter=ema", "optim.grokfast_alpha=0.9")
    assert ema != _id("optim.grad_filter=ema", "optim.grokfast_lambda=3.0")
    ma = _id("optim.grad_filter=ma")
    assert ma not in (base, ema)
    assert ma == _id("optim.grad_filter=ma", "optim.grokfast_lambda=5.0", "optim.grokfast_alpha=0.5")
    assert ma != _id("optim.grad_filter=ma", "optim.grokfast_window=50")


def test_runs_with_and_without_the_filter_share_a_cohort():
    plain = RunSpec.dense(Config(), 0)
    ema = RunSpec.dense(apply_overrides(Config(), ["optim.grad_filter=ema", "optim.weight_decay=0.5"]), 1)
    assert plain.cohort_key() == ema.cohort_key()
    assert RunSpec.from_dict(ema.to_dict()) == ema  # spec.json round trip


def test_filter_spec_of_a_config():
    assert FilterSpec.of(OptimConfig()) is None
    assert FilterSpec.of(OptimConfig(grad_filter="ema")) == FilterSpec("ema", 2.0, alpha=0.98)
    assert FilterSpec.of(OptimConfig(grad_filter="ma", grokfast_window=7)) == FilterSpec("ma", 5.0, window=7)
    assert FilterSpec.of(OptimConfig(grad_filter="ema", grokfast_lambda=0.5)).lamb == 0.5


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.grad_filter=fast", "optim.grad_filter must be one of none, ema, ma"),
        ("optim.grokfast_alpha=1.0", r"optim.grokfast_alpha must lie in \[0, 1\)"),
        ("optim.grokfast_lambda=-1", "optim.grokfast_lambda must be >= 0"),
        ("optim.grokfast_window=0", "optim.grokfast_window must be at least 1"),
        ("optim.grokfast_window=2.5", "optim.grokfast_window must be of type int"),
    ],
)
def test_bad_filter_settings_are_refused(override, message):
    with pytest.raises(UserError, match=message):
        apply_overrides(Config(), [override])
