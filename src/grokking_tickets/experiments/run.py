"""Running one experiment end to end: train its arms, draw its figure, merge its claims."""

from __future__ import annotations

from pathlib import Path

from ..analysis.claims import merge_claims, tgen_table
from ..config import Config, from_dict
from ..errors import UserError
from ..executors import Executor
from ..store import Store
from .base import EXPERIMENTS, Context, ExperimentResult, experiment_label

SCALES = ("quick", "paper")
QUICK_SEEDS = (0, 1)


def scaled(cfg: Config, scale: str, seeds_given: bool) -> Config:
    """`paper` keeps the config as it is; `quick` uses two seeds unless --seeds was given.

    Budgets are not cut here (the MLP's base needs most of its 30k steps to grok, and a
    shorter budget would decide claims about "does not grok within the budget"); instead the
    experiments use coarser grids (see each experiment's `grids`) and stop the runs that are
    read only for their t_gen early (base.stops_early). `reproduce` shortens the transformer
    and MNIST at `quick` (plan.py).
    """
    if scale not in SCALES:
        raise UserError(f"--scale must be one of {', '.join(SCALES)}; got {scale!r}")
    if scale == "quick" and not seeds_given:
        cfg = from_dict({"seeds": list(QUICK_SEEDS)}, cfg)
    return cfg


def run_experiment(
    name: str,
    cfg: Config,
    scale: str,
    out: str | Path,
    device,
    progress: bool = True,
    executor: Executor | None = None,
) -> ExperimentResult:
    experiment = EXPERIMENTS[name]  # an unknown name lists the valid ones
    experiment.check(cfg)
    ctx = Context(cfg, Store(out), device, experiment_label(name, cfg), scale, progress, executor)
    result = experiment.run(ctx)
    if result.claims:
        merge_claims(Path(out) / "claims.json", result.claims)
    summary, _ = ctx.results()
    result.table = tgen_table(summary)
    result.model_steps = ctx.model_steps
    return result
