"""Judging claims from run-store numbers, and the shared claims.json.

Runs that never reach the threshold have no t_gen. To compare arms anyway, such a run counts
as censored at its budget + 1 step ("later than anything measured"), and every summary says
how many seeds grokked, so a censored comparison is never hidden.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..store import file_lock, write_json

STATEMENTS = {
    "C1": "MLP: the grokking ticket (rate 0.6, weights from step 30k) reaches t_gen much sooner than the dense base.",
    "C2": "Transformer: the grokking ticket reaches t_gen much sooner than the dense base.",
    "C3": "MNIST: the grokking ticket reaches t_gen much sooner than the dense base.",
    "C4": "Tickets taken earlier (2k, 5k, 10k, 16k) are slower than the grokking ticket (28k); test accuracy "
    "at a fixed step rises with the step the ticket was taken at.",
    "C5": "Rates 0.1, 0.3, 0.5, 0.7 all speed grokking up vs the base; 0.9 does not grok within the budget; "
    "the fastest rate is mid-range.",
    "C6": "Dense nets with the ticket's L1 norm, and with its L2 norm, generalize later than the ticket.",
    "C7": "During training the ticket's L1 norm is lower and its L2 norm higher than the norm-matched dense nets'.",
    "C8": "With no weight decay, the ticket at the critical rate groks, about as fast as with weight decay; "
    "the dense base without weight decay does not.",
    "C9": "Random, SNIP, GraSP and SynFlow masks at the ticket's density do not beat the base and are all "
    "slower than the grokking ticket.",
    "C10": "The ticket's hidden neurons are periodic in the input early in training; the base model's only around grokking.",
}

PAPER = {
    "C1": "ticket ~5k vs base >25k",
    "C2": "ticket sooner than base (Fig. 2)",
    "C3": "ticket sooner than base (Fig. 2)",
    "C4": "28k ticket fastest; accuracy rises with ticket step (Fig. 3)",
    "C5": "fastest at 0.5; 0.9 does not grok (Fig. 4)",
    "C6": "controls slower than the ticket (Fig. 5)",
    "C7": "ticket: lower L1, higher L2 (Fig. 5)",
    "C8": "k_crit = 0.81; no-wd ticket ≈ wd ticket; base without wd does not grok (Fig. 6)",
    "C9": "all PaI masks no better than base (Fig. 7)",
    "C10": "periodic neurons in the ticket early (App. G)",
}


# The figure (its file stem) each claim is judged from; "C6@transformer" -> "norm-control@transformer".
FIGURE = {
    "C1": "tickets", "C2": "tickets@transformer", "C3": "tickets@mnist-mlp", "C4": "ticket-timeline",
    "C5": "prune-rate", "C6": "norm-control", "C7": "norm-control", "C8": "no-weight-decay", "C9": "pai",
    "C10": "analysis-periodicity",
}  # fmt: skip


def figure_of(cid: str) -> str | None:
    base, _, label = cid.partition("@")
    stem = FIGURE.get(base)
    return None if stem is None else f"{stem}@{label}" if label else stem


def claim(cid: str, measured: Any, holds: bool | None) -> dict[str, Any]:
    return {"id": cid, "statement": STATEMENTS[cid], "paper": PAPER[cid], "measured": measured, "holds": holds}


def arm_tgen(summary: pd.DataFrame, arm: str) -> dict[str, Any]:
    """t_gen of an arm over seeds: mean/std of the censored values, and how many grokked."""
    rows = summary[summary.arm == arm]
    if rows.empty:
        raise KeyError(f"no runs for arm {arm!r}")
    budget = rows.steps.astype(float) + 1
    t = rows.t_gen.astype("Float64").fillna(pd.Series(budget.values, index=rows.index)).astype(float).to_numpy()
    grokked = int(rows.t_gen.notna().sum())
    return {
        "mean": float(np.mean(t)),
        "std": float(np.std(t, ddof=1)) if len(t) > 1 else 0.0,
        "grokked": grokked,
        "n": len(t),
        "censored": grokked < len(t),
        "values": [None if math.isnan(x) else int(x) for x in rows.t_gen.astype("Float64").fillna(np.nan).astype(float)],
    }


def fmt_tgen(s: dict[str, Any]) -> str:
    if s["grokked"] == 0:
        return f"did not grok (0/{s['n']})"
    txt = f"{s['mean']:,.0f} ± {s['std']:,.0f}"
    if s["censored"]:
        txt = f"≥{txt} (censored)"
    return f"{txt} ({s['grokked']}/{s['n']} grokked)"


def claim_key(cid: str) -> tuple[int, str]:
    """Sort key of a claim id: C2 before C10; "C6@transformer" (a claim tested on another model) after C6."""
    num, _, where = cid[1:].partition("@")
    return int(num), where


def merge_claims(path: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add or replace rows by id in the shared claims.json; returns the merged table."""
    with file_lock(path.parent, path.name):  # two experiments finishing together keep both rows
        old = json.loads(path.read_text()) if path.exists() else []
        merged = {r["id"]: r for r in old}
        merged.update({r["id"]: r for r in rows})
        table = sorted(merged.values(), key=lambda r: claim_key(r["id"]))
        write_json(path, table)
    return table
