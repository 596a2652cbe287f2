"""Sparse parity, a grokking task of the paper's later version (v3, "following Pearce et al.
2023"; v3 gives no settings): inputs are n random bits in {-1, +1}^n, the label is the parity
of k secret bits (class 1 where an odd number of them is -1, i.e. their product is -1).

Settings, after Merrill et al. 2023 (grokking of sparse parity in a one-hidden-layer ReLU MLP;
Barak et al. 2022 define the task): n = ``task.n_features`` = 40, k = ``task.parity_k`` = 3,
``task.n_train`` = 1,000 training examples. Our choices: 1,000 test examples, the secret bits
drawn at random (not the first k, which is the same problem up to a permutation of inputs), and
every draw made, in order (secret, training inputs, test inputs), from one generator seeded by
the split seed. Inputs are drawn independently, so a test input can repeat a training one; with
2^40 possible inputs the chance that any of them does is about 1e-6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .base import TASKS, Dataset, Task

if TYPE_CHECKING:
    from ..config import TaskConfig


def secret_bits(cfg: TaskConfig, gen: torch.Generator) -> torch.Tensor:
    return torch.randperm(cfg.n_features, generator=gen)[: cfg.parity_k].sort().values  # [k]


def parity_dataset(cfg: TaskConfig, split_seed: int) -> Dataset:
    gen = torch.Generator().manual_seed(split_seed)
    secret = secret_bits(cfg, gen)
    draw = lambda n: torch.randint(0, 2, (n, cfg.n_features), generator=gen).float().mul_(2).sub_(1)  # [n, n_bits] ±1
    label = lambda x: (x[:, secret].prod(1) < 0).long()  # [n] 1 where the secret bits' product is -1
    x_train, x_test = draw(cfg.n_train), draw(cfg.n_test)
    return Dataset(x_train, label(x_train), x_test, label(x_test), n_classes=2, n_tokens=0)


@TASKS.register
class ParityTask(Task):
    name = "parity"
    input_kind = "vector"
    config_fields = ("n_features", "parity_k", "n_train", "n_test", "split_seed")
    build = staticmethod(parity_dataset)
