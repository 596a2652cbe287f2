"""MNIST as a grokking task (Liu et al. 2023, Omnigrok): few training images, many test images.

``task.n_train`` training and ``task.n_test`` test images are drawn, disjoint, from all 70,000
by the split seed (``task.split_seed``, or the run's seed under ``task.split = "seed"``); under
``task.mnist_sets = "official"`` they are the authors' sets instead, fixed: the first n_train of
the official test set for training, the first n_test of the official training set for testing.
Pixels are floats in [0, 1], flattened to 784.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import torch

from .base import TASKS, Dataset, Task
from .mnist_data import N_CLASSES, load_mnist

OFFICIAL_TRAIN = 60000  # images of the official training set, first in load_mnist's order

if TYPE_CHECKING:
    from ..config import TaskConfig


@lru_cache(maxsize=2)
def _arrays(data_dir: str) -> tuple[torch.Tensor, torch.Tensor]:
    # cached: loading and verifying the file takes ~2 s, and a session builds the dataset often
    arr = load_mnist(data_dir or None)
    return torch.from_numpy(arr.images), torch.from_numpy(arr.labels)


def mnist_dataset(cfg: TaskConfig, split_seed: int) -> Dataset:
    images, labels = _arrays(cfg.data_dir)
    if cfg.mnist_sets == "official":  # the arrays hold the 60,000 training images, then the 10,000 test ones
        tr, te = torch.arange(OFFICIAL_TRAIN, OFFICIAL_TRAIN + cfg.n_train), torch.arange(cfg.n_test)
    else:
        perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(split_seed))
        tr, te = perm[: cfg.n_train], perm[cfg.n_train : cfg.n_train + cfg.n_test]
    return Dataset(images[tr], labels[tr], images[te], labels[te], n_classes=N_CLASSES, n_tokens=0)


@TASKS.register
class MnistTask(Task):
    name = "mnist"
    input_kind = "vector"
    config_fields = ("n_train", "n_test", "split_seed")
    identity_defaults: ClassVar[dict[str, object]] = {"mnist_sets": "drawn"}  # in a run's id only where set otherwise (older ids stay)
    build = staticmethod(mnist_dataset)
