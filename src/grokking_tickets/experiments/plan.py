"""What `reproduce` trains, as one object made once per command: :class:`Plan`.

The table :data:`PLAN` names, per scale, each configuration (a preset and its overrides) and the
experiments run on it. :func:`build_plan` resolves it into a :class:`Plan`: every configuration's
config, checked against its experiments, and the runs of each experiment's first stage that can
be named now (:class:`~.base.PlanContext`; found without training or reading weights), deduplicated
by run id. `reproduce` makes it once, before anything trains, and everything that needs to know
what it will train reads that one object: its first line (what and how long, counted by
``status.plan_counts``) and each configuration's training ahead (schedule.py). ``status --plan``
makes the same object and prints its counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..analysis.claims import labelled
from ..config import MAX_SEEDS, Config, apply_overrides, from_dict, load_preset, parse_seeds
from ..errors import UserError
from ..spec import RunSpec
from ..store import Store
from .base import EXPERIMENTS, Experiment, config_label, plan_experiment
from .run import SCALES, scaled


def _experiments(*names: str) -> tuple[Experiment, ...]:
    return tuple(EXPERIMENTS[n] for n in names)


MLP_ALL = _experiments(
    "tickets",
    "norm-control",
    "pai",
    "ticket-timeline",
    "prune-rate",
    "no-weight-decay",
    "equal-params",
    "accelerators",
    "edge-popup",
)
# MNIST at `quick`: one seed and a 30k-step budget (steps of ~12 ms on 2 cores: the paper's
# 3 seeds x 100k steps take hours there). 30k is enough for the dense net to grok at the
# preset's weight decay (docs/results.md: MNIST weight-decay study); `paper` keeps 100k.
MNIST_QUICK = ("train.steps=30000", "train.checkpoint_every=5000", "ticket.step=30000")
# The transformer at `quick`: 10k steps, its ticket pruned at step 10k. Its base generalizes
# within 2.5k steps on every seed of results/paper (t_gen 1,200-2,500 of 30k; every ticket by
# 500), so the last 20k of the preset's budget only hold 100% test accuracy; `paper` keeps 30k.
TRANSFORMER_QUICK = ("train.steps=10000", "ticket.step=10000")

# The later version's (v3) tasks: the other modular operations on the MLP, polynomial regression
# and sparse parity. Every operation keeps the preset's unordered pairs (a <= b): the MLP adds
# the two embeddings, so it cannot tell (a, b) from (b, a), and on all ordered pairs of a
# non-commutative op it cannot even fit the training set (measured: sub on all pairs, train
# accuracy 0.803 after 30k steps, every seed). Their claim rows carry their labels (C1@mlp-sub,
# C1@dense-mlp-parity), after the paper's three configurations.
OPS = ("sub", "mul", "div", "x2xyy2")
V3_PAPER = _experiments("tickets", "prune-rate", "norm-control")
V3_QUICK = _experiments("tickets")


def _v3(experiments: tuple[Experiment, ...]) -> list:
    ops = [("mlp-modadd", (f"task.op={op}",), None, experiments) for op in OPS]
    return [*ops, ("polynomial-mlp", (), None, experiments), ("parity-mlp", (), None, experiments)]


# (preset, extra overrides, seeds at this scale unless --seeds is given, experiments)
PLAN = {
    "paper": [
        ("mlp-modadd", (), None, MLP_ALL),
        ("transformer-modadd", (), None, _experiments("tickets", "norm-control", "pai")),
        ("mnist-mlp", (), None, _experiments("tickets", "norm-control", "pai")),
        *_v3(V3_PAPER),
    ],
    "quick": [
        ("mlp-modadd", (), None, MLP_ALL),
        ("transformer-modadd", TRANSFORMER_QUICK, None, _experiments("tickets")),
        ("mnist-mlp", MNIST_QUICK, (0,), _experiments("tickets")),
        *_v3(V3_QUICK),
    ],
}


def plan_configs(
    scale: str, seeds: str | None = None, mnist_dir: str | None = None, max_seeds: int = MAX_SEEDS
) -> list[tuple[str, Config, tuple[Experiment, ...]]]:
    """(preset, its resolved config at this scale, its experiments), in the order reproduce runs them.
    Every experiment is checked against its config here, before anything trains."""
    if scale not in SCALES:
        raise UserError(f"--scale must be one of {', '.join(SCALES)}; got {scale!r}")
    out = []
    for preset, overrides, plan_seeds, experiments in PLAN[scale]:
        over = list(overrides)
        if mnist_dir and preset.startswith("mnist"):
            over.append(f"task.data_dir={json.dumps(mnist_dir)}")  # a TOML string
        cfg = apply_overrides(load_preset(preset), over)
        if seeds is not None:
            cfg = from_dict({"seeds": parse_seeds(seeds, max_seeds)}, cfg)
        cfg = scaled(cfg, scale, seeds is not None)
        if plan_seeds is not None and seeds is None:
            cfg = from_dict({"seeds": list(plan_seeds)}, cfg)
        for experiment in experiments:
            experiment.check(cfg)
        out.append((preset, cfg, experiments))
    return out


@dataclass(frozen=True)
class ExperimentPlan:
    """One experiment of a configuration: the label it is filed under, the runs of its first
    stage that can be named now, and how many more depend on runs not trained yet."""

    label: str
    planned: dict[str, RunSpec]  # run id -> spec
    later: int


@dataclass(frozen=True)
class ConfigPlan:
    """One configuration of the plan: its name in the report's settings (the preset, or
    preset@label for a preset planned again with other overrides: mlp-modadd@mlp-sub), its
    config at the plan's scale, its experiments and what each trains first."""

    name: str
    cfg: Config
    experiments: tuple[Experiment, ...]
    first: tuple[ExperimentPlan, ...]

    @property
    def planned(self) -> dict[str, RunSpec]:
        """run id -> spec: the first-stage runs of all its experiments (a shared run once)."""
        return {rid: spec for e in self.first for rid, spec in e.planned.items()}


@dataclass(frozen=True)
class Plan:
    scale: str
    seeds: str | None  # as given (--seeds), None: each configuration's default at this scale
    configs: tuple[ConfigPlan, ...]

    @property
    def planned(self) -> dict[str, RunSpec]:
        """run id -> spec over every configuration."""
        return {rid: spec for c in self.configs for rid, spec in c.planned.items()}

    @property
    def later(self) -> int:
        return sum(e.later for c in self.configs for e in c.first)


def build_plan(
    scale: str, store: Store, device, seeds: str | None = None, mnist_dir: str | None = None, max_seeds: int = MAX_SEEDS
) -> Plan:
    """The plan of ``reproduce --scale SCALE [--seeds SEEDS]`` against ``store``: bad input is
    refused here (a scale, seeds, an experiment a configuration does not support), before
    anything trains; nothing is trained and no weights are read."""
    configs, names = [], set()
    for preset, cfg, experiments in plan_configs(scale, seeds, mnist_dir, max_seeds):
        name = labelled(preset, config_label(cfg)) if preset in names else preset
        names.add(name)
        first = []
        for experiment in experiments:
            ctx = plan_experiment(experiment, cfg, store, device, scale)
            first.append(ExperimentPlan(ctx.experiment, ctx.planned, ctx.unknown))
        configs.append(ConfigPlan(name, cfg, experiments, tuple(first)))
    return Plan(scale, seeds, tuple(configs))
