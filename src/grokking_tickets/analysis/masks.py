"""How the magnitude mask moves during training, and which neurons are dead.

Jaccard distance between the kept sets A and B of two masks: 1 - |A ∩ B| / |A ∪ B|
(0: the same weights kept; 1: disjoint). Computed per matrix, for the ticket mask (global
magnitude pruning at the ticket rate) taken at successive checkpoints of a dense run.
"""

from __future__ import annotations

import torch

from ..models.mlp import ModularMLP
from ..pruning.masks import mask_from_scores
from ..pruning.scorers.magnitude import magnitude

Params = dict[str, torch.Tensor]


def jaccard_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    union = (a | b).sum().item()
    return 0.0 if union == 0 else 1.0 - (a & b).sum().item() / union


def mask_drift(weights_by_step: dict[int, Params], rate: float, scope: str = "global") -> list[dict]:
    """Per consecutive pair of steps: the Jaccard distance of each matrix's kept set."""
    steps = sorted(weights_by_step)
    masks = {s: mask_from_scores(magnitude(weights_by_step[s]), rate, scope) for s in steps}
    rows = []
    for s0, s1 in zip(steps, steps[1:]):
        rows.append({"step": s1, **{n: jaccard_distance(masks[s0][n], masks[s1][n]) for n in masks[s1]}})
    return rows


def dead_neurons(weights: Params, x: torch.Tensor) -> int:
    """Hidden units of the modular MLP that are zero on every input pair in x ([N, 2])."""
    P = ModularMLP.input_table(weights)  # [H, p]
    pre = P[:, x[:, 0]] + P[:, x[:, 1]]  # [H, N]
    return int((pre <= 0).all(1).sum())
