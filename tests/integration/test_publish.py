"""`publish`: a store's evidence without weights, from which the report is rebuilt and every
claim re-judged (a norm-matched control included, whose spec needs weights to rebuild), and
whose files are checked against the sha256 recorded when it was published."""

from __future__ import annotations

import json

import pytest
import torch
from test_experiments import TINY  # the tiny MLP every experiment test trains

from grokking_tickets.cli import main
from grokking_tickets.config import from_dict
from grokking_tickets.errors import UserError
from grokking_tickets.experiments.run import run_experiment
from grokking_tickets.experiments.sensitivity import sensitivity
from grokking_tickets.publish import check, publish
from grokking_tickets.report.rebuild import rebuild
from grokking_tickets.store import PUBLISHED, Store


def _grid(result):
    return {row["claim"]: {k: v for k, v in row.items() if k != "claim"} for row in result["grid"]}


def test_a_published_folder_rebuilds_the_report_and_rejudges_every_claim(tmp_path):
    cfg = from_dict(TINY)
    store = tmp_path / "store"
    for name in ("tickets", "norm-control"):
        run_experiment(name, cfg, "quick", store, torch.device("cpu"), progress=False)
    original = sensitivity(cfg, "quick", store, "cpu", ("tickets", "norm-control"), ("t90",), train=False, progress=False)
    claims = json.loads((store / "claims.json").read_text())

    out = tmp_path / "results"
    marker = publish(store, out)
    assert marker["runs"] == len({m["run_id"] for m in Store(store).members()})
    assert not list(out.rglob("*.safetensors"))  # no weights, θ0, masks or states
    assert Store(out).published and check(out) == []

    # every claim re-judged from the published metrics: the same grid, the norm-matched control's
    # runs found through the experiment's registration (its spec cannot be rebuilt without weights)
    again = sensitivity(cfg, "quick", out, "cpu", ("tickets", "norm-control"), ("t90",), train=False, progress=False)
    assert _grid(again) == _grid(original)
    assert {"C1", "C6", "C7"} <= set(_grid(again)) and all(v != "not run" for v in _grid(again)["C6"].values())

    # the report: the analyses that read weights say why they did not run, the claims are kept
    rebuild(out)
    assert json.loads((out / "claims.json").read_text()) == claims
    report = (out / "report.md").read_text()
    assert "Analyses not run" in report and "holds no weights" in report
    # what the re-judging and the report rewrote (sensitivity.json, summary.csv, claims.json) came
    # out byte for byte as published; what the report adds is not evidence
    assert check(out) == []

    # a changed metric is caught
    metrics = next(out.glob("runs/*/metrics.parquet"))
    metrics.write_bytes(metrics.read_bytes() + b"\0")
    (problem,) = check(out)
    assert problem.startswith("changed: runs/") and problem.endswith("metrics.parquet")
    with pytest.raises(SystemExit) as e:
        main(["publish", "--check", str(out)])
    assert e.value.code == 1


def test_publish_refuses_what_it_should(tmp_path):
    with pytest.raises(UserError, match="not a run store"):
        publish(tmp_path / "nothing", tmp_path / "out")
    cfg = from_dict({**TINY, "seeds": [0]})
    store = tmp_path / "store"
    run_experiment("tickets", cfg, "quick", store, torch.device("cpu"), progress=False)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a published folder"):
        publish(store, tmp_path / "busy")
    publish(store, tmp_path / "out")
    publish(store, tmp_path / "out")  # an earlier publication is replaced
    with pytest.raises(UserError, match="itself a published folder"):
        publish(tmp_path / "out", tmp_path / "again")
    assert (tmp_path / "out" / PUBLISHED).exists()


def test_publish_leaves_out_an_experiment_still_training(tmp_path):
    """--experiments: an experiment that has only registered its first stage (prune-rate while it
    trains) stays out, with its registration, its summary rows and its figure; the rest is as a
    full publication has it, and the report rebuilds it byte for byte."""
    cfg = from_dict(TINY)
    store = tmp_path / "store"
    for name in ("tickets", "equal-params"):
        run_experiment(name, cfg, "quick", store, torch.device("cpu"), progress=False)
    # the store's own summary.csv may predate its last runs (a sensitivity variant's training does
    # not rewrite it): publish builds its own from the runs it publishes
    stale = (store / "summary.csv").read_text().splitlines(keepends=True)[:2]
    (store / "summary.csv").write_text("".join(stale))
    out = tmp_path / "results"
    marker = publish(store, out, ["tickets"])
    assert marker["experiments"] == ["tickets"]
    assert not (out / "experiments" / "equal-params.json").exists() and not (out / "figures" / "equal-params.png").exists()
    assert (out / "figures" / "tickets.png").exists()
    summary = (out / "summary.csv").read_text()
    assert "equal-params" not in summary and summary.count("\n") == 1 + 4  # header, base and ticket of two seeds
    rebuild(out)
    assert check(out) == []
    with pytest.raises(UserError, match="files no experiment pai"):
        publish(store, tmp_path / "other", ["pai"])
