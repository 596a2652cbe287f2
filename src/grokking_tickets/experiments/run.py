"""Running one experiment end to end: train its arms, draw its figure, merge its claims."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import Config, from_dict
from ..errors import UserError
from ..report.claims import arm_tgen, merge_claims
from ..store import Store
from . import EXPERIMENTS
from .base import Context, ExperimentResult

SCALES = ("quick", "paper")
QUICK_SEEDS = (0, 1)


def scaled(cfg: Config, scale: str, seeds_given: bool) -> Config:
    """`paper` keeps the config as it is; `quick` uses two seeds unless --seeds was given.

    Budgets are never cut at `quick` (the base needs most of its 30k steps to grok, and a
    shorter budget would decide claims about "does not grok within the budget"); instead
    the experiments use coarser grids (see each module's `quick` entries).
    """
    if scale not in SCALES:
        raise UserError(f"--scale must be one of {', '.join(SCALES)}; got {scale!r}")
    if scale == "quick" and not seeds_given:
        cfg = from_dict({"seeds": list(QUICK_SEEDS)}, cfg)
    return cfg


def experiment_label(name: str, cfg: Config) -> str:
    """Experiments on other models get their own registry, figure and claim ids (tickets@transformer)."""
    return name if cfg.model.name == "mlp" else f"{name}@{cfg.model.name}"


def run_experiment(
    name: str, cfg: Config, scale: str, out: str | Path, device, progress: bool = True, executor: str = "local", ray_address: str | None = None
) -> ExperimentResult:
    if name not in EXPERIMENTS:
        raise UserError(f"unknown experiment {name!r}; valid experiments: {', '.join(EXPERIMENTS)}")
    ctx = Context(cfg, Store(out), device, experiment_label(name, cfg), scale, progress, executor, ray_address)
    result = EXPERIMENTS[name].run(ctx)
    if cfg.model.name != "mlp":  # C2/C3 are the other models' own claims; the rest are extra tests
        for c in result.claims:
            if c["id"] not in ("C2", "C3"):
                c["id"] = f"{c['id']}@{cfg.model.name}"
    if result.claims:
        merge_claims(Path(out) / "claims.json", result.claims)
    summary, _ = ctx.results()
    rows = []
    for arm in dict.fromkeys(summary.arm):
        s = arm_tgen(summary, arm)
        rows.append({"arm": arm, "t_gen mean": s["mean"], "t_gen std": s["std"], "grokked": f"{s['grokked']}/{s['n']}"})
    result.table = pd.DataFrame(rows)
    return result
