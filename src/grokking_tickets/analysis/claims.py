"""Claims: their definitions, the numbers they are judged from, and the shared claims.json.

A :class:`ClaimDef` is declared next to the code that judges it (an experiment module, or the
appendix analysis); judging it gives one row of claims.json. Runs that never reach the
threshold have no t_gen. To compare arms anyway, such a run counts as censored at its budget
+ 1 step ("later than anything measured"), and every summary says how many seeds grokked, so
a censored comparison is never hidden.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..store import file_lock, write_json


def labelled(name: str, label: str) -> str:
    """An experiment, figure or claim under a configuration label: ``tickets@transformer``; "" keeps it bare."""
    return f"{name}@{label}" if label else name


@dataclass(frozen=True)
class ClaimDef:
    """One claim of the paper, as this package judges it.

    ``rule`` is written beside the verdict; it may hold ``{fields}`` that the judging code fills
    in (the step it compared at). ``config`` is the configuration label the claim is stated for:
    judged under that label the id is bare (C2 on the transformer); under any other it carries
    the label (C6@transformer, C1@mlp-mul), so a claim tested elsewhere never overwrites the
    paper's row.
    """

    id: str  # "C1"
    statement: str
    paper: str  # what the paper reports
    rule: str
    config: str = ""  # the paper's main configuration: the MLP on modular addition

    def id_for(self, label: str) -> str:
        return self.id if label == self.config else labelled(self.id, label)

    def row(self, label: str, measured: dict[str, Any], holds: bool | None, **fields: Any) -> dict[str, Any]:
        """The claims.json row: ``measured`` with the rule appended as its last entry."""
        measured = {**measured, "rule": self.rule.format(**fields)}
        cid = self.id_for(label)
        return {"id": cid, "statement": self.statement, "paper": self.paper, "measured": measured, "holds": holds}


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


def tgen_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Each arm's t_gen (mean, std, grokked/n), arms in the order they first appear."""
    rows = []
    for arm in dict.fromkeys(summary.arm):
        s = arm_tgen(summary, arm)
        rows.append({"arm": arm, "t_gen mean": s["mean"], "t_gen std": s["std"], "grokked": f"{s['grokked']}/{s['n']}"})
    return pd.DataFrame(rows)


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
