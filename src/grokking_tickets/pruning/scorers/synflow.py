"""SynFlow (Tanaka et al. 2020): data-free. With |θ| and an all-ones input, R = 1ᵀ f(1) and the
score is ∂R/∂θ ⊙ θ; it prunes iteratively over 100 rounds, to density d^(k/100) at round k,
rescoring the surviving weights each time, in float64 (R overflows float32 quickly).

It applies to models that define ``synflow_objective``: networks positively homogeneous in
|θ| (ReLU MLPs), for which R measures the synaptic flow. Softmax attention is not, so the
transformer defines none and the experiments leave SynFlow out for it.
"""

from __future__ import annotations

import torch

from ..base import SCORERS, Params, ScoreInputs, Scorer
from ..masks import mask_from_scores


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


@SCORERS.register
class Synflow(Scorer):
    name = "synflow"

    @staticmethod
    def applies_to(model) -> bool:
        return callable(getattr(model, "synflow_objective", None))

    @staticmethod
    def scores(inp: ScoreInputs) -> Params:
        return synflow(inp.model, inp.theta0, inp.mask.rate, inp.mask.scope)
