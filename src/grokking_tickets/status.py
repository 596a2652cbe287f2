"""``grokking-tickets status DIR``: what a run store holds, read without training or loading weights.

Per experiment, each arm's runs by state (done, diverged, resumable at step N, registered but
not started); the claims judged; the arithmetics the finished runs were computed with, and a
warning for each experiment that compares runs of more than one (arithmetic.py); the disk
used, split into weight checkpoints, resume points and the rest.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError, safe_open

from .analysis.tables import store_arithmetics
from .config import MAX_SEEDS
from .errors import UserError
from .store import Store, file_lock

if TYPE_CHECKING:
    from .experiments.plan import Plan


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def run_state(run_dir: Path) -> dict[str, Any]:
    """{'state': done | diverged | resumable | not started | missing, 'step': int | None}."""
    if not run_dir.is_dir():
        return {"state": "missing", "step": None}
    done = run_dir / "done.json"
    if done.exists():
        record = json.loads(done.read_text())
        status = record.get("status", "ok")
        out = {"state": "done" if status == "ok" else status, "step": None}
        if "stopped_at" in record:  # ended by its stop rule (train.stop_margin)
            out["stopped_at"] = record["stopped_at"]
        return out
    for name in ("state.safetensors", "state.prev.safetensors"):
        try:
            with safe_open(str(run_dir / name), framework="pt") as f:
                return {"state": "resumable", "step": int(f.metadata()["step"])}
        except (SafetensorError, OSError, KeyError, TypeError, ValueError):  # absent, unreadable, no step
            continue
    return {"state": "not started", "step": None}


# Experiments whose analyses read every checkpoint of their runs (periodicity over training,
# mask drift, Fourier entropy, graph metrics): the MLP's `tickets` (analysis/appendix.py,
# analysis/structure.py). Filed under other configurations they
# get a suffix (tickets@transformer) and no analysis reads them.
READS_EVERY_CHECKPOINT = ("tickets",)


def needed_checkpoints(root: Path) -> dict[str, set[int] | None]:
    """run id -> the weight steps something in this store reads (None: all of them).

    Needed: each run's last step (dead neurons, tickets at the default step), every step a
    ticket, a late rewind or an edge-popup run in this store was made from (each run's spec.json says), and every
    step of the runs the analyses read over training. Anything else is an intermediate
    checkpoint that no experiment registered here needs.
    """
    need: dict[str, set[int] | None] = {}
    for path in sorted((root / "experiments").glob("*.json")):
        if path.stem in READS_EVERY_CHECKPOINT:
            for row in json.loads(path.read_text()):
                need[row["run_id"]] = None
    for spec_path in (root / "runs").glob("*/spec.json"):
        init = json.loads(spec_path.read_text()).get("init", {})
        mask, popup = init.get("mask") or {}, init.get("edge_popup") or {}
        for src, step in (
            (mask.get("source"), mask.get("step")),
            (init.get("rewind_source"), init.get("rewind_step")),
            (popup.get("source"), popup.get("step")),  # edge-popup: the frozen weights
        ):
            if src and step is not None and need.get(src, set()) is not None:
                need.setdefault(src, set()).add(int(step))
    return need


def prunable_checkpoints(root: str | Path) -> list[Path]:
    """Weight files of finished runs that nothing in this store reads (see needed_checkpoints)."""
    root = Path(root)
    need = needed_checkpoints(root)
    out = []
    for run in sorted((root / "runs").iterdir()):
        if not (run / "done.json").exists() or need.get(run.name, set()) is None:
            continue
        files = sorted((run / "weights").glob("step-*.safetensors"))
        keep = need.get(run.name, set()) | {int(files[-1].stem[5:])} if files else set()
        out += [f for f in files if int(f.stem[5:]) not in keep]
    return out


def store_status(root: str | Path) -> dict[str, Any]:
    root = Path(root)
    if not (root / "runs").is_dir():
        raise UserError(f"{root} is not a run store (no runs/ folder); give the --out folder of a train, run or reproduce")
    runs = {d.name: run_state(d) for d in sorted((root / "runs").iterdir()) if d.is_dir()}
    arithmetic, labels = store_arithmetics(root)
    experiments: dict[str, dict[str, Any]] = {}
    mixed: dict[str, dict[str, int]] = {}
    for path in sorted((root / "experiments").glob("*.json")):
        arms: dict[str, dict[str, Any]] = {}
        rows = json.loads(path.read_text())
        used = Counter(labels[r] for r in {row["run_id"] for row in rows} if r in labels)
        if len(used) > 1:
            mixed[path.stem] = dict(sorted(used.items()))
        for row in rows:
            arm = arms.setdefault(row["arm"], {"seeds": [], "states": Counter(), "resumable_at": [], "stopped_early": 0})
            arm["seeds"].append(row["seed"])
            st = runs.get(row["run_id"], {"state": "missing", "step": None})
            arm["states"][st["state"]] += 1
            arm["stopped_early"] += "stopped_at" in st
            if st["step"] is not None:
                arm["resumable_at"].append(st["step"])
        experiments[path.stem] = {a: {**v, "seeds": sorted(v["seeds"]), "states": dict(v["states"])} for a, v in arms.items()}
    from .analysis.claims import verdict_of

    claims = json.loads((root / "claims.json").read_text()) if (root / "claims.json").exists() else []
    disk = {"weight checkpoints": 0, "resume points": 0, "other": 0}
    for f in root.rglob("*"):
        if f.is_file():
            kind = "weight checkpoints" if f.parent.name == "weights" else "resume points" if f.name.startswith("state") else "other"
            disk[kind] += _size(f)
    prunable = prunable_checkpoints(root)
    return {
        "store": str(root),
        "prunable_checkpoints": {"files": len(prunable), "bytes": sum(_size(f) for f in prunable)},
        "runs": dict(Counter(r["state"] for r in runs.values())),
        "experiments": experiments,
        "claims": {c["id"]: verdict_of(c) for c in claims},
        "arithmetic": arithmetic,
        "mixed_arithmetic": mixed,
        "disk_bytes": disk,
    }


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def format_status(st: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(st["runs"].items())) or "none"
    lines = [f"{st['store']}: {sum(st['runs'].values())} runs ({counts})", ""]
    for exp, arms in st["experiments"].items():
        lines.append(exp)
        for arm, v in arms.items():
            states = ", ".join(f"{n} {s}" for s, n in sorted(v["states"].items()))
            at = f" (at steps {', '.join(f'{s:,}' for s in sorted(set(v['resumable_at'])))})" if v["resumable_at"] else ""
            stopped = f", {v['stopped_early']} of them stopped early" if v.get("stopped_early") else ""
            lines.append(f"  {arm:<22} seeds {','.join(map(str, v['seeds'])):<12} {states}{stopped}{at}")
    if not st["experiments"]:
        lines.append("no experiments registered")
    lines.append("")
    if st["claims"]:
        lines.append("claims: " + "; ".join(f"{cid} {v}" for cid, v in st["claims"].items()))
    else:
        lines.append("claims: none judged yet")
    arith = st.get("arithmetic") or {}
    if len(arith) == 1:
        (label, a), = arith.items()
        lines.append(f"arithmetic: every finished run computed with {label} ({a['key']})")
    elif arith:
        lines.append("arithmetic: finished runs computed with " + "; ".join(
            f"{label} ({a['runs']} runs: {a['key']})" for label, a in arith.items()))  # fmt: skip
    for exp, used in (st.get("mixed_arithmetic") or {}).items():
        lines.append(
            f"warning: {exp} compares runs of {len(used)} arithmetics ("
            + ", ".join(f"{n} {label}" for label, n in used.items())
            + "): their numbers differ in the last bits, and in float32 after memorization in grokking times too"
        )
    d = st["disk_bytes"]
    lines.append(
        f"disk: {_mb(sum(d.values()))} = weight checkpoints {_mb(d['weight checkpoints'])} + "
        f"resume points of unfinished runs {_mb(d['resume points'])} + tables, figures and the rest {_mb(d['other'])}"
    )
    if "reproduce_plan" in st:
        lines.append(plan_line(st["reproduce_plan"]))
    p = st["prunable_checkpoints"]
    if p["files"]:
        lines.append(
            f"of the weight checkpoints, {p['files']} files ({_mb(p['bytes'])}) are intermediate steps nothing in this "
            f"store reads; `grokking-tickets status {st['store']} --prune-checkpoints` deletes them"
        )
    return "\n".join(lines)


def prune_checkpoints(root: str | Path) -> tuple[int, int]:
    """Delete :func:`prunable_checkpoints` under the store's lock; (files, bytes) freed."""
    with file_lock(Path(root), "prune"):
        files = prunable_checkpoints(root)
        freed = sum(_size(f) for f in files)
        for f in files:
            f.unlink(missing_ok=True)
    return len(files), freed


def plan_line(r: dict[str, Any]) -> str:
    """What :func:`reproduce_plan` found: one line, then the experiments with runs to train."""
    seeds = f" --seeds {r['seeds']}" if r.get("seeds") else ""
    line = (
        f"reproduce --scale {r['scale']}{seeds} would still train {r['runs']} of its {r['known']} runs known so far "
        f"({r['model_steps']:,} model-steps)"
        + (f", and {r['later']} more whose settings depend on runs not trained yet" if r["later"] else "")
        + "; experiments that pick arms from results (no-weight-decay's ticket with weight decay at each "
        "seed's critical rate) add more"
    )
    rows = [e for e in r.get("experiments", []) if e["runs"] or e["later"]]
    if not rows:
        return line
    width = max(len(e["experiment"]) for e in rows)
    table = [f"  {'experiment':<{width}}  {'runs to train':>13}  {'model-steps':>11}  later"]
    table += [f"  {e['experiment']:<{width}}  {e['runs']:>6} of {e['known']:<4}  {e['model_steps']:>11,}  {e['later'] or ''}"
              for e in rows]  # fmt: skip
    return "\n".join([line, "by experiment (a run two experiments share counts in both):", *table])


def new_store_plan(root: str | Path, scale: str, seeds: str | None = None) -> dict[str, Any]:
    """:func:`reproduce_plan` for a folder that is not a run store yet (``status NEW --plan``):
    planned against an empty store in a temporary folder, so that nothing is created at ``root``."""
    import tempfile

    if Path(root).exists() and not Path(root).is_dir():
        raise UserError(f"{root} is a file, not a folder for a run store")
    with tempfile.TemporaryDirectory() as empty:
        return reproduce_plan(empty, scale, seeds)


def reproduce_plan(
    root: str | Path, scale: str, seeds: str | None = None, mnist_dir: str | None = None, max_seeds: int = MAX_SEEDS
) -> dict[str, Any]:
    """What ``reproduce --scale SCALE [--seeds SEEDS] --out ROOT`` would still train, found
    without training (:func:`plan_counts` of its plan)."""
    import torch

    from .experiments.plan import build_plan
    from .experiments.run import SCALES

    if scale not in SCALES:
        raise UserError(f"--plan must be one of {', '.join(SCALES)}; got {scale!r}")
    store = Store(root)
    return plan_counts(build_plan(scale, store, torch.device("cpu"), seeds, mnist_dir, max_seeds), store)


def plan_counts(plan: Plan, store: Store) -> dict[str, Any]:
    """What of ``plan`` ``store`` still lacks: in all, by experiment, and by model (``by_model``:
    model name -> runs, model-steps and the first configuration that trains it, which
    :func:`eta_seconds` times). A run counts its steps still to go (a resumable run, from its
    resume point); a run two experiments share counts once in all and in each of them."""
    to_go: dict[str, int | None] = {}  # run id -> its model-steps still to go (None: done), read once

    def todo(specs: dict[str, Any]) -> dict[str, int]:  # of these runs, those not done -> their model-steps to go
        for rid, sp in specs.items():
            if rid not in to_go:
                to_go[rid] = None if store.is_done(rid) else sp.train.steps - (run_state(store.run_dir(rid))["step"] or 0)
        return {rid: to_go[rid] for rid in specs if to_go[rid] is not None}

    by_experiment = []
    for c in plan.configs:
        for e in c.first:
            left = todo(e.planned)
            by_experiment.append({"experiment": e.label, "runs": len(left), "known": len(e.planned),
                                  "model_steps": sum(left.values()), "later": e.later})  # fmt: skip
    planned = plan.planned
    left = todo(planned)
    config_of: dict[str, Any] = {}  # model name -> the first configuration of that model
    for c in plan.configs:
        config_of.setdefault(c.cfg.model.name, c.cfg)
    by_model: dict[str, dict[str, Any]] = {}
    for rid, steps in left.items():
        m = by_model.setdefault(planned[rid].model.name, {"runs": 0, "model_steps": 0})
        m["runs"] += 1
        m["model_steps"] += steps
    for name, m in by_model.items():
        m["config"] = config_of[name].to_dict()  # JSON, as the rest (status --plan --json prints it)
    return {"scale": plan.scale, "seeds": plan.seeds, "runs": len(left), "model_steps": sum(left.values()),
            "known": len(planned), "later": plan.later, "experiments": by_experiment, "by_model": by_model}  # fmt: skip


def eta_seconds(plan: dict[str, Any], device, max_members: int | None = None, steps: int = 10) -> dict[str, Any]:
    """A rough time for the training a plan holds: each model's model-steps left, divided by the
    rate a population of it reaches here now, timed for ``steps`` steps (a few seconds in all).
    Rough by construction: real cohorts differ in size, masks and filters, the machine's load
    changes, runs that may stop early (train.stop_margin) count their whole budget, and runs
    planned later, judging and drawing are not counted."""
    from .bench import population_steps_per_s
    from .config import from_dict
    from .runner import default_max_members
    from .spec import RunSpec

    rates, total = {}, 0.0
    for name, m in plan["by_model"].items():
        cfg = from_dict(m["config"])
        cap = max_members or default_max_members(RunSpec.dense(cfg, 0), device)
        rates[name] = population_steps_per_s(cfg, min(m["runs"], cap), steps, str(device))
        total += m["model_steps"] / rates[name]
    return {"seconds": total, "rates": rates}


def eta_line(plan: dict[str, Any], eta: dict[str, Any]) -> str:
    """reproduce's first line: what it will train and about how long that takes here."""
    from .progress import duration

    later = f"; {plan['later']} more once the runs they depend on are trained" if plan["later"] else ""
    rates = ", ".join(f"{n} {r:,.0f}" for n, r in eta["rates"].items())
    return (
        f"plan: {plan['runs']} runs to train ({plan['model_steps']:,} model-steps){later}; about "
        f"{duration(eta['seconds'])} of training here (model-steps/s measured just now: {rates}; rough)"
        if plan["runs"] else f"plan: nothing to train, every planned run is in the store{later}"
    )
