"""Scores to masks: one function for every pruning method.

A scorer returns one score per weight (higher = more important). :func:`mask_from_scores`
prunes the ``rate`` fraction with the lowest scores, globally over all matrices or within each
matrix, pruning exactly round(rate · n) weights. Ties are broken by position (the earlier
weight, in the model's matrix order and row-major order, is pruned first), so a mask is a
pure function of its scores.
"""

from __future__ import annotations

import torch

Params = dict[str, torch.Tensor]


def n_pruned(rate: float, n: int) -> int:
    # Python's round() halves to even; floor(x + 0.5) is the "round half up" a reader expects
    return int(rate * n + 0.5)


def _prune_lowest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Flat bool keep-mask of ``scores`` (1-D) with the k lowest (first by position on ties) False."""
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    if k > 0:
        order = torch.sort(scores.double().cpu(), stable=True).indices
        keep[order[:k]] = False
    return keep


def mask_from_scores(scores: Params, rate: float, scope: str = "global") -> Params:
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must lie in [0, 1); got {rate}")
    names = list(scores)
    if scope == "layer":
        return {n: _prune_lowest(scores[n].flatten(), n_pruned(rate, scores[n].numel())).view(scores[n].shape) for n in names}
    if scope != "global":
        raise ValueError(f"scope must be 'global' or 'layer'; got {scope!r}")
    flat = torch.cat([scores[n].flatten().double().cpu() for n in names])
    keep = _prune_lowest(flat, n_pruned(rate, flat.numel()))
    out, i = {}, 0
    for n in names:
        size = scores[n].numel()
        out[n] = keep[i : i + size].view(scores[n].shape)
        i += size
    return out


def density(mask: Params) -> float:
    return sum(int(m.sum()) for m in mask.values()) / sum(m.numel() for m in mask.values())
