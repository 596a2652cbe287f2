"""Norm-matched dense controls (paper §5.1).

r_p = ‖θ0 ⊙ m‖_p / ‖θ0‖_p over all weights; the control is the dense θ0 · r_p, which has the
ticket's L_p norm at initialization (equivalently θ0 ~ N(0, κ r_p / √fan_in)).
"""

from __future__ import annotations

import torch

Params = dict[str, torch.Tensor]


def lp_norm(params: Params, p: int) -> float:
    flat = torch.cat([t.flatten().double() for t in params.values()])
    return float(flat.abs().sum()) if p == 1 else float(flat.norm(p))


def norm_ratio(theta0: Params, mask: Params, p: int) -> float:
    masked = {n: theta0[n] * mask[n] for n in theta0}
    return lp_norm(masked, p) / lp_norm(theta0, p)
