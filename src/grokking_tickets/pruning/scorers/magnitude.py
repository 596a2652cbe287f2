"""Magnitude (Frankle & Carbin 2019): |θ| of a trained run's weights (the grokking ticket)."""

from __future__ import annotations

import torch

from ..base import SCORERS, Params, ScoreInputs, Scorer


def magnitude(weights: Params) -> Params:
    return {n: w.abs() for n, w in weights.items()}


@SCORERS.register
class Magnitude(Scorer):
    name = "magnitude"
    reads_trained_weights = True

    @staticmethod
    def scores(inp: ScoreInputs) -> Params:
        m = inp.mask
        scores = magnitude(inp.store.weights(m.source, m.step))
        prior = inp.store.mask(m.source)  # iterative pruning: what the source pruned stays pruned
        if prior is not None:
            scores = {n: s.masked_fill(~prior[n], -torch.inf) for n, s in scores.items()}
        return scores
