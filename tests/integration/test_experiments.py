import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import check_tickets_experiment

from grokking_tickets.analysis.claims import VERDICTS
from grokking_tickets.config import apply_overrides, from_dict, load_preset
from grokking_tickets.errors import UserError
from grokking_tickets.experiments import Context, Dense, Experiment, NormMatched, PaI, Ticket
from grokking_tickets.experiments.accelerators import ARMS, checkpoint_after
from grokking_tickets.experiments.base import (
    QUICK_STOP_MARGIN,
    Grid,
    config_label,
    experiment_label,
    figure_of,
    stops_early,
)
from grokking_tickets.experiments.no_weight_decay import NoWeightDecay, critical_rates, gaps
from grokking_tickets.experiments.run import run_experiment
from grokking_tickets.experiments.ticket_timeline import TicketTimeline
from grokking_tickets.pruning.controls import lp_norm, norm_ratio
from grokking_tickets.pruning.masks import mask_from_scores
from grokking_tickets.pruning.scorers.magnitude import magnitude
from grokking_tickets.spec import InitSpec, MaskSpec, RunSpec
from grokking_tickets.store import Store


def test_critical_rate_is_the_largest_grokking_swept_rate():
    outcome = {
        0: {0.0: False, 0.75: True, 0.78: True, 0.81: False, 0.84: False},
        1: {0.0: True, 0.75: False, 0.78: False, 0.81: False, 0.84: False},  # only the dense run: no ticket groks
        2: {0.0: False, 0.75: True, 0.78: False, 0.81: True, 0.84: False},  # not monotone: 0.78 does not
    }
    crit = critical_rates(outcome)
    assert crit == {0: 0.78, 1: None, 2: 0.81}
    assert gaps(outcome, crit, (0.0, 0.75, 0.78, 0.81, 0.84)) == [2]


def _c8_store(tmp_path, seeds, crit):
    """A fake no-weight-decay summary (no training): the sweep groks up to each seed's ``crit``
    (seed 1 also fails at 0.78, below its critical rate), the dense base without weight decay never
    groks, and the weight-decay tickets at the critical rates are registered under their run ids."""
    cfg = from_dict({**TINY, "seeds": list(seeds)})
    ctx = Context(cfg, Store(tmp_path), torch.device("cpu"), "no-weight-decay", "quick", progress=False)
    exp = NoWeightDecay()
    arms = {"base": Dense("base")}
    rows = []

    def add(arm, seed, t_gen, run_id=None):
        rows.append({"run_id": run_id or f"{arm}/{seed}", "arm": arm, "seed": seed, "steps": 300, "t_gen": t_gen})

    for i, s in enumerate(seeds):
        add("base", s, 200)
        add("base-no-wd", s, None)
        for r in exp.rates(ctx):
            k = crit.get(s)
            groks = k is not None and 0 < r <= k and not (s == 1 and r == 0.78)
            add(f"no-wd rate={r}", s, 100 + 10 * i + round(100 * r) if groks else None)
        add("wd rate=0.81", s, 90 + i)
        if crit.get(s) is not None:  # twice as slow without weight decay would still pass "within 2x"
            add("critical-wd", s, 150 + 10 * i, Ticket("x", stops_early(ctx), rate=crit[s]).spec(ctx, s, arms).run_id)
            add("critical-wd", s, 5, "a stale run of an earlier grid")  # never read: not this rate's run id
    summary = pd.DataFrame(rows)
    summary["t_gen"] = summary.t_gen.astype("Int64")
    metrics = pd.DataFrame(
        [{"arm": r["arm"], "seed": r["seed"], "step": st, "test_acc": 0.5, "train_acc": 1.0} for r in rows for st in (0, 300)]
    )
    return ctx, exp, summary, metrics


def test_c8_judged_from_the_sweep_with_statistics(tmp_path):
    crit = {0: 0.84, 1: 0.81, 2: 0.9, 3: 0.87}
    ctx, exp, summary, metrics = _c8_store(tmp_path, (0, 1, 2, 3), crit)
    (row,) = exp.judge(ctx, summary, metrics, None)
    m = row["measured"]
    assert m["critical rate per seed"] == {"0": 0.84, "1": 0.81, "2": 0.9, "3": 0.87}
    heat = m["grokked without weight decay (seed: rates 0.75→0.9; + groks, . does not)"]
    assert heat == {"0": "++++..", "1": "+.+...", "2": "++++++", "3": "+++++."}
    assert m["seeds with a non-grokking rate below their critical rate"] == [1]
    assert m["critical rate at the top of the sweep (a lower bound)"] == [2]
    assert m["n"] == {"2 x critical-wd": 4, "critical-no-wd": 4, "base-no-wd": 4}
    assert m["per-seed t_gen"]["critical-no-wd"] == {"0": 184, "1": 191, "2": 210, "3": 217}
    assert m["per-seed t_gen"]["2 x critical-wd"] == {"0": 300, "1": None, "2": None, "3": None}  # capped: censored
    assert m["p"] == {"critical-no-wd < 2 x critical-wd": pytest.approx(1 / 70, abs=1e-4),
                      "critical-no-wd < base-no-wd": pytest.approx(1 / 70, abs=1e-4)}  # fmt: skip
    assert set(m["at k = 0.81: p"]) == {"no-wd < 2 x wd at k = 0.81", "no-wd at k = 0.81 < base-no-wd"}
    assert row["verdict"] == "holds" and row["holds"] is True
    exp.figure(ctx, summary, metrics)  # the heat-map draws from the same table
    # three seeds: the same pattern cannot reach p < 0.05
    ctx3, _, summary3, metrics3 = _c8_store(tmp_path / "three", (0, 1, 2), crit)
    (row3,) = exp.judge(ctx3, summary3, metrics3, None)
    assert row3["verdict"] == "not significant" and row3["holds"] is False
    # a seed without a critical rate: the direction fails
    ctx4, _, summary4, metrics4 = _c8_store(tmp_path / "none", (0, 1, 2, 3), {**crit, 3: None})
    (row4,) = exp.judge(ctx4, summary4, metrics4, None)
    assert row4["verdict"] == "does not hold" and row4["measured"]["critical rate per seed"]["3"] is None


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
    _run("tickets", tmp_path)
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
    c1 = claims[0]
    assert c1["verdict"] in VERDICTS and c1["holds"] == {"holds": True, "not run": None}.get(c1["verdict"], False)
    m = c1["measured"]
    assert m["n"] == {"base": 2, "ticket": 2} and set(m["per-seed t_gen"]["base"]) == {"0", "1"}
    assert set(m["p"]) == set(m["ci95"]) == set(m["effect"]) == {"ticket < base"}
    assert 0 < m["p"]["ticket < base"] <= 1 and "Mann–Whitney" in m["statistics"]
    assert (tmp_path / "figures" / "tickets.png").stat().st_size > 10_000
    # a second experiment in the same folder reuses the dense runs and merges its claims
    before = {p.name for p in (tmp_path / "runs").iterdir()}
    _run("norm-control", tmp_path)
    after = {p.name for p in (tmp_path / "runs").iterdir()}
    assert len(after - before) == 4  # only the two controls x two seeds are new
    assert [c["id"] for c in json.loads((tmp_path / "claims.json").read_text())] == ["C1", "C6", "C7"]


