"""`sensitivity`: claims re-judged under protocol variants (nothing trained, nothing written) and
under settings with runs of their own (filed apart from the configuration's experiments)."""

from __future__ import annotations

import json
import re

import pytest
import torch
from test_experiments import TINY

from grokking_tickets import cli
from grokking_tickets.analysis.claims import verdict_of
from grokking_tickets.analysis.tables import build_tables
from grokking_tickets.config import from_dict
from grokking_tickets.experiments.sensitivity import VARIANTS, classify, sensitivity
from grokking_tickets.report.table import cells
from grokking_tickets.store import Store


@pytest.mark.parametrize(
    "cells, expected",
    [
        ({"as run": "holds", "t99": "not significant", "p97": "not run"}, ("robust", ["as run", "t99"])),
        ({"as run": "not significant", "t99": "does not hold"}, ("fragile", ["as run"])),
        ({"as run": "does not hold", "t99": "does not hold", "p97": "not run"}, ("fails", [])),
        ({"as run": "direction met", "t99": "not run"}, ("undetermined", ["as run"])),
    ],
)
def test_classification_counts_the_direction_in_every_judged_variant(cells, expected):
    assert classify(cells) == expected


def test_rejudged_variants_change_nothing_and_trained_ones_are_filed_apart(tmp_path):
    cfg = from_dict(TINY)
    out = tmp_path / "s"
    r = sensitivity(cfg, "quick", out, torch.device("cpu"), ("tickets",), ("t99", "p59"), progress=False)
    store = Store(out)
    # what the configuration's own tables and claims say is what `run tickets` wrote, at its threshold
    summary = build_tables(store, cfg.train.threshold)[0]
    assert sorted(summary.experiment.unique()) == ["tickets", "tickets~p59"]
    on_disk = (out / "summary.csv").read_text()
    assert "tickets~p59" not in on_disk  # the variant's runs never enter summary.csv
    claims = json.loads((out / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["C1"]  # C1@p59 and C1@t99 stay in sensitivity.json
    row = {g["claim"]: g for g in r["grid"]}["C1"]
    assert set(row) >= {"as run", "t99", "p59", "classification"}
    assert row["p59"] != "not run" and row["t99"] != "not run"
    # the 99% judgement is the as-run one at 99%: t_gen at 99% is never earlier than at 95%
    t95 = build_tables(store, 0.95, {"tickets"})[0].set_index(["arm", "seed"]).t_gen
    t99 = build_tables(store, 0.99, {"tickets"})[0].set_index(["arm", "seed"]).t_gen
    assert ((t99.isna()) | (t95.notna() & (t99 >= t95))).all()
    saved = json.loads((out / "sensitivity.json").read_text())
    assert saved["grid"] == r["grid"]
    assert [c["id"] for c in saved["claims"]["p59"]] == ["C1@p59"]  # the numbers behind each cell


def test_the_authors_protocol_variants_join_the_claims_table_under_their_protocol(tmp_path):
    cfg = from_dict(TINY)
    out = tmp_path / "s"
    sensitivity(cfg, "quick", out, torch.device("cpu"), ("tickets",), ("split-seed", "p59"), progress=False)
    claims = {c["id"]: c for c in json.loads((out / "claims.json").read_text())}
    assert sorted(claims) == ["C1", "C1@split-seed"]  # p59 is not the authors' setting: sensitivity.json only
    row = claims["C1@split-seed"]
    assert row["protocol"].startswith("authors' split-seed: ") and "bd705c8" in row["protocol"]
    assert claims["C1"].get("protocol", "ours") == "ours"
    assert cells(row)["paper"] == claims["C1"]["paper"]  # the paper's number beside the authors' protocol
    assert cells(row)["verdict"] == verdict_of(row) != "not run"


def test_every_authors_protocol_variant_cites_a_commit():
    for v in (VARIANTS[n] for n in VARIANTS.names()):
        if v.protocol:
            assert re.search(r"\bat [0-9a-f]{7,40}\b", v.protocol), f"{v.name}: cite the authors' file and commit"


def test_no_train_judges_the_store_as_it_is_and_writes_only_the_grid(tmp_path, capsys):
    tiny = ["--set", "task.p=13", "--set", "train.steps=300", "--set", "train.eval_every=50",
            "--set", "train.checkpoint_every=100", "--set", "ticket.step=300", "--set", "model.d_emb=24",
            "--set", "model.d_hidden=12", "--seeds", "0", "--out", str(tmp_path), "--no-progress"]  # fmt: skip
    assert cli.main(["sensitivity", "--scale", "quick", "--experiments", "tickets", "--variants", "t90", *tiny]) == 0
    outputs = ("sensitivity.json", "sensitivity.png")  # the grid and its figure: what sensitivity writes
    written = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and p.name not in outputs}
    args = ["sensitivity", "--scale", "quick", "--experiments", "tickets", "--variants", "t99,p59", "--no-train", *tiny]
    assert cli.main(args) == 0
    grid = json.loads((tmp_path / "sensitivity.json").read_text())["grid"]
    assert grid[0]["claim"] == "C1" and grid[0]["as run"] != "not run" and grid[0]["t99"] != "not run"
    assert grid[0]["p59"] == "not run"  # its runs were never trained
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and p.name not in outputs}
    assert after == written  # nothing trained, filed or redrawn


def test_a_variant_that_changes_nothing_is_left_out_of_the_grid(tmp_path):
    # t95 on a configuration judged at 95% would repeat "as run" and count twice; at 85% it is a column
    at95 = from_dict({**TINY, "train": {**TINY.get("train", {}), "threshold": 0.95}})
    r = sensitivity(at95, "quick", tmp_path / "a", torch.device("cpu"), ("tickets",), ("t85", "t95"), train=False, progress=False)
    assert list(r["variants"]) == ["as run", "t85"]
    at85 = from_dict({"train": {"threshold": 0.85}}, at95)
    r = sensitivity(at85, "quick", tmp_path / "b", torch.device("cpu"), ("tickets",), ("t85", "t95"), train=False, progress=False)
    assert list(r["variants"]) == ["as run", "t95"]


def test_an_unknown_variant_is_refused_before_anything_trains(tmp_path, capsys):
    assert cli.main(["sensitivity", "--variants", "p7", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown variant 'p7'" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_the_report_shows_the_grid(tmp_path):
    from grokking_tickets.report.rebuild import rebuild

    cfg = from_dict(TINY)
    sensitivity(cfg, "quick", tmp_path, torch.device("cpu"), ("tickets",), ("t90", "t99"), progress=False)
    md, _ = rebuild(tmp_path)
    text = md.read_text()
    assert "Sensitivity of the claims" in text and "t99: t_mem / t_gen at 99% accuracy" in text
    assert "classification" in text


def test_a_variant_for_another_model_is_left_out_of_the_default_grid_and_refused_by_name(tmp_path, capsys):
    assert VARIANTS["grokfast-protocol"].models == ("transformer",)
    r = sensitivity(from_dict(TINY), "quick", tmp_path / "a", torch.device("cpu"), ("tickets",), train=False, progress=False)
    assert "grokfast-protocol" not in r["variants"] and "t99" in r["variants"]  # the MLP's default grid
    args = ["sensitivity", "--variants", "grokfast-protocol", "--no-train", "--out", str(tmp_path / "b")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "variant grokfast-protocol is for model.name = transformer; got 'mlp'" in err and "Traceback" not in err
