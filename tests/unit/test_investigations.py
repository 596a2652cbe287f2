"""docs/investigations.md quotes only what the committed results hold: each table row there is
rebuilt here from its CSV under results/, so a number cannot drift from its data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "investigations.md").read_text()


def _cell(t_gen, best: float) -> str:
    return f"{'—' if pd.isna(t_gen) else f'{int(t_gen):,}'} ({best:.3f})"


def test_the_c1_regime_table_is_the_committed_data():
    df = pd.read_csv(ROOT / "results" / "c1-regime" / "c1_regime.csv")
    rows = [line for line in DOC.splitlines() if line.startswith("| ") and line.count("|") == 6]
    quoted = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line for line in rows[1:]}  # no header
    assert len(quoted) >= 6
    for (variant, arm), line in quoted.items():
        g = df[(df.variant == variant) & (df.arm == arm)].sort_values("seed")
        assert len(g) == 3, (variant, arm)
        want = " | ".join(_cell(r.t_gen, r.max_test_acc) for r in g.itertuples())
        assert line == f"| {variant} | {arm} | {want} |", line
    # every ticket row of the data is quoted (the bases repeat under wd0)
    assert {(v, "ticket") for v in df.variant.unique()} <= set(quoted)


def test_the_authors_control_numbers_are_the_committed_data():
    df = pd.read_csv(ROOT / "results" / "authors-control" / "authors_control.csv").set_index("run")
    section = DOC.split("## A positive control from the authors' code", 1)[1]
    for run, label in (("base:wd1", "their base"), ("ticket:committed", "their ticket as committed"),
                       ("ticket:wd1", "their ticket retrained at weight decay 1.0")):  # fmt: skip
        row = next(line for line in section.splitlines() if line.startswith(f"| {label}"))
        assert row.endswith(f"| {int(df.loc[run, 't_gen']):,} |"), row
