"""End to end on the transformer, the MNIST MLP and the dense MLP: an experiment trains, files
its runs under its configuration's label and judges the claim that configuration owns."""

import pandas as pd
import pytest
import torch
from conftest import check_tickets_experiment

from grokking_tickets.config import from_dict
from grokking_tickets.experiments.run import run_experiment
from grokking_tickets.tasks.mnist_data import find_mnist_file

NO_MNIST = pytest.mark.skipif(find_mnist_file() is None, reason="the MNIST data file is not installed (make setup)")


def test_transformer_tickets_end_to_end(tmp_path):
    cfg = from_dict(
        {
            "task": {"p": 11, "train_frac": 0.5},
            "model": {"name": "transformer", "d_model": 16, "d_mlp": 16},
            "train": {"steps": 100, "eval_every": 50, "checkpoint_every": 50},
            "ticket": {"step": 100},
            "seeds": [0, 1],
        }
    )
    res = run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert [c["id"] for c in res.claims] == ["C2"]  # the transformer's own claim, filed under its label
    check_tickets_experiment(tmp_path, "tickets@transformer", "C2", [0, 1], 0.6)
    assert (tmp_path / "figures" / "tickets@transformer.png").exists()
    res = run_experiment("pai", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert res.claims[0]["id"] == "C9@transformer"
    assert "synflow" in res.claims[0]["measured"]["not run"]
    summary = pd.read_csv(tmp_path / "summary.csv")
    pai = summary[summary.experiment == "pai@transformer"]
    assert sorted(set(pai.arm)) == ["base", "grasp", "random", "snip", "ticket"]  # no synflow runs
    dens = pai.groupby("arm").density.first()
    assert all(dens[m] == pytest.approx(dens["ticket"]) for m in ("random", "snip", "grasp"))
    # the dense and ticket runs are the ones `tickets` trained, not copies
    tickets = summary[summary.experiment == "tickets@transformer"]
    assert set(pai[pai.arm.isin(["base", "ticket"])].run_id) == set(tickets.run_id)


@NO_MNIST
def test_mnist_tickets_end_to_end(tmp_path):
    cfg = from_dict(
        {
            "task": {"name": "mnist", "n_train": 200, "n_test": 1000},
            "model": {"name": "mnist-mlp", "d_hidden": 32, "init_scale": 8.0},
            "train": {"steps": 100, "eval_every": 50, "checkpoint_every": 50, "loss": "mse"},
            "optim": {"weight_decay": 0.1},
            "ticket": {"step": 100},
            "seeds": [0, 1],
        }
    )
    res = run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert [c["id"] for c in res.claims] == ["C3"]
    check_tickets_experiment(tmp_path, "tickets@mnist-mlp", "C3", [0, 1], 0.6)
    assert (tmp_path / "figures" / "tickets@mnist-mlp.png").exists()


@NO_MNIST
def test_dense_mlp_tickets_end_to_end(tmp_path):
    """The model added through the contract runs any experiment, under its own label and claim ids."""
    cfg = from_dict(
        {
            "task": {"name": "mnist", "n_train": 200, "n_test": 500},
            "model": {"name": "dense-mlp", "widths": [24, 16, 8], "bias": True, "init_scale": 2.0},
            "train": {"steps": 100, "eval_every": 50, "checkpoint_every": 50, "loss": "mse"},
            "ticket": {"step": 100, "rate": 0.5},
            "seeds": [0, 1],
        }
    )
    res = run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert [c["id"] for c in res.claims] == ["C1@dense-mlp-mnist"]  # never the paper's C1 or C3
    check_tickets_experiment(tmp_path, "tickets@dense-mlp-mnist", "C1@dense-mlp-mnist", [0, 1], 0.5)
    res = run_experiment("pai", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    summary = pd.read_csv(tmp_path / "summary.csv")
    pai = summary[summary.experiment == "pai@dense-mlp-mnist"]
    assert sorted(set(pai.arm)) == ["base", "grasp", "random", "snip", "synflow", "ticket"]  # SynFlow applies
