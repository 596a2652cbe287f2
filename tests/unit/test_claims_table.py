"""The claims table's cells (report/table.py): what a reader sees of a claims.json row."""

from __future__ import annotations

import pandas as pd

from grokking_tickets.report.table import cells, markdown, per_seed_markdown, seeds_in_direction


def _row(**over):
    row = {
        "id": "C1",
        "statement": "the ticket groks sooner",
        "paper": "ticket ~5k vs base >25k",
        "verdict": "holds",
        "holds": True,
        "measured": {
            "effect": {"ticket < base": 36.5},
            "ci95": {"ticket < base": [33.7, 41.9]},
            "p": {"ticket < base": 0.000078},
            "n": {"base": 8, "ticket": 8},
            "per-seed t_gen": {
                "base": {"0": 20500, "1": 21900, "2": None},
                "ticket": {"0": 600, "1": 30000, "2": 700},
            },
            "rule": "holds if ...",
        },
    }
    row.update(over)
    return row


def test_a_comparison_reads_as_effect_interval_and_seeds_in_direction():
    c = cells(_row())
    # seed 1's ticket is later than its base; seed 2's base never grokked, so its ticket is sooner
    assert c["ours"] == ["ticket < base: 36.5× [33.7, 41.9], 2/3 seeds"]
    assert (c["n"], c["p"], c["verdict"]) == ("8", "7.8e-05", "holds")


def test_seeds_in_direction_counts_a_run_that_never_grokked_as_latest():
    per = {"per-seed t_gen": {"a": {"0": None, "1": 5}, "b": {"0": None, "1": None}}}
    assert seeds_in_direction(per, "a < b") == (1, 2)  # never < never is not a win; 5 < never is
    assert seeds_in_direction(per, "b > a") == (1, 2)  # the same order, named from the larger arm
    assert seeds_in_direction(per, "a vs b") is None  # neither "SMALLER < LARGER" nor "LARGER > SMALLER"
    assert seeds_in_direction(per, "a < c") is None  # an arm the row has no per-seed values for


def test_the_papers_number_shows_only_on_its_own_configuration():
    assert cells(_row(id="C1@mlp-div"))["paper"] == "– (stated for C1)"
    v3 = _row(id="C1@mlp-div", paper="on every task", stated_for="every configuration")  # v3's statement
    assert cells(v3)["paper"] == "on every task"
    assert cells(_row(id="S1@authors-window", protocol="authors"))["paper"] == "ticket ~5k vs base >25k"


def test_a_nested_per_seed_table_is_pointed_to_not_dumped():
    measured = {"mean offset": 0.888, "per seed": {"0": {"t_JD": 2000, "t_gen": 17800}, "1": {"t_JD": 2000}}}
    c = cells(_row(id="S1", measured=measured))
    assert c["ours"] == ["mean offset: 0.888", "per seed: 2 entries in claims.json"]
    assert "{" not in markdown([_row(id="S1", measured=measured)])


def test_per_seed_markdown_shows_every_run_and_the_censored_ones_final_accuracy():
    summary = pd.DataFrame({
        "experiment": ["tickets"] * 4, "arm": ["base", "base", "ticket", "ticket"], "seed": [0, 1, 0, 1],
        "t_gen": pd.array([17800, None, 800, 300], dtype="Int64"), "final_test_acc": [1.0, 0.874, 1.0, 1.0],
        "threshold": [0.95] * 4,
    })  # fmt: skip
    text = per_seed_markdown(summary, {"tickets"})
    assert "| base | 17,800 | – (0.87) | 1/2 |" in text
    assert "| ticket | 800 | 300 | 2/2 |" in text
    assert "t_gen (steps to 95% test accuracy) ([figure](figures/tickets.png)):" in text


