import json

import pandas as pd
import pytest
import torch

from grokking_tickets.config import from_dict
from grokking_tickets.experiments.no_weight_decay import search_critical
from grokking_tickets.experiments.run import run_experiment
from grokking_tickets.pruning.controls import lp_norm
from grokking_tickets.store import Store


def test_critical_search_against_a_monotone_oracle():
    truth = {0: 0.81, 1: 0.47, 2: None, 3: 0.93}  # largest rate that groks; None: nothing does
    grid_rates = [round(0.1 * i, 1) for i in range(10)]

    def groks(seed, rate):
        return truth[seed] is not None and rate <= truth[seed] + 1e-9

    grid = {s: {r: groks(s, r) for r in grid_rates} for s in truth}
    calls = []

    def oracle(rates):
        calls.append(dict(rates))
        return {s: groks(s, r) for s, r in rates.items()}

    found = search_critical(grid, oracle)
    assert found == truth
    assert len(calls) <= 4  # bisection from a 0.1 grid to 0.01 needs at most 4 rounds
    assert all(2 not in c for c in calls)  # a seed with no grokking rate is not searched


def test_critical_search_at_the_top_of_the_grid():
    grid = {0: {0.0: True, 0.5: True, 0.9: True}}
    found = search_critical(grid, lambda rates: {s: r <= 0.97 for s, r in rates.items()})
    assert found == {0: 0.97}


TINY = {
    "task": {"p": 13, "train_frac": 0.5},
    "model": {"d_emb": 24, "d_hidden": 12},
    "train": {"steps": 300, "eval_every": 50, "checkpoint_every": 100},
    "ticket": {"step": 300, "rate": 0.6},
    "seeds": [0, 1],
}


def _run(name, out, **over):
    cfg = from_dict({**TINY, **over})
    return run_experiment(name, cfg, "quick", out, torch.device("cpu"), progress=False)


def test_tickets_end_to_end(tmp_path):
    res = _run("tickets", tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert sorted(summary.arm.unique()) == ["base", "ticket"] and len(summary) == 4
    store = Store(tmp_path)
    for _, row in summary[summary.arm == "ticket"].iterrows():
        spec = store.spec(row.run_id)
        base_id = spec.init.mask.source
        mask = store.mask(row.run_id)
        theta0 = store.theta0(row.run_id)
        dense0 = store.theta0(base_id)
        n = sum(m.numel() for m in mask.values())
        assert sum(int((~m).sum()) for m in mask.values()) == int(0.6 * n + 0.5)  # exact count
        for k in mask:  # survivors rewound to the dense run's θ0, the rest exactly zero
            assert torch.equal(theta0[k][mask[k]], dense0[k][mask[k]])
            assert (theta0[k][~mask[k]] == 0).all()
            final = store.weights(row.run_id, 300)
            assert (final[k][~mask[k]] == 0).all()  # pruned weights stay zero through training
        assert row.density == pytest.approx(1 - int(0.6 * n + 0.5) / n)
    claims = json.loads((tmp_path / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["C1"] and set(claims[0]) >= {"id", "statement", "paper", "measured", "holds"}
    assert (tmp_path / "figures" / "tickets.png").stat().st_size > 10_000
    # a second experiment in the same folder reuses the dense runs and merges its claims
    before = {p.name for p in (tmp_path / "runs").iterdir()}
    _run("norm-control", tmp_path)
    after = {p.name for p in (tmp_path / "runs").iterdir()}
    assert len(after - before) == 4  # only the two controls x two seeds are new
    assert [c["id"] for c in json.loads((tmp_path / "claims.json").read_text())] == ["C1", "C6", "C7"]


def test_norm_controls_match_the_tickets_norms(tmp_path):
    _run("norm-control", tmp_path)
    store = Store(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    for seed in (0, 1):
        by_arm = {r.arm: r.run_id for r in summary[summary.seed == seed].itertuples()}
        ticket0 = store.theta0(by_arm["ticket"])
        for p in (1, 2):
            control0 = store.theta0(by_arm[f"l{p}-control"])
            assert lp_norm(control0, p) == pytest.approx(lp_norm(ticket0, p), rel=1e-5)


def test_pai_and_prune_rate_end_to_end(tmp_path):
    _run("pai", tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    dens = summary.groupby("arm").density.first()
    for m in ("random", "snip", "grasp", "synflow"):
        assert dens[m] == pytest.approx(dens["ticket"])  # every mask at the ticket's density
    _run("prune-rate", tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    pr = summary[summary.experiment == "prune-rate"]
    # rate 0.0 is the base run itself, not a retrained copy
    assert set(pr[pr.arm == "rate=0.0"].run_id) == set(pr[pr.arm == "base"].run_id)


@pytest.mark.slow
def test_no_weight_decay_end_to_end(tmp_path):
    res = _run("no-weight-decay", tmp_path)
    assert res.claims[0]["id"] == "C8"
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert {"base", "base-no-wd", "no-wd rate=0.3"} <= set(summary.arm)


def test_iterative_magnitude_pruning_nests_masks(tmp_path):
    cfg = from_dict({**TINY, "ticket": {"step": 300, "rate": 0.75, "rounds": 2}, "seeds": [0]})
    run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    store = Store(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    final = summary[summary.arm == "ticket"].run_id.iloc[0]
    m = store.spec(final).init.mask
    assert m.rate == 0.75
    round1 = store.spec(m.source)  # the intermediate round, pruned to 1 - 0.25^(1/2) = 0.5
    assert round1.init.mask.rate == pytest.approx(0.5)
    assert store.spec(round1.init.mask.source).init.mask is None  # ... made from the dense run
    m1, m2 = store.mask(m.source), store.mask(final)
    n = sum(v.numel() for v in m1.values())
    assert sum(int((~v).sum()) for v in m1.values()) == int(0.5 * n + 0.5)
    assert sum(int((~v).sum()) for v in m2.values()) == int(0.75 * n + 0.5)
    assert all(bool((m1[k] | ~m2[k]).all()) for k in m1)  # every weight kept in round 2 was kept in round 1


def test_report_rebuild_and_readme_assets(tmp_path):
    from grokking_tickets.report.rebuild import rebuild

    _run("tickets", tmp_path)
    md, html = rebuild(tmp_path, tmp_path / "assets")
    claims = json.loads((tmp_path / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["C1", "C10"]  # the analyses add C10
    assert "data:image/png;base64," in html.read_text() and "C10" in md.read_text()
    assert (tmp_path / "assets" / "figures" / "tickets.png").exists()
    assert (tmp_path / "assets" / "figures" / "analysis-periodicity.png").exists()
    assert "| C1 |" in (tmp_path / "assets" / "claims.md").read_text()
