"""Claims: their definitions, the numbers they are judged from, and the shared claims.json.

A :class:`ClaimDef` is declared next to the code that judges it (an experiment module, or the
appendix analysis); judging it gives one row of claims.json. Runs that never reach the
threshold have no t_gen. To compare arms anyway, such a run counts as censored at its budget
+ 1 step ("later than anything measured"), and every summary says how many seeds grokked, so
a censored comparison is never hidden.

Verdicts (:data:`VERDICTS`): a claim *holds* when the direction its rule states is met and
every one-sided rank test of its comparisons has p < 0.05 (:mod:`.stats`); *not significant*
when the direction is met but some p is not below 0.05 (at 3 seeds against 3 no p can be: the
smallest is 0.05); *does not hold* when the direction is not met; *not run* when it could not
be judged. The row keeps ``holds`` (True, False or None; False for "not significant", so a
reader of the old field never takes an unresolved claim for a held one) and adds ``verdict``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..store import file_lock, write_json

VERDICTS = ("holds", "does not hold", "not significant", "not run")
_FROM_HOLDS = {True: "holds", False: "does not hold", None: "not run"}  # rows written before `verdict`


def decide(direction: bool | None, p_values: Iterable[float | None] | None = None) -> str:
    """The verdict of a claim: its rule's direction, then (for a comparison claim, ``p_values``
    given) every one-sided p below 0.05. A claim of several comparisons holds only if each one
    does; that is an intersection–union test, whose level is 0.05 without any correction for
    the number of comparisons (Berger 1982), so none is applied."""
    from .stats import significant

    if direction is None:
        return "not run"
    if not direction:
        return "does not hold"
    if p_values is None:
        return "holds"
    ps = list(p_values)
    return "holds" if ps and all(significant(p) for p in ps) else "not significant"


def holds_of(verdict: str) -> bool | None:
    """The ``holds`` field of a verdict: True, None for "not run", False otherwise."""
    if verdict not in VERDICTS:
        raise ValueError(f"a verdict is one of {VERDICTS}; got {verdict!r}")
    return True if verdict == "holds" else None if verdict == "not run" else False


def verdict_of(row: dict[str, Any]) -> str:
    """A claims.json row's verdict; rows written before the field existed have only ``holds``."""
    v = row.get("verdict")
    return v if v in VERDICTS else _FROM_HOLDS[row.get("holds")]


def stats_brief(row: dict[str, Any]) -> str:
    """'n = 3, p = 0.05' (the largest p where a claim has several tests); '' for a row without
    statistics (older stores, claims that are not comparisons)."""
    m = row.get("measured")
    if not isinstance(m, dict) or not isinstance(m.get("p"), dict) or not m["p"]:
        return ""
    ns = sorted({int(v) for v in (m.get("n") or {}).values() if isinstance(v, (int, float))})
    n = "" if not ns else f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}–{ns[-1]}"
    ps = [p for p in m["p"].values() if isinstance(p, (int, float))]
    if not ps:
        p = "p: none"
    elif len(m["p"]) == 1:
        p = f"p = {ps[0]:.3g}"
    else:
        p = f"largest of {len(m['p'])} p = {max(ps):.3g}"
    return ", ".join(x for x in (n, p) if x)


def labelled(name: str, label: str) -> str:
    """An experiment, figure or claim under a configuration label: ``tickets@transformer``; "" keeps it bare."""
    return f"{name}@{label}" if label else name


