"""Random: i.i.d. uniform scores from a seed derived from the run's; with the shared masking
function this prunes an exact, uniformly random set of weights."""

from __future__ import annotations

import torch

from ..base import SCORERS, Params, ScoreInputs, Scorer, derived_seed


def random_scores(shapes: dict[str, tuple[int, ...]], seed: int) -> Params:
    gen = torch.Generator().manual_seed(seed)
    return {n: torch.rand(s, generator=gen) for n, s in shapes.items()}


@SCORERS.register
class Random(Scorer):
    name = "random"

    @staticmethod
    def scores(inp: ScoreInputs) -> Params:
        return random_scores(inp.model.shapes(), derived_seed(inp.spec.seed, "random-mask"))
