"""The TransformerLens export (lens.py), with the real package: the HookedTransformer's logits at
the last position equal our transformer's on every pair of the task, trained and at θ0, with and
without the '=' token; its run_with_cache works; the MLP is refused in one line."""

from __future__ import annotations

import pytest
import torch

from grokking_tickets.config import from_dict
from grokking_tickets.errors import UserError
from grokking_tickets.lens import load_hooked, to_hooked_transformer
from grokking_tickets.models import build_model
from grokking_tickets.runner import train_runs
from grokking_tickets.spec import InitSpec, MaskSpec, RunSpec
from grokking_tickets.store import Store
from grokking_tickets.tasks import build_dataset

pytest.importorskip("transformer_lens")
TOL = {"rtol": 1e-5, "atol": 2e-5}  # float32, another summation order (measured: max |Δ| ~1e-6)


def _cfg(eq: bool):
    return from_dict({
        "task": {"name": "modular", "p": 13, "train_frac": 0.5},
        "model": {"name": "transformer", "d_model": 24, "d_mlp": 32, "eq_token": eq},
        "train": {"steps": 200, "eval_every": 50, "checkpoint_every": 100},
    })  # fmt: skip


@pytest.mark.parametrize("eq", [False, True], ids=["a,b", "a,b,="])
def test_the_hooked_transformer_computes_our_logits_on_every_pair(eq, tmp_path):
    cfg = _cfg(eq)
    spec = RunSpec(cfg.task, cfg.model, cfg.optim, cfg.train, 0, InitSpec(mask=MaskSpec("random", 0.6)))
    train_runs([spec], Store(tmp_path), torch.device("cpu"), progress=False)
    data = build_dataset(cfg.task)
    model = build_model(cfg.model, data)
    for step in (0, 200):
        net, tokens = load_hooked(tmp_path, spec.run_id, step)
        weights = Store(tmp_path).weights(spec.run_id, step)
        x = torch.cat([data.train_x, data.test_x])
        assert tokens.shape == (len(x), 3 if eq else 2)
        with torch.no_grad():
            ours = model.forward(weights, x)  # [N, C]
            theirs = net(tokens)[:, -1]  # [N, T, C] -> the last position
        torch.testing.assert_close(theirs, ours, **TOL)
        assert (theirs.argmax(-1) == ours.argmax(-1)).float().mean() > 0.99  # float ties aside


def test_run_with_cache_gives_the_activations(tmp_path):
    cfg = _cfg(False)
    spec = RunSpec.dense(cfg, 1)
    train_runs([spec], Store(tmp_path), torch.device("cpu"), progress=False)
    net, tokens = load_hooked(tmp_path, spec.run_id)
    _, cache = net.run_with_cache(tokens)
    assert cache["blocks.0.mlp.hook_post"].shape == (len(tokens), 2, 32)
    assert cache["blocks.0.attn.hook_pattern"].shape == (len(tokens), 1, 2, 2)
    assert (cache["blocks.0.mlp.hook_post"] >= 0).all()  # ReLU


def test_only_the_transformer_maps():
    cfg = from_dict({"task": {"p": 11}, "model": {"d_emb": 8, "d_hidden": 4}})
    data = build_dataset(cfg.task)
    model = build_model(cfg.model, data)
    with pytest.raises(UserError, match="only the transformer maps onto a HookedTransformer"):
        to_hooked_transformer(model, model.init(0))
