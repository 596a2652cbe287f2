"""Modular arithmetic: predict c = op(a, b) mod p from the tokens a and b."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..errors import UserError
from .base import TASKS, Dataset, Task

if TYPE_CHECKING:
    from ..config import TaskConfig


def _answer(op: str, a: torch.Tensor, b: torch.Tensor, p: int) -> torch.Tensor:
    if op == "add":
        return (a + b) % p
    if op == "sub":
        return (a - b) % p
    if op == "mul":
        return (a * b) % p
    if op == "x2xyy2":
        return (a * a + a * b + b * b) % p
    if op == "div":  # a / b = a · b^(p-2) mod p (Fermat); b = 0 is excluded by the caller
        inv = torch.tensor([pow(int(v), p - 2, p) for v in range(p)])
        return (a * inv[b]) % p
    raise ValueError(f"unknown op {op!r}")


def all_pairs(cfg: TaskConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Every input pair of the task, in a fixed order: ([N, 2] tokens, [N] answers)."""
    p = cfg.p
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    keep = torch.ones_like(a, dtype=torch.bool)
    if cfg.pairs == "unordered":
        keep &= a <= b
    if cfg.op == "div":
        keep &= b != 0
    a, b = a[keep], b[keep]
    return torch.stack([a, b], dim=1), _answer(cfg.op, a, b, p)


def modular_dataset(cfg: TaskConfig, split_seed: int) -> Dataset:
    x, y = all_pairs(cfg)
    gen = torch.Generator().manual_seed(split_seed)
    perm = torch.randperm(len(y), generator=gen)
    n_train = round(cfg.train_frac * len(y))
    if not 0 < n_train < len(y):

        raise UserError(f"task.train_frac={cfg.train_frac} leaves an empty train or test set for p={cfg.p}")
    tr, te = perm[:n_train].sort().values, perm[n_train:].sort().values
    return Dataset(x[tr], y[tr], x[te], y[te], n_classes=cfg.p, n_tokens=cfg.p)


@TASKS.register
class ModularTask(Task):
    name = "modular"
    input_kind = "tokens"
    config_fields = ("p", "op", "pairs", "train_frac", "split_seed")
    build = staticmethod(modular_dataset)
