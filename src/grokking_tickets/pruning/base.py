"""The scorer contract: one interface for every pruning method.

A scorer gives one score per weight (higher = more important, kept); :func:`masks.mask_from_scores`
turns any scorer's scores into a mask at a rate. Every scorer takes the same
:class:`ScoreInputs` and declares which models it applies to. Each lives in one file under
``pruning/scorers/`` and registers itself in :data:`SCORERS`: a new method is one new file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import torch

from ..registry import Registry
from ..tasks import Dataset, build_dataset
from ..train.loss import LOSSES

if TYPE_CHECKING:
    from ..models import Model
    from ..spec import MaskSpec, RunSpec
    from ..store import Store

Params = dict[str, torch.Tensor]


@dataclass
class ScoreInputs:
    """Everything a scorer may read. Scorers take what they need; nothing is computed unasked."""

    model: Model
    spec: RunSpec  # the run being masked: its seed, task and loss
    mask: MaskSpec  # method, rate, scope; for masks from trained weights, the source run and step
    theta0: Params | None = None  # the run's own θ0 (unmasked, one member), for pruning at init
    store: Store | None = None  # for scorers that read a trained run's weights

    @cached_property
    def data(self) -> Dataset:
        return build_dataset(self.spec.task, self.spec.split_seed)

    def train_loss(self, params: Params) -> torch.Tensor:
        """The training loss of one member (params without the K axis), differentiable."""
        return train_loss(self.model, params, self.data, self.spec.train.loss)


def train_loss(model: Model, params: Params, data: Dataset, loss: str) -> torch.Tensor:
    batch = {n: p.unsqueeze(0) for n, p in params.items()}
    return LOSSES[loss](model.logits(batch, model.prepare(data.train_x)), data.train_y)[0]


class Scorer:
    name: ClassVar[str]
    # True for scorers of a trained run's weights (the experiments make those masks from a dense
    # arm, as tickets); False for pruning at initialization (they score the run's own θ0).
    reads_trained_weights: ClassVar[bool] = False

    @staticmethod
    def applies_to(model: Model) -> bool:
        return True

    @staticmethod
    def scores(inp: ScoreInputs) -> Params:
        raise NotImplementedError


def derived_seed(seed: int, purpose: str) -> int:
    """A seed for a second random stream: using the init seed itself would correlate the two."""
    return int.from_bytes(hashlib.sha256(f"{purpose}:{seed}".encode()).digest()[:7], "big")


SCORERS: Registry[type[Scorer]] = Registry("pruning method")
