"""GraSP (Wang et al. 2020): the paper prunes the weights with the HIGHEST S = -θ ⊙ Hg (H the
Hessian, g the gradient of the training loss at θ0); as an importance that is θ ⊙ Hg, and the
lowest importance is pruned."""

from __future__ import annotations

import torch

from ...tasks import Dataset
from ..base import SCORERS, Params, ScoreInputs, Scorer
from .snip import loss_gradient


def grasp(model, theta0: Params, data: Dataset, loss: str = "ce") -> Params:
    w, g = loss_gradient(model, theta0, data, loss, create_graph=True)
    g_fixed = [x.detach() for x in g]
    gTg = sum((a * b).sum() for a, b in zip(g, g_fixed))  # d/dθ (g · stopgrad(g)) = H g
    Hg = torch.autograd.grad(gTg, list(w.values()))
    return {n: (w[n] * hg).detach() for n, hg in zip(w, Hg)}


@SCORERS.register
class Grasp(Scorer):
    name = "grasp"

    @staticmethod
    def scores(inp: ScoreInputs) -> Params:
        return grasp(inp.model, inp.theta0, inp.data, inp.spec.train.loss)
