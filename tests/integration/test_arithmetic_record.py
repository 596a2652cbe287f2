"""The run record's arithmetic (arithmetic.identity): written with every run, carried into
summary.csv, and a comparison that mixes arithmetics named by `status` and the report, never
silent. Another machine is simulated by rewriting one run's recorded identity."""

from __future__ import annotations

import json

import pandas as pd
from conftest import crash_at_step

from grokking_tickets import arithmetic, cli, cohort
from grokking_tickets.analysis.tables import arithmetic_mixes

TINY = ["task.p=11", "model.d_emb=16", "model.d_hidden=8", "train.steps=60", "train.eval_every=10",
        "train.checkpoint_every=20"]  # fmt: skip


def _args(command, out, *extra):
    return [*command, "--out", str(out), "--no-progress", "--seeds", "0,1", *(x for s in TINY for x in ("--set", s)), *extra]


def _runs(out):
    return sorted(p for p in (out / "runs").iterdir() if p.is_dir())


def test_every_run_records_the_arithmetic_that_trained_it(tmp_path):
    assert cli.main(_args(["run", "tickets"], tmp_path, "--set", "ticket.step=60")) == 0
    want = arithmetic.identity("cpu")
    for run in _runs(tmp_path):
        for name in ("spec.json", "done.json"):
            got = json.loads((run / name).read_text())["arithmetic"]
            assert arithmetic.key(got) == arithmetic.key({**want, "denormals": "flush"}), (run.name, name)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary.arithmetic.nunique() == 1 and arithmetic_mixes(summary) == {}


def test_a_comparison_of_two_arithmetics_is_named_by_status_and_the_report(tmp_path, capsys):
    assert cli.main(_args(["run", "tickets"], tmp_path, "--set", "ticket.step=60")) == 0
    # one ticket "trained on another machine": MKL's AUTO branch on an AMD CPU
    ticket = json.loads((tmp_path / "experiments" / "tickets.json").read_text())
    ticket = next(r["run_id"] for r in ticket if r["arm"] == "ticket")
    done_path = tmp_path / "runs" / ticket / "done.json"
    done = json.loads(done_path.read_text())
    done["arithmetic"] = {**done["arithmetic"], "mkl_branch": "AUTO=AVX2 on AuthenticAMD AMD EPYC 9R14"}
    done_path.write_text(json.dumps(done))

    capsys.readouterr()
    assert cli.main(["status", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "warning: tickets compares runs of 2 arithmetics" in text and "AuthenticAMD" in text

    assert cli.main(["report", str(tmp_path)]) == 0
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(arithmetic_mixes(summary)) == {"tickets"}
    report = (tmp_path / "report.md").read_text()
    assert "**Warning:** these experiments compare runs computed with more than one arithmetic: tickets" in report
    assert "AuthenticAMD" in report.split("## Arithmetic", 1)[1]


def test_a_run_resumed_under_another_arithmetic_keeps_both(tmp_path, monkeypatch):
    from grokking_tickets.train import population

    crash_at_step(monkeypatch, 47, lambda: cli.main(_args(["train"], tmp_path)))
    other = {**arithmetic.identity("cpu"), "threads": 7}
    monkeypatch.setattr(cohort, "identity", lambda device: other)
    assert population.Population.step  # the crash patch is undone
    assert cli.main(_args(["train"], tmp_path)) == 0
    for run in _runs(tmp_path):
        done = json.loads((run / "done.json").read_text())
        assert done["arithmetic"]["threads"] == 7 and done["arithmetic_began"]["threads"] != 7
    labels = pd.read_csv(tmp_path / "summary.csv").arithmetic
    assert all(label.startswith("mixed:") for label in labels)
