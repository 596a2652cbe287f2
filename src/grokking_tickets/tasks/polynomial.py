"""Polynomial regression, a grokking task of the paper's later version (v3, after Kumar et al.
2023): y = (β·x)² / 2 with x ∈ R^d ~ N(0, I/d) and β ~ N(0, I), d = ``task.n_features``.

The instance follows the authors' code (``PolynomialDataSet``, branch ``transfer``): the
training inputs are drawn from a generator seeded with s, the test inputs and then β from one
seeded with s + 1; with the split seed 0 these are exactly their seeds (torch.manual_seed(0)
and (1)), so ``split_seed = 0`` gives their data. Other split seeds s use seeds 2s and 2s + 1,
so that no two split seeds share a stream. As in their code, the instance does not depend on
the run's seed unless ``task.split = "seed"``.

The target is real: the model has one output and trains on the MSE; "accuracy" columns hold
R² (train/loss.py), so t_mem and t_gen are the first steps at which train / test R² reach
``train.threshold``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .base import TASKS, Dataset, Task

if TYPE_CHECKING:
    from ..config import TaskConfig


def _inputs(gen: torch.Generator, n: int, d: int) -> torch.Tensor:
    return torch.randn(n, d, generator=gen) / math.sqrt(d)  # [n, d], rows ~ N(0, I/d)


def polynomial_dataset(cfg: TaskConfig, split_seed: int) -> Dataset:
    d, first = cfg.n_features, 2 * split_seed
    x_train = _inputs(torch.Generator().manual_seed(first), cfg.n_train, d)
    gen = torch.Generator().manual_seed(first + 1)
    x_test = _inputs(gen, cfg.n_test, d)
    beta = torch.randn(d, generator=gen)  # [d], after the test inputs, as in the authors' code
    target = lambda x: (x @ beta).square() / 2  # [n]
    return Dataset(x_train, target(x_train), x_test, target(x_test), n_classes=1, n_tokens=0)


@TASKS.register
class PolynomialTask(Task):
    name = "polynomial"
    input_kind = "vector"
    target = "real"
    config_fields = ("n_features", "n_train", "n_test", "split_seed")
    build = staticmethod(polynomial_dataset)
