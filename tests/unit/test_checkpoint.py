"""A stored checkpoint loads as a plain nn.Module (checkpoint.py) whose logits are the trainer's:
for every registered model, a dense run and a masked run, at the last step and at θ0."""

from __future__ import annotations

import pytest
import torch
from test_exactness import TINY, _cfg

from grokking_tickets.checkpoint import RunModule, load_run
from grokking_tickets.errors import UserError
from grokking_tickets.models import build_model
from grokking_tickets.runner import train_runs
from grokking_tickets.spec import InitSpec, MaskSpec, RunSpec
from grokking_tickets.store import Store
from grokking_tickets.tasks import build_dataset
from grokking_tickets.train.population import cast_inputs


@pytest.mark.parametrize("name", sorted(TINY))
def test_a_checkpoint_module_computes_the_trainers_logits(name, tmp_path):
    cfg = _cfg(name)
    dense = RunSpec.dense(cfg, 0)
    ticket = RunSpec(cfg.task, cfg.model, cfg.optim, cfg.train, 1, InitSpec(mask=MaskSpec("random", 0.6)))
    store = Store(tmp_path)
    train_runs([dense, ticket], store, torch.device("cpu"), progress=False)
    for spec in (dense, ticket):
        for step in (0, cfg.train.steps):
            net, data = load_run(tmp_path, spec.run_id, step)
            assert isinstance(net, torch.nn.Module) and net.masked == (spec is ticket)
            model = build_model(spec.model, build_dataset(spec.task, spec.split_seed))
            weights = store.weights(spec.run_id, step)
            for x in (data.train_x, data.test_x):
                fast = model.logits({n: w[None] for n, w in weights.items()}, cast_inputs(model.prepare(x), torch.float32))
                with torch.no_grad():
                    got = net(x)  # [N, C]
                assert got.shape == fast[0].T.shape
                # the textbook forward against the factorized one: float32 rounding apart
                torch.testing.assert_close(got, fast[0].T, rtol=1e-4, atol=1e-4)


def test_the_module_is_a_module_users_can_differentiate_and_its_mask_holds(tmp_path):
    cfg = _cfg("mlp")
    spec = RunSpec(cfg.task, cfg.model, cfg.optim, cfg.train, 0, InitSpec(mask=MaskSpec("random", 0.5)))
    train_runs([spec], Store(tmp_path), torch.device("cpu"), progress=False)
    net, data = load_run(tmp_path, spec.run_id)
    loss = torch.nn.functional.cross_entropy(net(data.train_x), data.train_y)
    loss.backward()
    for n in net.model.names:
        pruned = net.mask(n) == 0
        assert pruned.any() and (net.weights[n].grad[pruned] == 0).all(), n  # no gradient reaches a pruned weight
    with torch.no_grad():  # an edit of a pruned weight does not revive it
        before = net(data.test_x)
        for n in net.model.names:
            net.weights[n][net.mask(n) == 0] = 5.0
        assert torch.equal(net(data.test_x), before)
    assert isinstance(net, RunModule) and len(list(net.parameters())) == len(net.model.names)


def test_a_missing_run_or_step_is_a_clear_error(tmp_path):
    cfg = _cfg("mlp")
    spec = RunSpec.dense(cfg, 0)
    train_runs([spec], Store(tmp_path), torch.device("cpu"), progress=False)
    with pytest.raises(UserError, match="has no run"):
        load_run(tmp_path, "nope")
    with pytest.raises(UserError, match="no weights at step 7"):
        load_run(tmp_path, spec.run_id, 7)
