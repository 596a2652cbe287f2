"""The later version's tasks: polynomial regression and sparse parity, and the regression
target's loss and score (MSE against real numbers, R²)."""

from __future__ import annotations

import math

import pytest
import torch

from grokking_tickets.config import TaskConfig, from_dict
from grokking_tickets.errors import UserError
from grokking_tickets.tasks import build_dataset
from grokking_tickets.tasks.parity import secret_bits
from grokking_tickets.train.loss import accuracy, mse_grad, mse_loss, r_squared, score_of

POLY = TaskConfig(name="polynomial", n_features=40, n_train=100, n_test=100)
PARITY = TaskConfig(name="parity", n_features=40, parity_k=3, n_train=1000, n_test=1000)


def test_polynomial_split_seed_0_is_the_authors_instance():
    """Their PolynomialDataSet: torch.manual_seed(0) for the training inputs, (1) for the test
    inputs and then β; y = (x·β)² / 2."""
    d = build_dataset(POLY)
    torch.manual_seed(0)
    x = torch.randn(100, 40) / math.sqrt(40)
    torch.manual_seed(1)
    xt = torch.randn(100, 40) / math.sqrt(40)
    beta = torch.randn(40)
    assert torch.equal(d.train_x, x) and torch.equal(d.test_x, xt)
    assert torch.equal(d.train_y, (x @ beta) ** 2 / 2) and torch.equal(d.test_y, (xt @ beta) ** 2 / 2)
    assert score_of(d.train_y) is r_squared and d.n_classes == 1 and d.train_y.dtype == torch.float32


def test_polynomial_split_seeds_give_other_instances():
    a, b = build_dataset(POLY, 1), build_dataset(POLY, 2)
    assert not torch.equal(a.train_x, b.train_x) and not torch.equal(a.test_y, build_dataset(POLY).test_y)
    assert torch.equal(a.train_x, build_dataset(POLY, 1).train_x)  # deterministic


def test_parity_labels_are_the_parity_of_the_secret_bits():
    d = build_dataset(PARITY)
    secret = secret_bits(PARITY, torch.Generator().manual_seed(0))
    assert len(set(secret.tolist())) == 3
    for x, y in ((d.train_x, d.train_y), (d.test_x, d.test_y)):
        assert x.shape[1] == 40 and set(x.unique().tolist()) == {-1.0, 1.0}
        odd = ((x[:, secret] < 0).sum(1) % 2).long()  # an odd number of -1 bits: class 1
        assert torch.equal(y, odd)
        assert 0.4 < y.float().mean() < 0.6  # balanced, as a parity of random bits is
        # no single bit predicts the label: parity has no first-order signal
        corr = ((x * (1 - 2 * y.float()).unsqueeze(1)).mean(0)).abs()
        assert corr.max() < 0.15
    assert score_of(d.train_y) is accuracy and d.n_classes == 2 and (len(d.train_y), len(d.test_y)) == (1000, 1000)


def test_regression_needs_the_mse_loss():
    with pytest.raises(UserError, match="regression task and needs train.loss"):
        from_dict({"task": {"name": "polynomial"}, "model": {"name": "dense-mlp"}, "train": {"loss": "ce"}})


def test_bad_task_settings_fail_clearly():
    with pytest.raises(UserError, match="task.parity_k must lie in 1..task.n_features"):
        TaskConfig(name="parity", n_features=4, parity_k=5)
    with pytest.raises(UserError, match="task.n_features must be at least 1"):
        TaskConfig(name="polynomial", n_features=0)
    with pytest.raises(UserError, match="at most 70000"):
        TaskConfig(name="mnist", n_train=10000, n_test=65000)
    TaskConfig(name="parity", n_train=60000, n_test=20000)  # MNIST's size bounds MNIST only


def test_mse_against_real_targets_matches_autograd():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 1, 50, generator=gen, dtype=torch.float64)  # [K, 1, N]
    y = torch.randn(50, generator=gen, dtype=torch.float64)
    for k in range(3):
        z = logits[k, 0].clone().requires_grad_()
        loss = torch.nn.functional.mse_loss(z, y)
        loss.backward()
        torch.testing.assert_close(mse_grad(logits.clone(), y)[k, 0], z.grad, rtol=1e-12, atol=0)
        torch.testing.assert_close(mse_loss(logits, y)[k], loss.detach(), rtol=1e-12, atol=0)


def test_r_squared():
    y = torch.tensor([0.0, 1.0, 2.0, 5.0])
    perfect, mean, off = y.view(1, 1, -1), torch.full((1, 1, 4), 2.0), (y + 1).view(1, 1, -1)
    r2 = r_squared(torch.cat([perfect, mean, off]), y)
    assert r2[0] == 1.0 and r2[1] == 0.0
    assert r2[2] == pytest.approx(1 - 4 / float(((y - y.mean()) ** 2).sum()))
