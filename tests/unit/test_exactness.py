"""The exactness guarantees, for every registered model (a new model is tested by being registered).

- a mask prunes exactly round(rate · n) weights, globally and per matrix;
- pruned weights stay exactly zero through training, and so do their Adam moments;
- a population member computes what its run computes alone;
- a run interrupted and resumed ends with the numbers of an uninterrupted one;
- all of it with the Grokfast gradient filter too (its state is part of the resume state).

Each model trains on a tiny version of a task its inputs fit: seconds per test.
"""

from __future__ import annotations

import pytest
import torch
from conftest import assert_same_bits, crash_at_step

from grokking_tickets.config import apply_overrides, from_dict
from grokking_tickets.models import MODELS, build_model
from grokking_tickets.pruning import mask_from_scores, n_pruned
from grokking_tickets.runner import train_runs
from grokking_tickets.spec import InitSpec, MaskSpec, RunSpec
from grokking_tickets.store import Store
from grokking_tickets.tasks import build_dataset
from grokking_tickets.tasks.mnist_data import find_mnist_file
from grokking_tickets.train.grokfast import FilterSpec
from grokking_tickets.train.population import Member, Population

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here (CPU-only machine)")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]
MODULAR = {"name": "modular", "p": 11, "train_frac": 0.5}
IMAGES = {"name": "mnist", "n_train": 64, "n_test": 64}
PARITY = {"name": "parity", "n_features": 10, "parity_k": 3, "n_train": 64, "n_test": 64}
TRAIN = {"steps": 30, "eval_every": 5, "checkpoint_every": 10}
# A tiny configuration per model; a model missing here fails test_every_model_is_covered.
TINY = {
    "mlp": {"task": MODULAR, "model": {"name": "mlp", "d_emb": 16, "d_hidden": 8}},
    "transformer": {"task": MODULAR, "model": {"name": "transformer", "d_model": 16, "d_mlp": 16}},
    "mnist-mlp": {"task": IMAGES, "model": {"name": "mnist-mlp", "d_hidden": 16}, "train": {"loss": "mse"}},
    # dense-mlp on sparse parity (its own task in v3), so it is covered without the MNIST file
    "dense-mlp": {"task": PARITY, "model": {"name": "dense-mlp", "widths": [12, 8], "bias": True}},
}
NO_MNIST = find_mnist_file() is None


def _cfg(name: str):
    d = TINY[name]
    if d["task"]["name"] == "mnist" and NO_MNIST:
        pytest.skip("the MNIST data file is not installed (make setup)")
    return from_dict({"task": d["task"], "model": d["model"], "train": {**TRAIN, **d.get("train", {})}, "seeds": [0, 1]})


def _model(cfg):
    data = build_dataset(cfg.task)
    return data, build_model(cfg.model, data)


def test_every_model_is_covered():
    assert set(TINY) == set(MODELS.names())


@pytest.mark.parametrize("name", sorted(TINY))
@pytest.mark.parametrize("scope", ["global", "layer"])
@pytest.mark.parametrize("rate", [0.1, 0.6, 0.93])
def test_masks_prune_exact_counts(name, scope, rate):
    _, model = _model(_cfg(name))
    theta = model.init(0)
    mask = mask_from_scores({n: t.abs() for n, t in theta.items()}, rate, scope)
    if scope == "global":
        total = sum(t.numel() for t in theta.values())
        assert sum(int((~m).sum()) for m in mask.values()) == n_pruned(rate, total)
    else:
        assert all(int((~mask[n]).sum()) == n_pruned(rate, t.numel()) for n, t in theta.items())


@pytest.mark.parametrize("name", sorted(TINY))
def test_pruned_weights_and_their_adam_moments_stay_exactly_zero(name):
    cfg = _cfg(name)
    data, model = _model(cfg)
    theta = model.init(1)
    mask = mask_from_scores({n: torch.rand(t.shape, generator=torch.Generator().manual_seed(2)) for n, t in theta.items()}, 0.7)
    pop = Population(model, data, cfg.optim, [Member(theta, mask, 1.0), Member(model.init(2), None, 0.5)], cfg.train.loss, "cpu")
    for _ in range(25):
        pop.step()
    for n in model.names:
        pruned = ~mask[n]
        assert (pop.params[n][0][pruned] == 0).all(), n
        assert (pop.opt.m[n][0][pruned] == 0).all() and (pop.opt.v[n][0][pruned] == 0).all(), n
        if n.startswith("W"):  # survivors train (a bias of a dead unit may legitimately stay put)
            assert (pop.params[n][0][mask[n]] != theta[n][mask[n]]).any(), n
    kept = sum(int(m.sum()) for m in mask.values()) / sum(m.numel() for m in mask.values())
    assert float(pop.density[0]) == kept and float(pop.density[1]) == 1.0


def _population_equals_solo_runs(cfg, data, model, members: list[Member], steps: int = 20) -> Population:
    """Train ``members`` as one population and each alone; every member's metrics and weights
    must be its solo run's, bit for bit. Returns the population."""
    pop = Population(model, data, cfg.optim, members, cfg.train.loss, "cpu")
    solos = [Population(model, data, cfg.optim, [m], cfg.train.loss, "cpu") for m in members]
    for _ in range(steps):
        for p in (pop, *solos):
            p.step()
    evals = pop.evaluate()
    for k, solo in enumerate(solos):
        assert_same_bits(evals[k], solo.evaluate()[0], f"member {k}'s metrics against its solo run's")
        for n in model.names:
            assert_same_bits(pop.params[n][k], solo.params[n][0], f"member {k}'s {n} against its solo run's")
    return pop


