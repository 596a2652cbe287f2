"""Pruning: scorers (one file each under scorers/, registered in SCORERS), the one
scores-to-mask function (masks.py), and the norm-matched controls (controls.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UserError
from . import scorers as _scorers  # noqa: F401  (registers every scorer)
from .base import SCORERS, ScoreInputs, Scorer
from .masks import density, mask_from_scores, n_pruned

if TYPE_CHECKING:
    from ..spec import MaskSpec, RunSpec
    from ..store import Store

__all__ = ["SCORERS", "ScoreInputs", "Scorer", "build_mask", "density", "mask_from_scores", "n_pruned"]


def build_mask(m: MaskSpec, spec: RunSpec, model, theta0, store: Store | None):
    """The mask of a run, from its MaskSpec. ``theta0`` is the run's own (unmasked) θ0."""
    scorer = SCORERS[m.method]
    if not scorer.applies_to(model):
        raise UserError(f"pruning method {m.method!r} does not apply to model {spec.model.name!r}")
    scores = scorer.scores(ScoreInputs(model, spec, m, theta0, store))
    return mask_from_scores(scores, m.rate, m.scope)
