"""SNIP (Lee et al. 2019): |∂L/∂θ ⊙ θ| at θ0 on the full training batch."""

from __future__ import annotations

import torch

from ...tasks import Dataset
from ..base import SCORERS, Params, ScoreInputs, Scorer, train_loss


def leaves(theta0: Params, dtype=torch.float32) -> Params:
    return {n: t.detach().to(dtype).clone().requires_grad_() for n, t in theta0.items()}


def loss_gradient(model, theta0: Params, data: Dataset, loss: str, create_graph: bool = False):
    """(float32 leaves at θ0, the training loss's gradient there): what SNIP and GraSP start from."""
    w = leaves(theta0)
    return w, torch.autograd.grad(train_loss(model, w, data, loss), list(w.values()), create_graph=create_graph)


def snip(model, theta0: Params, data: Dataset, loss: str = "ce") -> Params:
    w, grads = loss_gradient(model, theta0, data, loss)
    return {n: (g * w[n]).abs().detach() for n, g in zip(w, grads)}


@SCORERS.register
class Snip(Scorer):
    name = "snip"

    @staticmethod
    def scores(inp: ScoreInputs) -> Params:
        return snip(inp.model, inp.theta0, inp.data, inp.spec.train.loss)
