"""`grokking-tickets reproduce`: every experiment for the three configurations, the appendix
analyses and v3's analyses of structure, as one plan made before anything trains (plan.py).
Dense runs shared between experiments are trained once (run store), and each configuration
first trains every ready run of its part of the plan together (schedule.py). The report is
drawn from what this returns by the report layer (the CLI calls both).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis.claims import merge_claims
from ..analysis.registry import run_all
from ..config import MAX_SEEDS
from ..executors import Executor
from ..progress import duration
from ..store import Store
from ..tasks.mnist_data import check_mnist_source
from .plan import Plan, build_plan
from .run import run_experiment
from .schedule import train_ahead


def time_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Where a `reproduce` spent its time: per configuration and experiment, and per configuration.

    ``rows``: one per experiment run, {"config", "experiment", "model_steps", "seconds"}, and a
    row "(trained ahead)" per configuration for the runs its experiments' first stages share in
    populations before any of them runs (schedule.py). Minutes include judging and drawing;
    model-steps count only what this call trained (an experiment whose runs were trained ahead,
    or by another experiment first, costs none)."""
    df = pd.DataFrame(rows, columns=["config", "experiment", "model_steps", "seconds"])
    totals = df[df.config != "(store)"].groupby("config", sort=False)[["model_steps", "seconds"]].sum().reset_index()
    totals["experiment"] = "(all)"
    everything = pd.DataFrame([{"config": "(all)", "experiment": "(all)", **df[["model_steps", "seconds"]].sum()}])
    out = pd.concat([df, totals, everything], ignore_index=True).astype({"model_steps": int})
    out["minutes"] = (out.pop("seconds") / 60).round(2)
    out["model_steps_per_s"] = (out.model_steps / (out.minutes * 60)).where(out.minutes > 0).round(0)
    return out


def reproduce(
    scale: str,
    out: str | Path,
    device,
    seeds: str | None = None,
    progress: bool = True,
    mnist_dir: str | None = None,
    executor: Executor | None = None,
    max_seeds: int = MAX_SEEDS,
    announce: Callable[[Plan], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], float]:
    """Train and judge the plan; returns (claims, report sections, settings, run time in s).
    ``announce`` gets the plan once the input is checked, before anything trains (the CLI's first line)."""
    out = Path(out)
    t0 = time.time()
    sections, settings = [], {"scale": scale}
    store = Store(out)
    plan = build_plan(scale, store, device, seeds, mnist_dir, max_seeds)  # bad input is refused here, before training
    for c in plan.configs:
        if c.cfg.task.name == "mnist":  # MNIST comes last: a missing data set must fail first
            check_mnist_source(c.cfg.task.data_dir or None)
    if announce is not None:
        announce(plan)
    done, total = 0, sum(len(c.experiments) for c in plan.configs)
    timing = []
    for c in plan.configs:
        preset, cfg, experiments = c.name, c.cfg, c.experiments
        settings[preset] = cfg.to_dict()
        # the configuration's planned runs, every one that is ready, in shared populations (schedule.py)
        t_ahead = time.time()
        ahead, ahead_steps = train_ahead(c.planned, store, device, progress, executor)
        if ahead:
            timing.append({"config": preset, "experiment": "(trained ahead)", "model_steps": ahead_steps,
                           "seconds": time.time() - t_ahead})  # fmt: skip
            if progress:
                print(f"{preset}: {ahead} runs of its experiments trained ahead together, in {duration(time.time() - t_ahead)}",
                      file=sys.stderr, flush=True)  # fmt: skip
        for experiment in experiments:
            name = experiment.name
            done += 1
            t_exp = time.time()
            if progress:  # the outer line: where a long job stands
                print(f"[{done}/{total}] {name} ({preset}); {duration(t_exp - t0)} so far", file=sys.stderr, flush=True)
            res = run_experiment(name, cfg, scale, out, device, progress, executor)
            seconds = time.time() - t_exp
            timing.append({"config": preset, "experiment": name, "model_steps": res.model_steps, "seconds": seconds})
            if progress:
                print(f"[{done}/{total}] {name} ({preset}): done in {duration(seconds)}, {res.model_steps:,} model-steps trained",
                      file=sys.stderr, flush=True)  # fmt: skip
            table = res.table.to_string(index=False, float_format=lambda x: f"{x:,.0f}") if res.table is not None else ""
            sections.append({"title": f"{name} ({preset})", "about": experiment.paragraph(), "figure": res.figure,
                             "notes": res.notes, "text": table})  # fmt: skip
    t_analyses = time.time()
    analysed, skipped = run_all(out, progress)  # every registered analysis (analysis/registry.py), from the store
    timing.append({"config": "(store)", "experiment": "analyses", "model_steps": 0, "seconds": time.time() - t_analyses})
    claims = merge_claims(out / "claims.json", [row for a in analysed for row in a.claims])
    for a in analysed:
        sections += a.sections
    if skipped:
        sections.append({"title": "Analyses not run", "figure": None, "notes": skipped, "text": ""})
    times = time_table(timing)
    per_config = times[(times.experiment == "(all)") | (times.config == "(store)")]  # configurations, analyses, all
    settings["time"] = {r.config: {"minutes": float(r.minutes), "model_steps": int(r.model_steps)} for r in per_config.itertuples()}
    sections.append({"title": "Where the time went", "figure": None, "notes": None,
                     "text": times.to_string(index=False, float_format=lambda x: f"{x:,.2f}")})  # fmt: skip
    return claims, sections, settings, time.time() - t0
