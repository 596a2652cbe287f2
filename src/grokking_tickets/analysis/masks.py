"""How the magnitude mask moves during training, and which neurons are dead.

Jaccard distance between the kept sets A and B of two masks: 1 - |A ∩ B| / |A ∪ B|
(0: the same weights kept; 1: disjoint). Computed per matrix, for the ticket mask (magnitude
pruning at the ticket's rate and scope) of a dense run's checkpoints δt apart, as v3 measures it:
JD(m_{t−δt}, m_t) at every checkpoint t whose predecessor t − δt is also saved (a sliding
window, so the curve has the checkpoint grid's resolution, not δt's).
"""

from __future__ import annotations

import itertools

import torch

from ..errors import UserError
from ..models.mlp import ModularMLP
from ..pruning.masks import mask_from_scores
from ..pruning.scorers.magnitude import magnitude

Params = dict[str, torch.Tensor]


def jaccard_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """1 − |a ∩ b| / |a ∪ b| of two boolean masks of one shape; 0 for two empty masks."""
    if a.shape != b.shape or a.dtype != torch.bool or b.dtype != torch.bool:
        got = f"{a.dtype}{tuple(a.shape)} and {b.dtype}{tuple(b.shape)}"
        raise UserError(f"Jaccard distance needs two boolean masks of one shape; got {got}")
    union = (a | b).sum().item()
    return 0.0 if union == 0 else 1.0 - (a & b).sum().item() / union


def mask_drift(
    weights_by_step: dict[int, Params], rate: float, scope: str = "global", delta: int | None = None
) -> list[dict]:
    """Per step t with t − ``delta`` also given: the Jaccard distance of each matrix's kept set
    between the magnitude masks at t − delta and t; rows {"step": t, "from": t − delta, NAME: JD}.
    ``delta`` None: each given step against the one before it."""
    steps = sorted(weights_by_step)
    if delta is None:
        pairs = list(itertools.pairwise(steps))
    elif delta <= 0:
        raise UserError(f"the step between compared masks must be positive; got {delta}")
    else:
        pairs = [(s - delta, s) for s in steps if s - delta in weights_by_step]
    masks = {s: mask_from_scores(magnitude(weights_by_step[s]), rate, scope) for s in {s for p in pairs for s in p}}
    rows = []
    for s0, s1 in pairs:
        rows.append({"step": s1, "from": s0, **{n: jaccard_distance(masks[s0][n], masks[s1][n]) for n in masks[s1]}})
    return rows


def dead_neurons(weights: Params, x: torch.Tensor) -> int:
    """Hidden units of the modular MLP that are zero on every input pair in x ([N, 2])."""
    P = ModularMLP.input_table(weights)  # [H, p]
    pre = P[:, x[:, 0]] + P[:, x[:, 1]]  # [H, N]
    return int((pre <= 0).all(1).sum())
