"""`grokking-tickets reproduce`: every experiment for the three configurations, the appendix
analyses and v3's analyses of structure. Dense runs shared between experiments are trained once
(run store), and each configuration first trains every ready run of all its experiments
together (schedule.py). The report is drawn from what this returns by the report layer (the CLI
calls both).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis.claims import labelled, merge_claims
from ..analysis.registry import run_all
from ..config import MAX_SEEDS, Config, apply_overrides, from_dict, load_preset, parse_seeds
from ..executors import Executor
from ..progress import duration
from ..store import Store
from ..tasks.mnist_data import check_mnist_source
from .base import EXPERIMENTS, Experiment, config_label
from .run import run_experiment, scaled
from .schedule import train_ahead


def _experiments(*names: str) -> tuple[Experiment, ...]:
    return tuple(EXPERIMENTS[n] for n in names)


MLP_ALL = _experiments(
    "tickets", "norm-control", "pai", "ticket-timeline", "prune-rate", "no-weight-decay", "equal-params", "accelerators",
    "edge-popup",
)
# MNIST at `quick`: one seed and a 30k-step budget (steps of ~12 ms on 2 cores: the paper's
# 3 seeds x 100k steps take hours there). 30k is enough for the dense net to grok at the
# preset's weight decay (docs/results.md: MNIST weight-decay study); `paper` keeps 100k.
MNIST_QUICK = ("train.steps=30000", "train.checkpoint_every=5000", "ticket.step=30000")

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
        ("transformer-modadd", (), None, _experiments("tickets")),
        ("mnist-mlp", MNIST_QUICK, (0,), _experiments("tickets")),
        *_v3(V3_QUICK),
    ],
}


def plan_configs(
    scale: str, seeds: str | None = None, mnist_dir: str | None = None, max_seeds: int = MAX_SEEDS
) -> list[tuple[str, Config, tuple[Experiment, ...]]]:
    """(preset, its resolved config at this scale, its experiments), in the order reproduce runs them.
    Every experiment is checked against its config here, before anything trains."""
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
    announce: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], float]:
    """Train and judge the plan; returns (claims, report sections, settings, run time in s).
    ``announce`` is called once the input is checked, before anything trains (the CLI's first line)."""
    out = Path(out)
    t0 = time.time()
    sections, settings = [], {"scale": scale}
    configs = plan_configs(scale, seeds, mnist_dir, max_seeds)  # bad seeds are refused here, before training
    for _, cfg, _ in configs:
        if cfg.task.name == "mnist":  # MNIST comes last: a missing data set must fail first
            check_mnist_source(cfg.task.data_dir or None)
    if announce is not None:
        announce()
    done, total = 0, sum(len(experiments) for *_, experiments in configs)
    timing = []
    for preset, cfg, experiments in configs:
        # a preset planned again with other overrides (the MLP on sub) is named by its label too
        if preset in settings:
            preset = labelled(preset, config_label(cfg))
        settings[preset] = cfg.to_dict()
        # every run of the configuration's experiments that is ready, in shared populations (schedule.py)
        t_ahead = time.time()
        ahead, ahead_steps = train_ahead(cfg, experiments, scale, Store(out), device, progress, executor)
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
