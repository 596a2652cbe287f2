"""Pruning scores: one score per weight, higher = more important (kept).

Each method follows its original paper (DESIGN.md §2), not the authors' copies of them:

- magnitude (Frankle & Carbin): |θ| of trained weights.
- random: i.i.d. uniform scores from a seed; with the shared masking function this prunes an
  exact, uniformly random set of weights.
- SNIP (Lee et al. 2019): |∂L/∂θ ⊙ θ| at θ0 on the full training batch.
- GraSP (Wang et al. 2020): the paper prunes the weights with the HIGHEST S = -θ ⊙ Hg
  (H the Hessian, g the gradient of the training loss at θ0); as an importance that is
  θ ⊙ Hg, and the lowest importance is pruned.
- SynFlow (Tanaka et al. 2020): data-free. With |θ| and an all-ones input, R = 1ᵀ f(1) and
  the score is ∂R/∂θ ⊙ θ; it prunes iteratively over 100 rounds, to density d^(k/100) at round
  k, rescoring the surviving weights each time, in float64 (R overflows float32 quickly).
"""

from __future__ import annotations

import torch

from ..tasks.base import Dataset
from ..train.loss import LOSSES
from .masks import mask_from_scores

Params = dict[str, torch.Tensor]


def magnitude(weights: Params) -> Params:
    return {n: w.abs() for n, w in weights.items()}


def random_scores(shapes: dict[str, tuple[int, ...]], seed: int) -> Params:
    gen = torch.Generator().manual_seed(seed)
    return {n: torch.rand(s, generator=gen) for n, s in shapes.items()}


def _loss(model, params: Params, data: Dataset, loss: str) -> torch.Tensor:
    """Training loss of one member (params without the K axis), differentiable."""
    batch = {n: p.unsqueeze(0) for n, p in params.items()}
    return LOSSES[loss](model.logits(batch, model.prepare(data.train_x)), data.train_y)[0]


def _leaves(theta0: Params, dtype=torch.float32) -> Params:
    return {n: t.detach().to(dtype).clone().requires_grad_() for n, t in theta0.items()}


def snip(model, theta0: Params, data: Dataset, loss: str = "ce") -> Params:
    w = _leaves(theta0)
    grads = torch.autograd.grad(_loss(model, w, data, loss), list(w.values()))
    return {n: (g * w[n]).abs().detach() for n, g in zip(w, grads)}


def grasp(model, theta0: Params, data: Dataset, loss: str = "ce") -> Params:
    w = _leaves(theta0)
    g = torch.autograd.grad(_loss(model, w, data, loss), list(w.values()), create_graph=True)
    g_fixed = [x.detach() for x in g]
    gTg = sum((a * b).sum() for a, b in zip(g, g_fixed))  # d/dθ (g · stopgrad(g)) = H g
    Hg = torch.autograd.grad(gTg, list(w.values()))
    return {n: (w[n] * hg).detach() for n, hg in zip(w, Hg)}


def synflow(model, theta0: Params, rate: float, scope: str = "global", rounds: int = 100) -> Params:
    """Scores whose lowest ``rate`` fraction is SynFlow's final mask (pruned weights score -inf)."""
    abs0 = {n: t.detach().double().abs() for n, t in theta0.items()}
    keep = {n: torch.ones_like(t, dtype=torch.bool) for n, t in abs0.items()}
    density = 1.0 - rate
    scores: Params = {}
    for k in range(1, rounds + 1):
        w = {n: (abs0[n] * keep[n]).requires_grad_() for n in abs0}
        R = model.synflow_objective(w)
        grads = torch.autograd.grad(R, list(w.values()))
        scores = {n: (g * w[n]).detach().masked_fill(~keep[n], -torch.inf) for n, g in zip(w, grads)}
        keep = mask_from_scores(scores, 1.0 - density ** (k / rounds), scope)
    return scores