def test_norm_controls_match_the_tickets_norms(tmp_path):
    res = _run("norm-control", tmp_path)
    store = Store(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    # C7 also reports the norms in the authors' definition, computed here from metrics.parquet
    c7 = next(c for c in res.claims if c["id"] == "C7")["measured"]
    metrics = pd.read_parquet(tmp_path / "metrics.parquet").merge(summary[["run_id", "arm"]], on="run_id")
    later = metrics[metrics.step > 0].drop_duplicates(["run_id", "step"])
    expected = later.groupby("arm").l2_per_matrix.mean()
    got = c7["mean L2 per matrix over training (authors' definition)"]
    assert got == {a: round(float(expected[a]), 3) for a in got}
    assert isinstance(c7["direction holds in the authors' definition"], bool)
    # and the norms in a second window: from the last t_gen of any run on (every net generalized)
    if summary.t_gen.isna().any():
        assert c7["after every run's t_gen"] == "no common window: not every run generalized"
    else:
        start = int(summary.t_gen.max())
        late = metrics[metrics.step >= start].drop_duplicates(["run_id", "step"]).groupby("arm").l2.mean()
        got = c7[f"mean L2 from step {start:,} (every run generalized)"]
        assert got == {a: round(float(late[a]), 2) for a in got}
        assert isinstance(c7["direction holds after every run's t_gen"], bool)
    for seed in (0, 1):
        by_arm = {r.arm: r.run_id for r in summary[summary.seed == seed].itertuples()}
        ticket0 = store.theta0(by_arm["ticket"])
        for p in (1, 2):
            control0 = store.theta0(by_arm[f"l{p}-control"])
            assert lp_norm(control0, p) == pytest.approx(lp_norm(ticket0, p), rel=1e-5)


def test_c7_late_window_averages_from_the_last_t_gen():
    from grokking_tickets.experiments.norm_control import NAMES, _late_window

    summary = pd.DataFrame({"arm": NAMES, "t_gen": [100, 300, 200, 400]})
    steps = [0, 200, 400, 600]
    l1 = {"ticket": 1.0, "l1-control": 3.0, "l2-control": 4.0, "base": 5.0}
    rows = [{"arm": a, "step": t, "l1": l1[a] + (100 if t < 400 else t / 1000), "l2": 10 - l1[a]} for a in NAMES for t in steps]
    got = _late_window(summary, pd.DataFrame(rows), ("l1-control", "l2-control"))
    # from step 400 (the base's t_gen, the last): the means of steps 400 and 600 only
    assert got["mean L1 from step 400 (every run generalized)"] == {a: round(l1[a] + 0.5, 1) for a in NAMES}
    assert got["direction holds after every run's t_gen"] is True
    summary.loc[3, "t_gen"] = None
    assert _late_window(summary, pd.DataFrame(rows), ("l1-control",)) == {
        "after every run's t_gen": "no common window: not every run generalized"
    }


def test_c7_authors_definition_only_where_every_step_has_it():
    from grokking_tickets.experiments.norm_control import NAMES, _authors_definition

    l1 = {"ticket": 1.0, "l1-control": 3.0, "l2-control": 4.0, "base": 5.0}
    rows = [
        {"arm": a, "step": t, "l1_per_matrix": l1[a] + t / 100, "l2_per_matrix": 10 - l1[a]}
        for a in NAMES
        for t in (100, 200, 300)
    ]
    got = _authors_definition(pd.DataFrame(rows), ("l1-control", "l2-control"))
    assert got["mean L1 per matrix over training (authors' definition)"] == {a: l1[a] + 2.0 for a in NAMES}
    assert got["direction holds in the authors' definition"] is True
    # a run whose early rows lack the columns (an older store, resumed): no partial mean
    rows[0]["l1_per_matrix"] = float("nan")
    assert _authors_definition(pd.DataFrame(rows), ("l1-control",)) == {}
    assert _authors_definition(pd.DataFrame(rows).drop(columns=["l1_per_matrix", "l2_per_matrix"]), ()) == {}


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
    # at `quick` the tickets, read only for their t_gen, stop early; the base they are made from does not
    store = Store(tmp_path)
    stops = {arm: store.spec(r).train.stop_margin for arm, r in zip(pr.arm, pr.run_id)}
    assert stops.pop("base") == stops.pop("rate=0.0") == 0 and set(stops.values()) == {QUICK_STOP_MARGIN}
    masks = summary[(summary.experiment == "pai") & summary.arm.isin(["random", "snip"])].run_id
    assert {store.spec(r).train.stop_margin for r in masks} == {QUICK_STOP_MARGIN}


def test_an_arm_made_from_a_stopping_arm_is_refused(tmp_path):
    class Bad(Experiment):
        name = "bad"

        def arms(self, ctx):
            return [Dense("base", ("train.stop_margin=100",)), Ticket("ticket")]

    ctx = Context(from_dict(TINY), Store(tmp_path), torch.device("cpu"), "bad", "paper", progress=False)
    with pytest.raises(UserError, match="arm 'ticket' is made from the weights of arm 'base', whose runs stop early"):
        Bad().run(ctx)
    assert not list((tmp_path / "runs").glob("*"))  # refused before anything trained
    assert stops_early(ctx) == ()  # the paper scale trains every run to its budget


@pytest.mark.slow
def test_no_weight_decay_end_to_end(tmp_path):
    res = _run("no-weight-decay", tmp_path)
    assert res.claims[0]["id"] == "C8" and res.claims[0]["verdict"] in VERDICTS
    summary = pd.read_csv(tmp_path / "summary.csv")
    fine = {f"no-wd rate={r}" for r in (0.75, 0.78, 0.81, 0.84, 0.87, 0.9)}  # the quick sweep
    assert {"base", "base-no-wd", "no-wd rate=0.3", "wd rate=0.81"} | fine <= set(summary.arm)
    assert "critical-search" not in set(summary.arm)
    # the whole sweep trained in one stage: every (seed, rate) is there
    assert all(sorted(summary[summary.arm == a].seed) == [0, 1] for a in fine)


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
    from grokking_tickets.report.rebuild import README_BEGIN, README_END, rebuild

    _run("tickets", tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{README_BEGIN}\nold table\n{README_END}\n\nafter\n")
    md, html = rebuild(tmp_path, tmp_path / "assets", readme)
    summary = readme.read_text()
    assert "old table" not in summary and summary.endswith(f"{README_END}\n\nafter\n")
    assert "| [C1](" in summary and "/claims.md#c1) |" in summary and "| [P1](" in summary
    claims = json.loads((tmp_path / "claims.json").read_text())
    # the analyses add C10, P1, S1 (also under the authors' window) and S2
    assert [c["id"] for c in claims] == ["C1", "C10", "P1", "S1", "S1@authors-window", "S2"]
    assert "data:image/png;base64," in html.read_text() and "C10" in md.read_text()
    assert (tmp_path / "assets" / "figures" / "tickets.png").exists()
    assert (tmp_path / "assets" / "figures" / "analysis-periodicity.png").exists()
    table = (tmp_path / "assets" / "claims.md").read_text()
    assert "| C1 |" in table and "| S2 |" in table
    # the paper's claims under their own heading, the structure rows after them under theirs
    assert table.index("**the paper's claims**") < table.index("| C1 |") < table.index("| C10 |")
    assert table.index("| C10 |") < table.index("**structure over training (v3)**") < table.index("| S1 |")
    text = md.read_text()
    for stem in ("structure-mask-drift", "structure-fourier-entropy", "structure-graphs-training",
                 "structure-graphs-masks"):  # fmt: skip
        assert (tmp_path / "figures" / f"{stem}.png").exists() and text.count(f"figures/{stem}.png") == 1


def test_structure_analyses_on_a_small_store(tmp_path):
    from grokking_tickets.analysis.graphs import network_metrics
    from grokking_tickets.analysis.structure import LAYERS, RANDOM_DRAWS, comparison_masks, run_structure

    _run("tickets", tmp_path)
    res = run_structure(tmp_path)
    s1, s1_authors, s2 = res.claims
    assert (s1["id"], s2["id"]) == ("S1", "S2") and s1["verdict"] in VERDICTS and s2["verdict"] in VERDICTS
    assert s1_authors["id"] == "S1@authors-window" and s1_authors["protocol"] == "authors-window"
    store = Store(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    base = summary[summary.arm == "base"].set_index("seed").run_id
    ticket = summary[summary.arm == "ticket"].set_index("seed").run_id
    # mask drift: consecutive checkpoints of a 300-step run (δt = 2,000 does not fit), each a Jaccard
    # distance of the seed's ticket-rate magnitude masks
    drift = res.data["drift"]
    assert sorted(drift[drift.seed == 0].step) == [100, 200, 300]
    masks = {s: mask_from_scores(magnitude(store.weights(base[0], s)), 0.6) for s in (200, 300)}
    row = drift[(drift.seed == 0) & (drift.step == 300)].iloc[0]
    for n in LAYERS:
        a, b = masks[200][n], masks[300][n]
        assert row[n] == pytest.approx(1 - int((a & b).sum()) / int((a | b).sum()))
    # S2: the ticket's own mask, and RANDOM_DRAWS random masks per seed, all at the ticket's density
    cmp = res.data["masks"]
    assert (cmp.group == "random").sum() == RANDOM_DRAWS * 2
    assert {"ticket", "snip", "grasp", "synflow", "ticket@100", "ticket@200"} <= set(cmp["mask"])
    matched = cmp[(cmp.group == "random, layer-matched") & (cmp.seed == 0)]
    assert len(matched) == RANDOM_DRAWS
    masks0 = comparison_masks(store, base[0], ticket[0])
    own = {n: int(m.sum()) for n, m in store.mask(ticket[0]).items()}
    for kind, m in masks0.items():
        assert sum(int(v.sum()) for v in m.values()) == sum(own.values()), kind  # equal density
        if kind.startswith("random, layer-matched"):  # ... and the ticket's own count in every matrix
            assert {n: int(v.sum()) for n, v in m.items()} == own
    assert cmp.edges.nunique() == 1  # every kept weight is an edge: equal density, equal edge count
    assert cmp.nodes.max() <= 13 + 24 + 12 + 24 + 13  # tokens, embedding, hidden, embedding, logits
    t0 = cmp[(cmp.seed == 1) & (cmp["mask"] == "ticket")].iloc[0]
    mask = {n: m.numpy() for n, m in store.mask(ticket[1]).items()}
    theta0 = {n: w.numpy() for n, w in store.theta0(base[1]).items()}
    expected = network_metrics(mask, theta0, LAYERS)
    assert t0.avg_path_length == pytest.approx(expected["avg_path_length"])
    assert t0.weighted_spectral_gap == pytest.approx(expected["weighted_spectral_gap"])
    per_seed = s2["measured"]["per-seed average path length"]
    assert per_seed["ticket"]["1"] == round(expected["avg_path_length"], 4)
    assert len(per_seed["random"]) == RANDOM_DRAWS * 2
    assert [s["title"].split(":")[0] for s in res.sections] == ["Structure"] * 4


# -- configuration labels and claim ids -------------------------------------------------------------


@pytest.mark.parametrize(
    "sets, label",
    [
        ({}, ""),
        ({"model": {"name": "transformer"}}, "transformer"),
        ({"task": {"name": "mnist"}, "model": {"name": "mnist-mlp"}}, "mnist-mlp"),
        ({"task": {"op": "mul"}}, "mlp-mul"),
        ({"task": {"op": "sub"}, "model": {"name": "transformer"}}, "transformer-sub"),
        ({"task": {"p": 11}, "model": {"d_emb": 8}, "optim": {"weight_decay": 0.0}}, ""),  # settings do not label
    ],
)
def test_config_label(sets, label):
    cfg = from_dict(sets)
    assert config_label(cfg) == label
    assert experiment_label("tickets", cfg) == ("tickets" if not label else f"tickets@{label}")


@pytest.mark.parametrize(
    "cid, stem",
    [
        ("C1", "tickets"), ("C2", "tickets@transformer"), ("C3", "tickets@mnist-mlp"), ("C4", "ticket-timeline"),
        ("C6@transformer", "norm-control@transformer"), ("C9@mnist-mlp", "pai@mnist-mlp"),
        ("C1@mlp-mul", "tickets@mlp-mul"), ("C10", "analysis-periodicity"), ("C99", None),
        ("S1", "structure-mask-drift"), ("S2", "structure-graphs-masks"),
    ],
)  # fmt: skip
def test_claims_link_to_the_figure_they_are_judged_from(cid, stem):
    assert figure_of(cid) == stem


def test_another_operation_gets_its_own_claim_id_and_leaves_c1_alone(tiny_cfg, tmp_path):
    cfg = from_dict({"ticket": {"step": 60}, "seeds": [0, 1]}, tiny_cfg)
    first = run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert first.model_steps == 4 * cfg.train.steps  # base and ticket, two seeds: what reproduce accounts
    again = run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert again.model_steps == 0 and again.claims == first.claims  # runs in the store cost nothing
    c1 = json.loads((tmp_path / "claims.json").read_text())
    mul = apply_overrides(cfg, ["task.op=mul"])
    res = run_experiment("tickets", mul, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert [c["id"] for c in res.claims] == ["C1@mlp-mul"]
    claims = json.loads((tmp_path / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["C1", "C1@mlp-mul"] and claims[0] == c1[0]  # C1 untouched
    # another operation is judged by v3's statement ("on every task"), with what differs on that task
    assert claims[1]["statement"].startswith("On this task too") and claims[1]["stated_for"] == "every configuration"
    assert "multiply" in claims[1]["differs"] and "stated_for" not in claims[0]
    assert {p.stem for p in (tmp_path / "experiments").glob("*.json")} == {"tickets", "tickets@mlp-mul"}
    assert (tmp_path / "figures" / "tickets@mlp-mul.png").exists()
    check_tickets_experiment(tmp_path, "tickets@mlp-mul", "C1@mlp-mul", [0, 1], 0.6)
    store = Store(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    ops = {e: {store.spec(r).task.op for r in summary[summary.experiment == e].run_id} for e in set(summary.experiment)}
    assert ops == {"tickets": {"add"}, "tickets@mlp-mul": {"mul"}}


@pytest.mark.parametrize("preset, label", [("polynomial-mlp", "dense-mlp-polynomial"), ("parity-mlp", "dense-mlp-parity")])
def test_the_later_versions_tasks_run_tickets_under_their_own_claim_ids(preset, label, tmp_path):
    over = ["train.steps=60", "train.eval_every=10", "train.checkpoint_every=20", "ticket.step=60"]
    if preset == "parity-mlp":
        over += ["model.widths=[32]", "task.n_train=200", "task.n_test=200"]
    cfg = from_dict({"seeds": [0, 1]}, apply_overrides(load_preset(preset), over))
    res = run_experiment("tickets", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert [c["id"] for c in res.claims] == [f"C1@{label}"] and res.claims[0]["statement"].startswith("On this task too")
    assert (tmp_path / "figures" / f"tickets@{label}.png").exists()
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    if preset == "polynomial-mlp":  # R² in the accuracy columns: negative at θ0 is possible, 1 at most
        assert (metrics.train_acc <= 1).all() and metrics.train_acc.iloc[-1] > 0.5
    else:
        assert metrics.test_acc.between(0, 1).all()


# -- arm kinds --------------------------------------------------------------------------------------


def _ctx(cfg, tmp_path, experiment="test"):
    return Context(cfg, Store(tmp_path), torch.device("cpu"), experiment, "quick", progress=False)


def test_a_masked_arm_at_rate_zero_is_the_dense_run(tiny_cfg, tmp_path):
    ctx = _ctx(tiny_cfg, tmp_path)
    arms = {"base": Dense("base")}
    dense = Dense("base").spec(ctx, 0, arms)
    assert dense == RunSpec.dense(tiny_cfg, 0)
    assert Ticket("t", rate=0.0).spec(ctx, 0, arms) == dense
    assert PaI("r", "random", rate=0.0).spec(ctx, 0, arms) == dense
    assert Ticket("t", seed_rates={0: 0.0, 1: 0.3}).spec(ctx, 0, arms) == dense  # per seed
    assert Ticket("t", seed_rates={0: 0.0, 1: 0.3}).spec(ctx, 1, arms).init.mask.rate == 0.3
    # a ticket's overrides apply to its own run, not to the dense run it is made from
    nowd = Ticket("t", ("optim.weight_decay=0",)).spec(ctx, 0, arms)
    assert nowd.optim.weight_decay == 0 and nowd.init.mask.source == dense.run_id
    assert PaI("s", "snip").spec(ctx, 0, arms).init.mask == MaskSpec("snip", 0.6, "global")


def test_iterative_pruning_chain_rates_and_sources(tiny_cfg, tmp_path):
    cfg = apply_overrides(tiny_cfg, ["ticket.rounds=3", "ticket.rate=0.875", "ticket.step=60"])
    ctx = _ctx(cfg, tmp_path)
    arms = {"base": Dense("base")}
    arm = Ticket("t", ("optim.weight_decay=0",))
    chain = arm.chain(ctx, 0, arms)
    final = arm.spec(ctx, 0, arms)
    assert [c.init.mask.rate for c in chain] == [0.5, 0.75]  # 1 - 0.125^(1/3), 1 - 0.125^(2/3)
    sources = [c.init.mask.source for c in [*chain, final]]
    assert sources == [Dense("base").spec(ctx, 0, arms).run_id, chain[0].run_id, chain[1].run_id]
    assert final.init.mask.rate == 0.875 and final.optim.weight_decay == 0
    assert all(c.optim.weight_decay == 1.0 for c in chain)  # rounds train like the source
    assert Ticket("t", rate=0.875).chain(_ctx(tiny_cfg, tmp_path), 0, arms) == []  # one shot


def test_a_mistyped_pruning_method_fails_before_training(tiny_cfg, tmp_path):
    with pytest.raises(UserError, match="pruning-at-initialization method 'snipp'; valid methods: random, snip, grasp, synflow"):
        PaI("x", "snipp")
    with pytest.raises(UserError, match="valid methods: random, snip, grasp, synflow$"):
        PaI("x", "magnitude")  # that one needs a trained run: a Ticket

    class Typo(Experiment):  # not registered
        name = "typo"

        def arms(self, ctx):
            return [Dense("base"), PaI("snip", "snp")]

    with pytest.raises(UserError, match="valid methods"):
        Typo().run(_ctx(tiny_cfg, tmp_path))
    assert not list(tmp_path.glob("runs/*"))


def test_a_pruning_method_that_does_not_apply_to_the_model_fails_before_training(tiny_cfg, tmp_path):
    """SynFlow is not defined for softmax attention: an arm asking for it on the transformer is
    refused before the dense stage trains (the scorer declares which models it applies to)."""
    cfg = from_dict({"model": {"name": "transformer", "d_model": 8, "d_mlp": 8}}, tiny_cfg)
    with pytest.raises(UserError, match="pruning method 'synflow' does not apply to model 'transformer'"):
        _ctx(cfg, tmp_path).train_arms([Dense("base"), PaI("synflow", "synflow")])
    assert not list(tmp_path.glob("runs/*"))


def test_norm_matched_arm_scales_theta0_by_r_p(tiny_cfg, tmp_path):
    cfg = from_dict({"ticket": {"step": 60}, "seeds": [0]}, tiny_cfg)
    ctx = _ctx(cfg, tmp_path)
    ctx.train_arms([Dense("base")])
    arms = {"base": Dense("base")}
    store = Store(tmp_path)
    base_id = Dense("base").spec(ctx, 0, arms).run_id
    theta0 = store.theta0(base_id)
    mask = mask_from_scores(magnitude(store.weights(base_id, 60)), 0.6)  # the ticket's mask, made here
    for p in (1, 2):
        spec = NormMatched(f"l{p}", p).spec(ctx, 0, arms)
        assert spec.init.mask is None and spec.init.rewind_source is None
        assert spec.init.scale == norm_ratio(theta0, mask, p) and 0 < spec.init.scale < 1
        assert dataclasses.replace(spec, init=InitSpec()) == RunSpec.dense(cfg, 0)
    assert NormMatched("l1", 1).reads(ctx) == Ticket("l1").reads(ctx)


def test_a_ticket_step_the_dense_run_never_saves_is_refused_first(tiny_cfg, tmp_path):
    ctx = _ctx(tiny_cfg, tmp_path)  # ticket.step is 30,000; the dense run trains 60 steps
    with pytest.raises(UserError, match=r"arm 'ticket' of test \(ticket.step=30000\) needs the dense weights"):
        ctx.train_arms([Dense("base"), Ticket("ticket")])
    with pytest.raises(UserError, match=r"arm 'ticket@30' of test needs the dense weights at step 30,"):
        ctx.train_arms([Dense("base"), Ticket("ticket@30", step=30)])  # its step is in its name
    with pytest.raises(UserError, match="needs the dense arm 'base'"):
        ctx.train_arms([Ticket("ticket", step=60)])
    assert not list(tmp_path.glob("runs/*"))


def test_a_ticket_step_per_seed(tiny_cfg, tmp_path):
    """``seed_steps``: each seed's ticket from its dense run at its own step (the grokfast-tickets)."""
    ctx = _ctx(tiny_cfg, tmp_path)
    arms = {"base": Dense("base")}
    arm = Ticket("t", seed_steps={0: 20, 1: 40})
    assert [arm.spec(ctx, s, arms).init.mask.step for s in (0, 1)] == [20, 40]
    assert arm.spec(ctx, 1, arms).init.mask.source == Dense("base").spec(ctx, 1, arms).run_id
    assert [r.step for r in arm.reads(ctx)] == [20, 40]
    with pytest.raises(UserError, match="arm 't' has no ticket step for seed 2"):
        arm.spec(ctx, 2, arms)
    with pytest.raises(UserError, match="either step or seed_steps"):
        Ticket("t", step=20, seed_steps={0: 20})
    with pytest.raises(UserError, match=r"arm 'u' of test needs the dense weights at step 30,"):
        ctx.train_arms([Dense("base"), Ticket("u", seed_steps={0: 20, 1: 30, 2: 40})])  # 30 is off the grid
    assert not list(tmp_path.glob("runs/*"))


# -- the experiments without a test above ---------------------------------------------------------------


def test_ticket_timeline_end_to_end(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(TicketTimeline, "grids", Grid(paper=(20, 40, 60), quick=(20, 40, 60)))
    monkeypatch.setattr(TicketTimeline, "fixed_step", 20)
    cfg = from_dict({"seeds": [0, 1]}, tiny_cfg)
    res = run_experiment("ticket-timeline", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert {a: sorted(g.seed) for a, g in summary.groupby("arm")} == {
        a: [0, 1] for a in ("base", "ticket@20", "ticket@40", "ticket@60")
    }
    store = Store(tmp_path)
    base = set(summary[summary.arm == "base"].run_id)
    for r in summary[summary.arm != "base"].itertuples():
        m = store.spec(r.run_id).init.mask
        assert f"ticket@{m.step}" == r.arm and m.source in base and m.rate == 0.6
    (c4,) = res.claims
    assert c4["id"] == "C4"
    assert c4["measured"]["rule"].startswith("holds if every earlier ticket has a larger mean t_gen than ticket@60")
    acc = c4["measured"]["test acc at step 20"]
    metrics = pd.read_parquet(tmp_path / "metrics.parquet").merge(summary[["run_id", "arm"]], on="run_id")
    for arm, value in acc.items():
        assert value == round(metrics[(metrics.arm == arm) & (metrics.step == 20)].test_acc.mean(), 4)
    assert (tmp_path / "figures" / "ticket-timeline.png").exists()


def test_equal_params_end_to_end(tiny_cfg, tmp_path):
    cfg = from_dict({"ticket": {"step": 60}, "seeds": [0]}, tiny_cfg)
    res = run_experiment("equal-params", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    assert res.claims == []
    summary = pd.read_csv(tmp_path / "summary.csv")
    store = Store(tmp_path)
    spec = {r.arm: store.spec(r.run_id) for r in summary.itertuples()}
    n = sum(v.numel() for v in store.theta0(spec["base"].run_id).values())  # every weight: d_emb · (p + 2H + C)
    kept = n - int(0.6 * n + 0.5)
    narrow_n = sum(v.numel() for v in store.theta0(spec["narrow"].run_id).values())
    assert spec["narrow"].model.d_emb == res.notes["narrow d_emb"] < spec["base"].model.d_emb
    assert res.notes["ticket nonzero weights"] == kept
    assert abs(narrow_n - kept) <= n // spec["base"].model.d_emb  # within one unit of width
    assert spec["narrow"].init.mask is None and spec["narrow"].optim == spec["base"].optim
    assert {"base", "ticket", "narrow"} <= set(res.notes)
    # defined for the MLP only: refused on the transformer before anything trains
    other = tmp_path / "transformer"
    tr = apply_overrides(cfg, ["model.name=transformer", "model.d_model=8", "model.d_mlp=8"])
    with pytest.raises(UserError, match="'equal-params' is defined for model.name = mlp; got 'transformer'"):
        run_experiment("equal-params", tr, "quick", other, torch.device("cpu"), progress=False)
    assert not list(other.glob("runs/*"))


def test_wd_sweep_end_to_end(tiny_cfg, tmp_path):
    cfg = from_dict({"seeds": [0, 1]}, tiny_cfg)
    res = run_experiment("wd-sweep", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    summary = pd.read_csv(tmp_path / "summary.csv")
    wd = {a: sorted(set(g.weight_decay)) for a, g in summary.groupby("arm")}
    assert wd == {"wd=0.01": [0.01], "wd=0.1": [0.1], "wd=9.0": [9.0]}
    assert sorted(summary.seed) == [0, 0, 0, 1, 1, 1] and (summary.density == 1.0).all()
    assert res.claims == [] and list(res.notes) == ["wd=0.01", "wd=0.1", "wd=9.0"]
    assert not (tmp_path / "claims.json").exists()


def test_figures_leave_pyplot_and_the_backend_alone():
    """Importing the package (and what draws its figures) sets no matplotlib backend and loads
    no pyplot, so a notebook keeps its inline plots."""
    code = (
        "import matplotlib, sys; before = dict.__getitem__(matplotlib.rcParams, 'backend'); "
        "import grokking_tickets.experiments, grokking_tickets.report.rebuild, grokking_tickets.status; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
        "assert dict.__getitem__(matplotlib.rcParams, 'backend') == before, 'backend set'"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr


def test_accelerators_end_to_end(tmp_path):
    """Every arm for both seeds, with the filter where the arm says; each grokfast-ticket made from
    its own seed's Grokfast run at the first checkpoint at or after that run's t_gen; the base and
    the ticket are the `tickets` experiment's runs; the totals of A5 recomputed here from
    summary.csv. A net this small generalizes within 300 steps only on the mirrored pairs
    (pairs = "all") and to a low threshold (0.3, not part of a run's id), which is all this needs."""
    over = {
        "task": {**TINY["task"], "pairs": "all"},
        "optim": {"lr": 3e-3},
        "train": {**TINY["train"], "threshold": 0.3},
    }
    res = _run("accelerators", tmp_path, **over)
    summary = pd.read_csv(tmp_path / "summary.csv")
    rows = summary[summary.experiment == "accelerators"]
    seeds = lambda arm: sorted(rows[rows.arm == arm].seed)
    assert {a: seeds(a) for a in ARMS if a != "grokfast-ticket"} == {a: [0, 1] for a in ARMS if a != "grokfast-ticket"}
    store = Store(tmp_path)
    for r in rows.itertuples():
        filtered = r.arm in ("grokfast", "ticket+grokfast", "l2-control+grokfast")
        assert store.spec(r.run_id).optim.grad_filter == ("ema" if filtered else "none"), r.arm
    gf = {r.seed: r for r in rows[rows.arm == "grokfast"].itertuples()}
    grokked = sorted(s for s, r in gf.items() if not pd.isna(r.t_gen))
    assert grokked and seeds("grokfast-ticket") == grokked, "the test needs a Grokfast run that generalizes"
    for r in rows[rows.arm == "grokfast-ticket"].itertuples():
        mask = store.spec(r.run_id).init.mask
        t_gen = int(gf[r.seed].t_gen)
        assert mask.source == gf[r.seed].run_id and mask.method == "magnitude" and mask.rate == 0.6
        assert mask.step >= t_gen and (mask.step % 100 == 0 or mask.step == 300) and mask.step - t_gen < 100
        assert mask.step == checkpoint_after(t_gen, 100, 300)

    n_runs = len(list(tmp_path.glob("runs/*/done.json")))
    _run("tickets", tmp_path, **over)  # its base and ticket are already there
    assert len(list(tmp_path.glob("runs/*/done.json"))) == n_runs
    summary = pd.read_csv(tmp_path / "summary.csv")
    ids = lambda e, arm: set(summary[(summary.experiment == e) & (summary.arm == arm)].run_id)
    assert all(ids("tickets", arm) == ids("accelerators", arm) for arm in ("base", "ticket"))

    claims = {c["id"]: c for c in json.loads((tmp_path / "claims.json").read_text())}
    assert [c["id"] for c in res.claims] == ["A1", "A2", "A3", "A4", "A5"]
    assert all(claims[i]["measured"]["rule"].startswith("holds if") for i in ("A1", "A2", "A3", "A4", "A5"))

    def total(arm, find):
        a = rows[rows.arm == arm]
        return (a.t_gen.fillna(a.steps + 1) + find(a)).mean()

    ticket_total = total("ticket", lambda a: 300)
    gft_total = total("grokfast-ticket", lambda a: [store.spec(i).init.mask.step for i in a.run_id])
    measured = claims["A5"]["measured"]
    assert measured["ticket total model-steps"].lstrip("≥").startswith(f"{ticket_total:,.0f} ± ")
    assert measured["grokfast-ticket total model-steps"].lstrip("≥").startswith(f"{gft_total:,.0f} ± ")
    all_grokked = rows[rows.arm == "grokfast-ticket"].t_gen.notna().all() and grokked == [0, 1]
    direction = bool(all_grokked and gft_total < ticket_total)
    # two seeds against two: the one-sided Mann–Whitney p is at least 1/6, so the direction
    # alone can never make it hold
    assert claims["A5"]["verdict"] == ("not significant" if direction else "does not hold")
    assert all(claims[i]["verdict"] != "holds" for i in ("A1", "A2", "A3", "A4", "A5"))
    assert set(claims["A1"]["measured"]["p"]) == {"grokfast < base"} and "ci95" in claims["A3"]["measured"]
    assert (tmp_path / "figures" / "accelerators.png").exists()
    assert set(res.notes) >= {f"{a} total model-steps" for a in ARMS if a != "grokfast-ticket" or grokked}


def test_edge_popup_end_to_end(tmp_path):
    """Every arm for both seeds, each frozen on its own seed's base run at its step (θ_mem at
    2,000, θ0, θ_gen at ticket.step) with the authors' score optimizer; every matrix of every
    final supermask keeps exactly its count, of the source's weights unchanged; E1 judged from
    the metrics; the Jaccard index recomputed here from the store."""
    from grokking_tickets.experiments.edge_popup import EP_STEPS, MEM_STEP, SCORE_LR, SCORE_WD, EdgePopupExperiment
    from grokking_tickets.train.edge_popup import n_kept

    over = {
        "train": {"steps": MEM_STEP, "eval_every": 100, "checkpoint_every": 1000},
        "ticket": {"step": 1000, "rate": 0.6},
    }
    res = _run("edge-popup", tmp_path, **over)
    summary = pd.read_csv(tmp_path / "summary.csv")
    rows = summary[summary.experiment == "edge-popup"]
    arms = ["base", "popup-mem-0.4", "popup-init-0.4", "popup-gen-0.4"]  # quick: density 0.4 only
    assert {a: sorted(rows[rows.arm == a].seed) for a in arms} == {a: [0, 1] for a in arms}
    store = Store(tmp_path)
    base = {r.seed: r.run_id for r in rows[rows.arm == "base"].itertuples()}
    step_of = {"popup-mem-0.4": MEM_STEP, "popup-init-0.4": 0, "popup-gen-0.4": 1000}
    for r in rows[rows.arm != "base"].itertuples():
        spec = store.spec(r.run_id)
        ep = spec.init.edge_popup
        assert (ep.source, ep.step, ep.density) == (base[r.seed], step_of[r.arm], 0.4)
        assert (spec.optim.lr, spec.optim.beta2, spec.optim.weight_decay, spec.train.steps) == (SCORE_LR, 0.98, SCORE_WD, EP_STEPS)
        src = store.weights(ep.source, ep.step)
        for n, w in store.weights(r.run_id, EP_STEPS).items():
            kept = w != 0
            assert int(kept.sum()) == n_kept(0.4, w.numel()), (r.arm, n)
            assert torch.equal(w[kept], src[n][kept]), (r.arm, n)
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    mem_ids = rows[rows.arm == "popup-mem-0.4"].run_id
    acc = metrics[metrics.run_id.isin(mem_ids) & (metrics.step == EP_STEPS)].test_acc.mean()
    claims = {c["id"]: c for c in json.loads((tmp_path / "claims.json").read_text())}
    assert [c["id"] for c in res.claims] == ["E1", "E2"]
    assert claims["E1"]["holds"] == bool(acc >= 0.86)
    assert claims["E2"]["verdict"] in VERDICTS and claims["E2"]["measured"]["rule"].startswith("holds if")

    ctx = Context(from_dict({**TINY, **over}), store, torch.device("cpu"), "edge-popup")
    for r, j in zip(rows[rows.arm == "popup-mem-0.4"].sort_values("seed").itertuples(),
                    EdgePopupExperiment.jaccard(ctx, rows, "popup-mem-0.4")):  # fmt: skip
        popup = {n: w != 0 for n, w in store.weights(r.run_id, EP_STEPS).items()}
        ticket = mask_from_scores(magnitude(store.weights(base[r.seed], 1000)), 0.6, "global")
        inter = sum(int((popup[n] & ticket[n]).sum()) for n in popup)
        union = sum(int((popup[n] | ticket[n]).sum()) for n in popup)
        assert j["seed"] == r.seed and j["jaccard"] == pytest.approx(inter / union)
        assert 0 < j["chance"] < 1
    assert any("Jaccard" in k for k in res.notes) and (tmp_path / "figures" / "edge-popup.png").exists()


def test_edge_popup_on_the_authors_split_measures_the_leak(tmp_path):
    """``popup.split = "seed"`` (the authors' train_slth.py): each popup run draws its split from
    its own seed while its frozen weights trained on the configuration's fixed split, so its
    "test" pairs include pairs those weights trained on. E1 reports that share per seed, and it
    is what the two datasets give: none for seed 0 (the fixed split's seed), about the source's
    train_frac for the other seed. θ_mem, the score lr and budget come from ``popup.*``."""
    from grokking_tickets.tasks import build_dataset

    over = {"popup": {"mem_step": 100, "lr": 0.01, "steps": 100, "split": "seed"}}
    res = _run("edge-popup", tmp_path, **over)
    rows = pd.read_csv(tmp_path / "summary.csv")
    store = Store(tmp_path)
    base = {r.seed: store.spec(r.run_id) for r in rows[rows.arm == "base"].itertuples()}
    assert {s.split_seed for s in base.values()} == {0}
    leak = {}
    for r in rows[rows.arm == "popup-mem-0.4"].itertuples():
        spec = store.spec(r.run_id)
        assert (spec.split_seed, spec.init.edge_popup.step, spec.optim.lr, spec.train.steps) == (r.seed, 100, 0.01, 100)
        seen = {tuple(x) for x in build_dataset(base[r.seed].task, 0).train_x.tolist()}
        test = build_dataset(spec.task, r.seed).test_x.tolist()
        leak[r.seed] = sum(tuple(x) in seen for x in test) / len(test)
    assert leak[0] == 0 and 0.3 < leak[1] < 0.7  # TINY trains on half the pairs
    e1 = next(c for c in res.claims if c["id"] == "E1")["measured"]
    assert e1["test pairs the frozen weights trained on"] == (
        f"{np.mean(list(leak.values())):.2f}; per seed {({s: round(v, 4) for s, v in sorted(leak.items())})}"
    )
    assert "popup-mem-0.4 test acc at step 100" in e1


def test_training_ahead_shares_populations_across_experiments_and_changes_no_number(tmp_path, monkeypatch):
    """schedule.train_ahead (what reproduce does before a configuration's experiments): the
    runs of every experiment's first stage whose inputs are done train together, wave by wave
    (dense runs and pai's masks, then the tickets of those dense runs); the experiments then
    find them in the store, and every run's metrics equal those of the experiments run alone."""
    from grokking_tickets.experiments import EXPERIMENTS, schedule
    from grokking_tickets.experiments.base import plan_experiment

    cfg = from_dict(TINY)
    names = ("tickets", "pai", "norm-control")
    waves = []
    real = schedule.train_runs

    def recording(specs, *a, **kw):
        waves.append(sorted({(s.init.mask.method if s.init.mask else "dense", s.seed) for s in specs}))
        return real(specs, *a, **kw)

    monkeypatch.setattr(schedule, "train_runs", recording)
    store, cpu = Store(tmp_path / "ahead"), torch.device("cpu")
    planned = {r: s for n in names for r, s in plan_experiment(EXPERIMENTS[n], cfg, store, cpu, "quick").planned.items()}
    runs, steps = schedule.train_ahead(planned, store, cpu, progress=False)
    pai_methods = {m for m, _ in waves[0]} - {"dense"}
    assert len(waves) == 2 and pai_methods and {m for m, _ in waves[1]} == {"magnitude"}
    assert {s for _, s in waves[0]} == {0, 1} and steps == runs * cfg.train.steps
    trained = {}
    for n in names:
        trained[n] = _run(n, tmp_path / "ahead").model_steps
        _run(n, tmp_path / "alone")
    assert trained["tickets"] == trained["pai"] == 0  # all trained ahead
    assert trained["norm-control"] == 2 * 2 * cfg.train.steps  # its controls need the tickets' weights first
    ahead = pd.read_parquet(tmp_path / "ahead" / "metrics.parquet").sort_values(["run_id", "step"], ignore_index=True)
    alone = pd.read_parquet(tmp_path / "alone" / "metrics.parquet").sort_values(["run_id", "step"], ignore_index=True)
    pd.testing.assert_frame_equal(ahead, alone)


@pytest.mark.parametrize(
    ("preset", "sets", "full"),
    [
        ("mlp-modadd", [], True),  # C10, S1, S2 and P1 read the MLP's ticket
        ("mlp-modadd", ["task.op=sub"], False),  # a ≤ b pairs: a − b never wraps, P1 is not measured
        ("transformer-modadd", ["task.op=sub"], True),  # all ordered pairs: P1@transformer-sub reads it
        ("transformer-modadd", [], True),  # P1@transformer
        ("mlp-modadd", ["task.op=mul"], False),  # C1@mlp-mul reads its t_gen only
        ("mnist-mlp", [], False),
        ("parity-mlp", [], False),
    ],
)
def test_tickets_ticket_stops_early_where_no_analysis_reads_its_weights(tmp_path, preset, sets, full):
    from grokking_tickets.experiments.tickets import Tickets

    cfg = apply_overrides(load_preset(preset), sets)
    for scale in ("quick", "paper"):
        ctx = Context(cfg, Store(tmp_path), torch.device("cpu"), experiment_label("tickets", cfg), scale, progress=False)
        base, ticket = Tickets().arms(ctx)
        assert base.overrides == ()  # the ticket is made from it
        stops = scale == "quick" and not full
        assert ticket.overrides == ((f"train.stop_margin={QUICK_STOP_MARGIN}",) if stops else ())