def test_a_rule_claim_shows_the_entry_its_rule_reads_first():
    """claims.json sorts measured entries by name; ``decides`` puts the deciding one first (E1:
    the test accuracy, not the Jaccard index that sorts before it), and must name an entry."""
    import pytest

    from grokking_tickets.analysis.claims import ClaimDef

    defn = ClaimDef("E9", "a statement", "0.9", "holds if acc >= 0.86")
    measured = {"Jaccard index": "0.31", "acc at step 2,000": "0.51", "at steps": "0.2 / 0.5"}
    row = defn.row("", dict(sorted(measured.items())), False, decides="acc at step 2,000")
    assert cells(row)["ours"][0] == "acc at step 2,000: 0.51"
    assert cells(defn.row("", dict(sorted(measured.items())), False))["ours"][0].startswith("Jaccard index")
    with pytest.raises(ValueError, match="not a measured entry"):
        defn.row("", measured, False, decides="acc")


def test_a_rule_claims_per_seed_values_are_one_row_of_the_seed_table():
    from grokking_tickets.analysis.claims import ClaimDef
    from grokking_tickets.report.table import rules_markdown

    defn = ClaimDef("E9", "a statement", "0.9", "holds if acc >= 0.86")
    m = {"acc at step 2,000": "0.51", "per-seed test acc": {"0": 0.7208, "1": 1.0, "10": None}}
    text = rules_markdown([defn.row("", m, False, decides="acc at step 2,000")])
    assert "| arm | seed 0 | seed 1 | seed 10 |\n|---|---|---|---|\n| acc at step 2,000 | 0.7208 | 1 | – |" in text


def test_per_seed_entries_under_other_names_get_a_table_too():
    """C8's per-seed critical rate and its comparison at the paper's k are per-seed values a
    reader needs to re-judge it: they are tabled under their own names, not the rule's."""
    from grokking_tickets.analysis.claims import ClaimDef
    from grokking_tickets.report.table import rules_markdown

    defn = ClaimDef("E9", "a statement", "0.9", "holds if ...")
    m = {
        "critical rate per seed": {"0": None, "1": 0.86},
        "at k = 0.81: per-seed t_gen": {"no-wd rate=0.81": {"0": None, "1": 400}},
        "critical rate": "0.81 ± 0.04",
    }
    text = rules_markdown([defn.row("", m, False, decides="critical rate")])
    assert "Per seed, critical rate (–: none):" in text and "| critical rate | – | 0.86 |" in text
    assert "Per seed, at k = 0.81: t_gen (–: never reached):" in text and "| no-wd rate=0.81 | – | 400 |" in text
    assert "0.81 ± 0.04" not in text  # not a per-seed entry


def test_a_claim_under_another_configuration_carries_that_configurations_differences():
    from grokking_tickets.analysis.claims import LABEL_DIFFERS
    from grokking_tickets.experiments.norm_control import C6
    from grokking_tickets.experiments.tickets import C2

    pairs = LABEL_DIFFERS["transformer"]
    assert C6.differs_for("") == "nothing known"  # the MLP: the claim's own configuration
    assert C6.row("transformer", {}, True)["differs"] == pairs  # C6@transformer: the transformer's pairs
    assert C2.row("transformer", {}, True)["differs"].count("ordered pairs") == 1  # C2 states it once
    assert C2.differs_for("transformer-sub") == pairs  # a label without differences of its own adds nothing


def test_the_sensitivity_rows_the_table_lacks_get_a_line_each():
    from grokking_tickets.report.table import variants_markdown

    judged = {"as run": [_row()], "p97": [_row(id="C1@p97", verdict="does not hold")]}
    text = variants_markdown(judged, {"C1"})
    lines = text.strip().splitlines()
    assert len(lines) == 3 and lines[2].startswith("| C1@p97 | p97 | ticket < base: 36.5× [33.7, 41.9]")
    assert "**does not hold**" in lines[2]
    assert variants_markdown(judged, {"C1", "C1@p97"}) == ""  # nothing left to show: no table
