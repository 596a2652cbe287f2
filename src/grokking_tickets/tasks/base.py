"""The task contract, and the data a population trains on.

A task turns its config section into a :class:`Dataset`: inputs and labels for train and test.
A task class declares its registry name, the kind of input it makes ('tokens': a pair of token
ids per example; 'vector': a float vector), which models can read it (a model with the same
``input_kind``), the kind of target it asks for ('class': a class id, scored by accuracy;
'real': a real number, scored by R², see train/loss.py), and the TaskConfig fields that define
it (they, and no others, enter a run's id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import torch

from ..registry import Registry

if TYPE_CHECKING:
    from ..config import TaskConfig


@dataclass(frozen=True)
class Dataset:
    train_x: torch.Tensor  # [N_train, ...] model inputs (token ids for modular tasks)
    train_y: torch.Tensor  # [N_train] class ids (int64), or real targets (float) for a regression task
    test_x: torch.Tensor  # [N_test, ...]
    test_y: torch.Tensor  # [N_test]
    n_classes: int  # the model's output width: classes, or 1 for a scalar regression target
    n_tokens: int  # size of the input vocabulary (p for modular tasks); 0 for vector inputs

    def to(self, device: torch.device | str) -> Dataset:
        return Dataset(
            self.train_x.to(device),
            self.train_y.to(device),
            self.test_x.to(device),
            self.test_y.to(device),
            self.n_classes,
            self.n_tokens,
        )


class Task:
    name: ClassVar[str]
    input_kind: ClassVar[str]  # 'tokens' or 'vector'
    # 'class' (class ids, accuracy) or 'real' (float targets, R²; needs the MSE loss): what config
    # validation reads before any data exists; the trainer reads the targets' dtype (train/loss.py)
    target: ClassVar[str] = "class"
    config_fields: ClassVar[tuple[str, ...]]
    # fields added later: in a run's id only where they differ from these values, so the runs
    # made before a field existed keep their ids
    identity_defaults: ClassVar[dict[str, object]] = {}

    @staticmethod
    def build(cfg: TaskConfig, split_seed: int) -> Dataset:
        """The data of ``cfg``, its train/test split drawn by ``split_seed``."""
        raise NotImplementedError


TASKS: Registry[type[Task]] = Registry("task")
