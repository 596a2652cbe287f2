"""Norm-matched dense controls (paper §5.1).

r_p = ‖θ0 ⊙ m‖_p / ‖θ0‖_p over all weights; the control is the dense θ0 · r_p, which has the
ticket's L_p norm at initialization (equivalently θ0 ~ N(0, κ r_p / √fan_in)).
"""

from __future__ import annotations

import math

import numpy as np
import torch

Params = dict[str, torch.Tensor]


def lp_norm(params: Params, p: int) -> float:
    """‖params‖_p over all entries, the same float on every machine: r_p enters a control's run
    id (InitSpec.scale), and torch's reductions round by thread count and SIMD width (a
    norm-matched control's id once moved between OMP_NUM_THREADS=1 and 2). math.fsum is exactly
    rounded, hence independent of order; |x| and x² of float32 entries are exact in float64
    (an entry of float64 weights is squared with IEEE rounding, the same everywhere); sqrt and
    the power 1/p are the C library's, correctly rounded for sqrt."""
    flat = np.concatenate([t.detach().cpu().double().flatten().numpy() for t in params.values()])
    if p == 1:
        return math.fsum(np.abs(flat))
    if p == 2:
        return math.sqrt(math.fsum(flat * flat))
    return math.fsum(np.abs(flat) ** p) ** (1.0 / p)


def norm_ratio(theta0: Params, mask: Params, p: int) -> float:
    masked = {n: theta0[n] * mask[n] for n in theta0}
    return lp_norm(masked, p) / lp_norm(theta0, p)
