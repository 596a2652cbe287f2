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


AUTHORS = "## A positive control from the authors' code"


def _tgen(t) -> str:
    return "—" if pd.isna(t) else f"{int(t):,}"


def _acc(a) -> str:
    return "–" if pd.isna(a) else f"{a:.3f}"


def test_the_authors_control_table_is_the_committed_data():
    """Every row of results/authors-control/authors_control.csv is quoted, as is, in that section's table."""
    df = pd.read_csv(ROOT / "results" / "authors-control" / "authors_control.csv")
    section = DOC.split(AUTHORS, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and line.count("|") == 9][1:]
    quoted = {tuple(c.strip() for c in line.strip("|").split("|")[:3]): line for line in rows}
    assert len(quoted) == len(df) >= 4, sorted(quoted)
    for r in df.itertuples():
        every_step = _tgen(r.t_gen) if r.eval_every == 1 else f"(every {r.eval_every})"
        minutes = "–" if pd.isna(r.seconds) else f"{r.seconds / 60:.0f}"
        want = (
            f"| {r.source} | {r.arm} | {r.seed} | {every_step} | {_tgen(r.t_gen_every_100)} | {_acc(r.max_test_acc)} | "
            f"{_acc(r.final_test_acc)} | {minutes} |"
        )
        assert quoted.get((r.source, r.arm, str(r.seed))) == want, want
    # the prose's numbers: their base and tickets (every step), as the CSV has them
    runs = df.set_index("run")
    for run in ("base:wd1", "ticket:committed", "ticket:wd1"):
        assert f"{int(runs.loc[run, 't_gen']):,}" in section.split("**Their code gives", 1)[1], run
