"""A run's full description, and its identity.

A :class:`RunSpec` is everything that determines a run's numbers: task, model, optimizer,
training settings, seed and how its initial weights are made. Its id is a hash of all of it,
defaults included, plus :data:`SCHEMA`. Two fields are left out because they cannot change a
number: ``train.threshold`` (it only reads the metrics, unless ``train.stop_margin`` stops the
run by it: then both are in) and the device. Settings of other models and tasks
(:func:`model_identity`, :func:`task_identity`), the Grokfast filter's settings of a run without
the filter (``OptimConfig.identity``) and ``init`` fields that are None are left out too, so
settings added later keep old ids valid.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .config import FILTER_FIELDS, Config, ModelConfig, OptimConfig, TaskConfig, TrainConfig
from .models import MODELS
from .tasks import TASKS

SCHEMA = 1



@dataclass(frozen=True)
class MaskSpec:
    """How a run's mask is made. Magnitude masks score a dense run's weights at a step."""

    method: str  # a pruning method: a name in pruning.SCORERS
    rate: float  # fraction pruned
    scope: str = "global"  # 'global' or 'layer'
    source: str | None = None  # magnitude: id of the run whose weights are scored
    step: int | None = None  # magnitude: the step of those weights


@dataclass(frozen=True)
class EdgePopupSpec:
    """An edge-popup run (Ramanujan et al. 2020): the weights are frozen at run ``source``'s
    weights at ``step``, and a score per weight is trained; each matrix keeps the ``density``
    fraction of its weights with the largest |score|."""

    source: str  # id of the run whose weights are frozen
    step: int  # the step of those weights (0: its θ0)
    density: float  # fraction kept, in every matrix
    # True: the kept weights train too (the authors' --weight_learning --double_reg); None: frozen
    # (None, not False, so that the ids of frozen runs stay what they were)
    learn_weights: bool | None = None


@dataclass(frozen=True)
class InitSpec:
    """How θ0 and the mask of a run are made from its seed."""

    scale: float = 1.0  # θ0 is multiplied by this (the norm-matched controls use it)
    mask: MaskSpec | None = None
    # Survivors start from this run's weights at rewind_step instead of the run's own θ0
    # (late rewinding). None: rewind to θ0, which a ticket shares with its dense run (same seed).
    rewind_source: str | None = None
    rewind_step: int | None = None
    # Edge-popup (train/edge_popup.py): the run trains a score per weight, not the weights
    edge_popup: EdgePopupSpec | None = None


def task_identity(task: TaskConfig) -> dict[str, Any]:
    """What defines the task, for run ids: its name and the fields its task class declares."""
    kind = TASKS[task.name]
    out = {"name": task.name, **{f: getattr(task, f) for f in kind.config_fields}}
    out.update({f: getattr(task, f) for f, default in kind.identity_defaults.items() if getattr(task, f) != default})
    if task.split != "fixed":  # a per-run split has no split seed; "fixed" stays out, keeping old ids
        del out["split_seed"]
        out["split"] = task.split
    return out


def model_identity(model: ModelConfig) -> dict[str, Any]:
    """What defines the model, for run ids: its name and the fields its model class declares."""
    return {"name": model.name, **{f: getattr(model, f) for f in MODELS[model.name].config_fields}}


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (_drop_none(v) if isinstance(v, dict) else v) for k, v in d.items() if v is not None}


@dataclass(frozen=True)
class RunSpec:
    task: TaskConfig
    model: ModelConfig
    optim: OptimConfig
    train: TrainConfig
    seed: int
    init: InitSpec = field(default_factory=InitSpec)

    @classmethod
    def dense(cls, cfg: Config, seed: int) -> RunSpec:
        return cls(cfg.task, cfg.model, cfg.optim, cfg.train, seed)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["init"] = _drop_none(d["init"])
        return d

    def hashed(self) -> dict[str, Any]:
        d = self.to_dict()
        d["task"], d["model"], d["optim"] = task_identity(self.task), model_identity(self.model), self.optim.identity()
        if not self.train.stop_margin:  # the threshold only reads the metrics, unless the run stops by it
            del d["train"]["threshold"], d["train"]["stop_margin"]
        return d

    @property
    def run_id(self) -> str:
        blob = json.dumps({"schema": SCHEMA, "spec": self.hashed()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def split_seed(self) -> int:
        """The seed of this run's train/test split: its own seed under ``task.split = "seed"``."""
        return self.seed if self.task.split == "seed" else self.task.split_seed

    def cohort_key(self) -> str:
        """Runs with equal keys have the same shapes and data and can train as one population
        (members may differ in seed, θ0, mask, weight decay and gradient filter; with a per-run
        split, only runs of one seed share their data). Edge-popup runs (which train scores, not
        weights) only ever share a population with other edge-popup runs."""
        d = self.hashed()
        del d["init"]
        if self.task.split != "seed":
            del d["seed"]
        for k in ("weight_decay", *FILTER_FIELDS):
            d["optim"].pop(k, None)
        for k in ("stop_margin", "threshold"):  # each member stops by its own rule (cohort.py)
            d["train"].pop(k, None)
        if self.init.edge_popup is not None:  # scores train in their own populations, never beside weights
            d["trains"] = "scores and weights" if self.init.edge_popup.learn_weights else "scores"
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        return cls(
            TaskConfig(**d["task"]),
            ModelConfig(**d["model"]),
            OptimConfig(**d["optim"]),
            TrainConfig(**d["train"]),
            int(d["seed"]),
            _init_from_dict(d.get("init", {})),
        )


def _init_from_dict(d: dict[str, Any]) -> InitSpec:
    d = dict(d)
    if "mask" in d:
        d["mask"] = MaskSpec(**d["mask"])
    if "edge_popup" in d:
        d["edge_popup"] = EdgePopupSpec(**d["edge_popup"])
    return InitSpec(**d)
