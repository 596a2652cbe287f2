"""MNIST as a grokking task (Liu et al. 2023, Omnigrok): few training images, many test images.

``task.n_train`` training and ``task.n_test`` test images are drawn, disjoint, from all 70,000
by the split seed (``task.split_seed``, or the run's seed under ``task.split = "seed"``). Pixels
are floats in [0, 1], flattened to 784.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import torch

from .base import TASKS, Dataset, Task
from .mnist_data import N_CLASSES, load_mnist

if TYPE_CHECKING:
    from ..config import TaskConfig


@lru_cache(maxsize=2)
def _arrays(data_dir: str) -> tuple[torch.Tensor, torch.Tensor]:
    # cached: loading and verifying the file takes ~2 s, and a session builds the dataset often
    arr = load_mnist(data_dir or None)
    return torch.from_numpy(arr.images), torch.from_numpy(arr.labels)


def mnist_dataset(cfg: TaskConfig, split_seed: int) -> Dataset:
    images, labels = _arrays(cfg.data_dir)
    gen = torch.Generator().manual_seed(split_seed)
    perm = torch.randperm(len(labels), generator=gen)
    tr, te = perm[: cfg.n_train], perm[cfg.n_train : cfg.n_train + cfg.n_test]
    return Dataset(images[tr], labels[tr], images[te], labels[te], n_classes=N_CLASSES, n_tokens=0)


@TASKS.register
class MnistTask(Task):
    name = "mnist"
    input_kind = "vector"
    config_fields = ("n_train", "n_test", "split_seed")
    build = staticmethod(mnist_dataset)