# What a configuration itself differs in from the authors' code, whichever claim is judged on it:
# added to the `differs` of every claim judged under that label but its own (C6@transformer,
# P1@transformer; C2 and C3 state it themselves).
LABEL_DIFFERS = {
    "transformer": "all 4,489 ordered pairs (their code: a ≤ b; docs/configuration.md says why); d_model 128 as "
    "in their code (the text says 500)",
    "mnist-mlp": "1k/60k drawn at random from all 70k images (theirs: the first 1,000 of the official test split "
    "for training, the official 60k training split as test)",
}


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
    # What still differs between the protocol this claim is judged under and the authors' code
    # (their repository gouki510/Grokking-Tickets; file and commit named), "" where nothing known does
    differs: str = ""
    protocol: str = "ours"  # the protocol the row is judged under (a sensitivity variant names its own)
    # The paper states it for every configuration it is judged under (v3's "on every task"), so
    # its paper value belongs on each labelled row too (report/table.py: paper_cell)
    every_config: bool = False

    def differs_for(self, label: str) -> str:
        """What differs from the authors under configuration ``label``: the claim's own
        differences, then the configuration's where it is not the claim's own (LABEL_DIFFERS)."""
        parts = [self.differs, LABEL_DIFFERS.get(label, "") if label != self.config else ""]
        return "; ".join(x for x in parts if x) or "nothing known"

    def id_for(self, label: str) -> str:
        return self.id if label == self.config else labelled(self.id, label)

    def row(
        self, label: str, measured: dict[str, Any], holds: bool | None | str, decides: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """The claims.json row: ``measured`` with the rule appended as its last entry.

        ``holds`` is a verdict (one of :data:`VERDICTS`, see :func:`decide`) or, for a claim
        judged without a test, True / False / None; ``decides`` names the entry of ``measured``
        its rule reads (claims.json sorts the entries, so a table cannot tell it otherwise)."""
        measured = {**measured, "rule": self.rule.format(**fields)}
        cid = self.id_for(label)
        verdict = holds if isinstance(holds, str) else _FROM_HOLDS[holds]
        out = {
            "id": cid, "statement": self.statement, "paper": self.paper, "measured": measured,
            "holds": holds_of(verdict), "verdict": verdict, "protocol": self.protocol,
            "differs": self.differs_for(label),
        }  # fmt: skip
        if self.every_config:
            out["stated_for"] = "every configuration"
        if decides is not None:
            if decides not in measured:
                raise ValueError(f"{cid}: decides={decides!r} is not a measured entry")
            out["decides"] = decides
        return out


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


@dataclass(frozen=True)
class Sample:
    """One side of a comparison: an arm's per-seed values (``shown``: as measured, None for a
    run that never grokked; ``values``: as tested, censored at budget + 1)."""

    name: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    shown: tuple[Any, ...]

    def per_seed(self) -> dict[str, Any]:
        keys = [str(s) for s in self.seeds]
        if len(set(keys)) < len(keys):  # several runs of one seed in an arm: number them
            keys = [f"{k} ({i})" for i, k in enumerate(keys)]
        return dict(zip(keys, self.shown))


def censor_at(summary: pd.DataFrame, arms: Iterable[str]) -> float:
    """The value a run that never grokked enters a comparison with: the largest budget among
    the compared arms + 1, later than every t_gen measured in them (docs/statistics.md)."""
    return float(summary[summary.arm.isin(list(arms))].steps.max()) + 1


def tgen_sample(summary: pd.DataFrame, arm: str, censor: float, name: str | None = None, rows=None) -> Sample:
    """An arm's t_gen per seed (``rows``: those summary rows instead of the arm's)."""
    rows = summary[summary.arm == arm] if rows is None else rows
    if rows.empty:
        raise KeyError(f"no runs for arm {arm!r}")
    rows = rows.sort_values("seed", kind="stable")
    shown = [None if pd.isna(t) else int(t) for t in rows.t_gen]
    values = [censor if t is None else float(t) for t in shown]
    return Sample(name or arm, tuple(int(s) for s in rows.seed), tuple(values), tuple(shown))


def comparisons(
    tests: list[tuple[str, Sample, Sample]], quantity: str = "t_gen", censored: bool = True, digits: int = 3
) -> tuple[dict[str, Any], list[float | None]]:
    """Claimed-larger against claimed-smaller, one-sided, for each (name, larger, smaller).

    Returns the entries a comparison claim adds to ``measured`` (``n`` and ``per-seed
    QUANTITY`` by arm; ``effect``, ``ci95`` and ``p`` by test; ``statistics``: the methods
    used) and the p-values, in order, for :func:`decide`. The effect is the ratio of means,
    larger / smaller: above 1 in the claimed direction.
    """
    from .stats import N_RESAMPLES, compare

    samples = {s.name: s for _, a, b in tests for s in (a, b)}
    res = {name: compare(a.values, b.values, "greater", "ratio") for name, a, b in tests}

    def rnd(x):
        return None if x is None else round(x, digits)

    p_methods = sorted({r["p_method"] for r in res.values()})
    ci_methods = sorted({r["ci_method"] for r in res.values()})
    text = (
        f"one-sided Mann–Whitney U per comparison (p: {'; '.join(p_methods)}); effect: ratio of means, the arm "
        f"claimed larger / the arm claimed smaller (> 1 in the claimed direction); 95% CI: bootstrap "
        f"({'; '.join(ci_methods)}; {N_RESAMPLES:,} resamples, seed 0); holds needs every p < 0.05 "
        f"(no multiplicity correction: every comparison must hold)"
    )
    if censored:
        text += "; a run that never grokked enters at budget + 1, later than every t_gen measured"
    measured = {
        "n": {k: len(s.values) for k, s in samples.items()},
        f"per-seed {quantity}": {k: s.per_seed() for k, s in samples.items()},
        "effect": {k: rnd(r["effect"]) for k, r in res.items()},
        "ci95": {k: None if r["ci95"] is None else [rnd(x) for x in r["ci95"]] for k, r in res.items()},
        "p": {k: None if r["p"] is None else float(f"{r['p']:.4g}") for k, r in res.items()},
        "statistics": text,
    }
    return measured, [r["p"] for r in res.values()]


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


def claim_key(cid: str) -> tuple[int, str, int, str]:
    """Sort key of a claim id: the paper's claims (C...) first, then ours (A... for the
    accelerators, and so on, by letter); C2 before C10; "C6@transformer" (a claim tested on
    another configuration) after C6."""
    head, _, where = cid.partition("@")
    return (0 if head[0] == "C" else 1), head[0], int(head[1:]), where


# The claims table's groups, by the letter of a claim's id, in claim_key's order: the paper's ten
# first, then the rows this package adds beyond it.
CLAIM_GROUPS = {
    "C": "the paper's claims",
    "A": "accelerators (beyond the paper)",
    "E": "edge-popup on the memorizing solution (v3)",
    "S": "structure over training (v3)",
    "P": "progress measures (Nanda et al. 2023; beyond the paper)",
}


def claim_group(cid: str) -> str:
    """The group a claim id's row is shown under (:data:`CLAIM_GROUPS`; other letters: beyond the paper)."""
    return CLAIM_GROUPS.get(cid[:1], "beyond the paper")


def merge_claims(path: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add or replace rows by id in the shared claims.json; returns the merged table."""
    with file_lock(path.parent, path.name):  # two experiments finishing together keep both rows
        old = json.loads(path.read_text()) if path.exists() else []
        merged = {r["id"]: r for r in old}
        merged.update({r["id"]: r for r in rows})
        table = sorted(merged.values(), key=lambda r: claim_key(r["id"]))
        write_json(path, table)
    return table
