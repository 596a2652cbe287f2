"""Pruning: scorers (scores.py), the one scores-to-mask function (masks.py), norm controls."""

from __future__ import annotations

import hashlib

import torch

from ..spec import MaskSpec, RunSpec
from ..tasks import build_dataset
from . import scores as S
from .masks import density, mask_from_scores, n_pruned

__all__ = ["build_mask", "density", "mask_from_scores", "n_pruned"]


def _derived_seed(seed: int, purpose: str) -> int:
    """A seed for a second random stream: using the init seed itself would correlate the two."""
    return int.from_bytes(hashlib.sha256(f"{purpose}:{seed}".encode()).digest()[:7], "big")


def build_mask(m: MaskSpec, spec: RunSpec, model, theta0, store):
    """The mask of a run, from its MaskSpec. ``theta0`` is the run's own (unmasked) θ0."""
    if m.method == "magnitude":
        scores = S.magnitude(store.weights(m.source, m.step))
        prior = store.mask(m.source)  # iterative pruning: what the source pruned stays pruned
        if prior is not None:
            scores = {n: s.masked_fill(~prior[n], -torch.inf) for n, s in scores.items()}
    elif m.method == "random":
        scores = S.random_scores(model.shapes(), _derived_seed(spec.seed, "random-mask"))
    elif m.method == "snip":
        scores = S.snip(model, theta0, build_dataset(spec.task), spec.train.loss)
    elif m.method == "grasp":
        scores = S.grasp(model, theta0, build_dataset(spec.task), spec.train.loss)
    elif m.method == "synflow":
        scores = S.synflow(model, theta0, m.rate, m.scope)
    else:
        raise ValueError(f"unknown mask method {m.method!r}")
    return mask_from_scores(scores, m.rate, m.scope)
