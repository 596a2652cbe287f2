"""The data a population trains on: inputs and labels for train and test, on one device."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Dataset:
    train_x: torch.Tensor  # [N_train, ...] model inputs (token ids for modular tasks)
    train_y: torch.Tensor  # [N_train] class ids
    test_x: torch.Tensor  # [N_test, ...]
    test_y: torch.Tensor  # [N_test]
    n_classes: int
    n_tokens: int  # size of the input vocabulary (p for modular tasks); 0 for images

    def to(self, device: torch.device | str) -> Dataset:
        return Dataset(
            self.train_x.to(device),
            self.train_y.to(device),
            self.test_x.to(device),
            self.test_y.to(device),
            self.n_classes,
            self.n_tokens,
        )
