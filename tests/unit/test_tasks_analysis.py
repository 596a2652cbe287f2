"""The `tasks` analysis: every configuration's ticket against its base in one figure."""

import numpy as np
import pandas as pd
import pytest

from grokking_tickets.analysis.registry import registered
from grokking_tickets.analysis.tasks import FIGURE, run_tasks, task_table, tickets_experiments
from grokking_tickets.errors import UserError


def _summary() -> pd.DataFrame:
    rows = []
    for exp, budget, base, ticket in [
        ("tickets@mlp-sub", 30000, [9000, 12000, np.nan], [400, 500, 600]),
        ("tickets", 30000, [18000, 20000, 21000], [500, 600, np.nan]),
        ("tickets~p97", 30000, [1, 1, 1], [1, 1, 1]),  # a variant's: left out
        ("pai", 30000, [18000, 20000, 21000], [500, 600, 700]),  # not a tickets experiment
        ("tickets@dense-mlp-polynomial", 10000, [3000, 4000, 5000], [200, 300, 400]),
    ]:
        for arm, ts in (("base", base), ("ticket", ticket)):
            rows += [{"experiment": exp, "arm": arm, "seed": s, "t_gen": t, "steps": budget} for s, t in enumerate(ts)]
    return pd.DataFrame(rows)


def test_each_configurations_tickets_experiment_the_papers_first():
    assert tickets_experiments(_summary()) == ["tickets", "tickets@dense-mlp-polynomial", "tickets@mlp-sub"]


def test_the_table_counts_a_run_that_never_generalized_at_its_budget():
    t = task_table(_summary(), ["tickets", "tickets@mlp-sub"]).set_index(["task", "arm"])
    assert t.loc[("mlp-add", "ticket")].tolist() == [3, 2, 600.0, 30000]  # 500, 600, (30000): median 600
    assert t.loc[("mlp-sub", "base")].tolist() == [3, 2, 12000.0, 30000]


def test_it_draws_one_figure_from_summary_csv_alone(tmp_path):
    with pytest.raises(UserError, match="no summary.csv"):
        run_tasks(tmp_path)
    _summary().to_csv(tmp_path / "summary.csv", index=False)
    result = run_tasks(tmp_path)
    assert result.claims == [] and (tmp_path / "figures" / f"{FIGURE}.png").read_bytes()[:4] == b"\x89PNG"
    assert "mlp-sub" in result.sections[0]["text"]
    a = registered()["tasks"]
    assert not a.reads_weights and a.figures == (FIGURE,)  # it runs on a published folder, redrawn there