@pytest.mark.parametrize("name", sorted(TINY))
def test_member_equals_its_solo_run_bit_for_bit(name):
    """Members differ in seed, mask and weight decay (test_trajectory.py checks the real shapes)."""
    cfg = _cfg(name)
    data, model = _model(cfg)
    mask = mask_from_scores({n: t.abs() for n, t in model.init(5).items()}, 0.5)
    members = [Member(model.init(0), None, 1.0), Member(model.init(1), mask, 0.3), Member(model.init(2), None, 0.0)]
    _population_equals_solo_runs(cfg, data, model, members)


def _resumed_equals_uninterrupted(
    specs: list[RunSpec], tmp_path, monkeypatch, crash: int = 17, device: str = "cpu"
) -> None:
    """Train ``specs`` uninterrupted, and again crashed at step ``crash`` (resume points at 10)
    and resumed: every run's metrics and final weights must be the uninterrupted ones."""

    def train(out):
        return train_runs(specs, Store(out), torch.device(device), progress=False)

    train(tmp_path / "clean")
    crash_at_step(monkeypatch, crash, lambda: train(tmp_path / "crashed"))
    assert Store(tmp_path / "crashed").load_state(specs[0].run_id)[0] == 10  # crashed, not finished
    train(tmp_path / "crashed")
    clean, resumed = Store(tmp_path / "clean"), Store(tmp_path / "crashed")
    steps = specs[0].train.steps
    for s in specs:
        assert clean.run_metrics(s.run_id).equals(resumed.run_metrics(s.run_id)), s.run_id
        for n, w in clean.weights(s.run_id, steps).items():
            assert_same_bits(w, resumed.weights(s.run_id, steps)[n], f"run {s.run_id}'s {n}, resumed against uninterrupted")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(TINY))
def test_resume_equals_uninterrupted(name, device, tmp_path, monkeypatch):
    """Dense runs and a masked run (the mask is rebuilt from the store on resume), on the CPU
    and, where there is one, on a GPU: same kernels on the same shapes, so the same bits."""
    cfg = _cfg(name)
    dense = [RunSpec.dense(cfg, s) for s in cfg.seeds]
    ticket = RunSpec(cfg.task, cfg.model, cfg.optim, cfg.train, 0, InitSpec(mask=MaskSpec("random", 0.6)))
    specs = [*dense, ticket]

    _resumed_equals_uninterrupted(specs, tmp_path, monkeypatch, device=device)


# -- the same guarantees with the Grokfast gradient filter (train/grokfast.py) --------------------------

EMA, MA = FilterSpec("ema", 2.0, alpha=0.9), FilterSpec("ma", 5.0, window=4)


@pytest.mark.parametrize("name", sorted(TINY))
def test_grokfast_members_equal_their_solo_runs_and_pruned_weights_stay_zero(name):
    """Members with the EMA filter, the MA filter (w = 4: full after 4 steps, then wrapping) and
    none, dense and masked, in one population; each computes its solo run's bits, and a masked
    member's pruned weights and Adam moments stay exactly zero (the mask comes after the filter)."""
    cfg = _cfg(name)
    data, model = _model(cfg)
    mask = mask_from_scores({n: t.abs() for n, t in model.init(5).items()}, 0.5)
    members = [
        Member(model.init(0), None, 1.0, EMA),
        Member(model.init(1), mask, 0.3, EMA),
        Member(model.init(2), None, 0.0, MA),
        Member(model.init(3), mask, 1.0, MA),
        Member(model.init(4), None, 1.0, None),
    ]
    pop = _population_equals_solo_runs(cfg, data, model, members)
    for k in (1, 3):
        for n in model.names:
            pruned = ~mask[n]
            assert (pop.params[n][k][pruned] == 0).all(), (k, n)
            assert (pop.opt.m[n][k][pruned] == 0).all() and (pop.opt.v[n][k][pruned] == 0).all(), (k, n)


@pytest.mark.parametrize("name", sorted(TINY))
def test_grokfast_resume_equals_uninterrupted(name, tmp_path, monkeypatch):
    """Runs with the EMA filter (dense and masked), the MA filter with a window that wraps before
    the resume point (w = 4) and one that fills only after it (w = 12), and a run without a
    filter, in one cohort; crashed at step 17 (resume points at 10), resumed: the numbers of an
    uninterrupted training, which needs the filter's state saved and restored."""
    cfg = _cfg(name)
    ema = apply_overrides(cfg, ["optim.grad_filter=ema", "optim.grokfast_alpha=0.9"])
    ma4 = apply_overrides(cfg, ["optim.grad_filter=ma", "optim.grokfast_window=4"])
    ma12 = apply_overrides(cfg, ["optim.grad_filter=ma", "optim.grokfast_window=12"])
    specs = [
        RunSpec.dense(ema, 0),
        RunSpec(ema.task, ema.model, ema.optim, ema.train, 1, InitSpec(mask=MaskSpec("random", 0.6))),
        RunSpec.dense(ma4, 0),
        RunSpec.dense(ma12, 1),
        RunSpec.dense(cfg, 0),
    ]
    assert len({s.cohort_key() for s in specs}) == 1 and len({s.run_id for s in specs}) == len(specs)

    _resumed_equals_uninterrupted(specs, tmp_path, monkeypatch)
