"""The store's tables: summary.csv (one row per experiment, arm and run, with its grokking
times) and metrics.parquet (every registered run's metrics, long format), rebuilt from the
finished runs. The store only keeps runs; what a run's numbers mean is decided here.

Each row's t_mem and t_gen are read at the accuracy threshold of the experiment that
registered it (the MLP's 0.95 beside MNIST's 0.85 in one store), recorded with its
registration; rows registered before that was recorded use the threshold in the run's spec.
Each row also names the arithmetic that computed its run (arithmetic.py), so that a comparison
that mixes arithmetics can be told (:func:`arithmetic_mixes`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..arithmetic import key, short
from ..files import atomic_write
from ..store import Store, file_lock
from ..train.population import METRICS
from .grokking import grokking_times

SUMMARY_COLUMNS = [
    "run_id", "experiment", "arm", "seed", "steps", "t_mem", "t_gen", "tau",
    "final_train_acc", "final_test_acc", "density", "weight_decay", "status", "threshold", "arithmetic",
]  # fmt: skip


def run_label(done: dict) -> str:
    """A finished run's arithmetic (arithmetic.short of its identity); 'mixed:A+B' for a run begun
    under one arithmetic and finished under another."""
    end = short(done.get("arithmetic"))
    return f"mixed:{short(done['arithmetic_began'])}+{end}" if done.get("arithmetic_began") else end


def arithmetic_mixes(summary: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Experiments whose runs were computed with more than one arithmetic: {experiment: {label:
    runs}}. Their comparisons set numbers of different arithmetics side by side (arithmetic.py)."""
    if "arithmetic" not in summary:
        return {}
    out = {}
    for exp, rows in summary.groupby("experiment"):
        counts = rows.drop_duplicates("run_id").arithmetic.value_counts()
        if len(counts) > 1:
            out[str(exp)] = {str(k): int(v) for k, v in sorted(counts.items())}
    return out


def store_arithmetics(root) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Over the finished runs of the store at ``root``: ({label: {'runs': n, 'key': what the
    label means}}, {run id: label})."""
    found: dict[str, dict[str, Any]] = {}
    labels: dict[str, str] = {}
    for done_path in sorted((Path(root) / "runs").glob("*/done.json")):
        done = json.loads(done_path.read_text())
        label = labels[done_path.parent.name] = run_label(done)
        entry = found.setdefault(label, {"runs": 0, "key": key(done.get("arithmetic"))})
        entry["runs"] += 1
    return found, labels


def write_tables(store: Store) -> pd.DataFrame:
    """Rebuild summary.csv and metrics.parquet from every finished, registered run; the summary."""
    with file_lock(store.root, "tables"):
        return _write_tables(store)


def _write_tables(store: Store) -> pd.DataFrame:
    summary, metrics = build_tables(store)
    atomic_write(store.root / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    if metrics is not None:
        atomic_write(store.root / "metrics.parquet", lambda tmp: metrics.to_parquet(tmp, index=False))
    return summary


def build_tables(
    store: Store, threshold: float | None = None, experiments: set[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(summary, metrics) of every finished run registered (under ``experiments`` only, if
    given), in memory: what write_tables writes, and what a re-judging reads without writing.
    ``threshold`` judges every row at that accuracy instead of its registered one (a
    sensitivity variant re-judging runs at another threshold)."""
    rows, frames, seen = [], [], set()
    for m in store.members():
        rid = m["run_id"]
        if not store.is_done(rid) or (experiments is not None and m["experiment"] not in experiments):
            continue
        done = json.loads((store.run_dir(rid) / "done.json").read_text())
        met = store.run_metrics(rid)
        spec = store.spec(rid)
        at = threshold if threshold is not None else m.get("threshold", spec.train.threshold)
        times = grokking_times(met["step"], met["train_acc"], met["test_acc"], at)
        last = met.iloc[-1]
        rows.append({
            "run_id": rid, "experiment": m["experiment"], "arm": m["arm"], "seed": spec.seed,
            "steps": int(last["step"]), **times,
            "final_train_acc": float(last["train_acc"]), "final_test_acc": float(last["test_acc"]),
            "density": done["density"], "weight_decay": spec.optim.weight_decay, "status": done["status"],
            "threshold": at, "arithmetic": run_label(done),
        })  # fmt: skip
        if rid not in seen:
            seen.add(rid)
            frames.append(met.assign(run_id=rid, seed=spec.seed, density=done["density"]))
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for col in ("t_mem", "t_gen"):
        summary[col] = summary[col].astype("Int64")
    if not frames:
        return summary, None
    cols = ["run_id", "seed", "step", *METRICS, "density"]
    # runs of older versions lack later columns (the per-matrix norms): NaN there
    return summary, pd.concat(frames, ignore_index=True).reindex(columns=cols)
