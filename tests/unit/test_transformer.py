import pytest
import torch
from conftest import assert_same_bits

from grokking_tickets.config import apply_overrides, load_preset
from grokking_tickets.models import build_model, transformer
from grokking_tickets.tasks import build_dataset
from grokking_tickets.train.loss import ce_grad
from grokking_tickets.train.population import Member, Population


def _setup(eq=False):
    cfg = apply_overrides(load_preset("transformer-modadd"), [f"model.eq_token={'true' if eq else 'false'}"])
    data = build_dataset(cfg.task)
    return cfg, data, build_model(cfg.model, data)


@pytest.fixture(params=["index", "product"])
def lookup(request, monkeypatch):
    """Both ways the fast path looks token rows up: by index (the CPU's) and by a one-hot product
    (the GPU's, deterministic there), each checked here on the CPU."""
    monkeypatch.setattr(transformer, "lookup_by_product", lambda tok: request.param == "product")
    return request.param


@pytest.mark.parametrize("eq", [False, True])
def test_table_fast_path_equals_plain_forward(eq, lookup):
    _, data, model = _setup(eq)
    theta = {k: v.double() for k, v in model.init(4).items()}
    tok = model.prepare(data.test_x)
    fast = model.logits({k: v.unsqueeze(0) for k, v in theta.items()}, tok)[0].T  # [N, C]
    torch.testing.assert_close(fast, model.forward(theta, data.test_x), rtol=1e-10, atol=1e-12)


def test_gradients_equal_autograd_through_the_plain_forward(lookup):
    _, data, model = _setup()
    theta = {k: v.double() for k, v in model.init(2).items()}
    tok = model.prepare(data.train_x)
    grads = model.grads({k: v.unsqueeze(0) for k, v in theta.items()}, tok, data.train_y, ce_grad)
    leaves = {k: v.clone().requires_grad_() for k, v in theta.items()}
    torch.nn.functional.cross_entropy(model.forward(leaves, data.train_x), data.train_y).backward()
    for k, leaf in leaves.items():
        torch.testing.assert_close(grads[k][0], leaf.grad, rtol=1e-8, atol=1e-12)


def test_member_equals_its_solo_run_exactly():
    cfg, data, model = _setup()
    members = [Member(model.init(s), None, w) for s, w in ((0, 1.0), (1, 0.5), (2, 1.0))]
    pop = Population(model, data, cfg.optim, members, "ce", "cpu")
    solo = Population(model, data, cfg.optim, members[1:2], "ce", "cpu")
    for _ in range(10):
        pop.step()
        solo.step()
    for n in model.names:
        assert_same_bits(pop.params[n][1], solo.params[n][0], f"member 1's {n} against its solo run's")
    assert_same_bits(pop.evaluate()[1], solo.evaluate()[0], "member 1's metrics against its solo run's")


def test_both_lookups_give_the_same_logits_bit_for_bit_and_the_same_trajectory(monkeypatch):
    """The one-hot product adds exactly one nonzero term per row, so the logits are the index
    lookup's bits; the gradients sum the same terms in another order, so 100 float64 steps
    stay within rounding of each other."""
    cfg, data, model = _setup(eq=True)
    members = [Member({k: v.double() for k, v in model.init(s).items()}, None, 1.0) for s in (0, 1)]
    pops = {}
    for way in ("index", "product"):
        monkeypatch.setattr(transformer, "lookup_by_product", lambda tok, w=way: w == "product")
        pops[way] = pop = Population(model, data, cfg.optim, members, "ce", "cpu")
        first = model.logits(pop.params, pop.train_prep)
        for _ in range(100):
            pop.step()
        pops[way] = (first, pop.params)
    assert torch.equal(pops["index"][0], pops["product"][0])
    for n in model.names:
        torch.testing.assert_close(pops["product"][1][n], pops["index"][1][n], rtol=1e-10, atol=1e-12)
        assert not torch.equal(pops["product"][1][n][0], members[0].theta0[n])  # it trained
