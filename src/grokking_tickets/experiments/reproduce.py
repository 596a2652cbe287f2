"""`grokking-tickets reproduce`: every experiment for the three configurations, the appendix
analyses and v3's analyses of structure. Dense runs shared between experiments are trained once (run store). The report is
drawn from what this returns by the report layer (the CLI calls both).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ..analysis.appendix import run_analyses
from ..analysis.claims import merge_claims
from ..analysis.structure import run_structure
from ..config import MAX_SEEDS, Config, apply_overrides, from_dict, load_preset, parse_seeds
from ..executors import Executor
from ..progress import duration
from ..tasks.mnist_data import check_mnist_source
from .base import EXPERIMENTS, Experiment
from .run import run_experiment, scaled


def _experiments(*names: str) -> tuple[Experiment, ...]:
    return tuple(EXPERIMENTS[n] for n in names)


MLP_ALL = _experiments(
    "tickets", "norm-control", "pai", "ticket-timeline", "prune-rate", "no-weight-decay", "equal-params", "accelerators",
    "edge-popup",
)
# MNIST at `quick`: one seed and a 30k-step budget (steps of ~12 ms on 2 cores: the paper's
# 3 seeds x 100k steps take hours there). 30k is enough for the dense net to grok at the
# preset's weight decay (README, MNIST weight-decay study); `paper` keeps 100k.
MNIST_QUICK = ("train.steps=30000", "train.checkpoint_every=5000", "ticket.step=30000")

# (preset, extra overrides, seeds at this scale unless --seeds is given, experiments)
PLAN = {
    "paper": [
        ("mlp-modadd", (), None, MLP_ALL),
        ("transformer-modadd", (), None, _experiments("tickets", "norm-control", "pai")),
        ("mnist-mlp", (), None, _experiments("tickets", "norm-control", "pai")),
    ],
    "quick": [
        ("mlp-modadd", (), None, MLP_ALL),
        ("transformer-modadd", (), None, _experiments("tickets")),
        ("mnist-mlp", MNIST_QUICK, (0,), _experiments("tickets")),
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


def reproduce(
    scale: str,
    out: str | Path,
    device,
    seeds: str | None = None,
    progress: bool = True,
    mnist_dir: str | None = None,
    executor: Executor | None = None,
    max_seeds: int = MAX_SEEDS,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], float]:
    """Train and judge the plan; returns (claims, report sections, settings, run time in s)."""
    out = Path(out)
    t0 = time.time()
    sections, settings = [], {"scale": scale}
    configs = plan_configs(scale, seeds, mnist_dir, max_seeds)  # bad seeds are refused here, before training
    for _, cfg, _ in configs:
        if cfg.task.name == "mnist":  # MNIST comes last: a missing data set must fail first
            check_mnist_source(cfg.task.data_dir or None)
    done, total = 0, sum(len(experiments) for *_, experiments in configs)
    for preset, cfg, experiments in configs:
        settings[preset] = cfg.to_dict()
        for experiment in experiments:
            name = experiment.name
            done += 1
            t_exp = time.time()
            if progress:  # the outer line: where a long job stands
                print(f"[{done}/{total}] {name} ({preset}); {duration(t_exp - t0)} so far", file=sys.stderr, flush=True)
            res = run_experiment(name, cfg, scale, out, device, progress, executor)
            if progress:
                print(f"[{done}/{total}] {name} ({preset}): done in {duration(time.time() - t_exp)}", file=sys.stderr, flush=True)
            table = res.table.to_string(index=False, float_format=lambda x: f"{x:,.0f}") if res.table is not None else ""
            sections.append({"title": f"{name} ({preset})", "figure": res.figure, "notes": res.notes, "text": table})
    analyses = run_analyses(out)
    structure = run_structure(out)  # v3's structure over training: mask drift, Fourier entropy, graphs
    claims = merge_claims(out / "claims.json", analyses["claims"] + structure["claims"])
    for fig, title in zip(analyses["figures"], ("Periodicity of hidden neurons (C10)",)):
        sections.append({"title": title, "figure": fig, "notes": None, "text": ""})
    sections.append({"title": "Dead neurons", "figure": None, "notes": analyses["notes"], "text": ""})
    sections += structure["sections"]
    return claims, sections, settings, time.time() - t0
