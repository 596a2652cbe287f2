"""Experiment trackers (trackers.py), with the real packages: a training command's metrics read
back from TensorBoard's event files equal the store's; W&B writes an offline run per run with the
run's settings and metrics; `export` mirrors a finished store after the fact."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from grokking_tickets import cli
from grokking_tickets.store import Store

TINY = ["task.p=11", "model.d_emb=16", "model.d_hidden=8", "train.steps=60", "train.eval_every=10",
        "train.checkpoint_every=20"]  # fmt: skip


def _train(out, *extra):
    args = ["train", "--out", str(out), "--no-progress", "--seeds", "0,1", *(x for s in TINY for x in ("--set", s))]
    assert cli.main([*args, *extra]) == 0
    return pd.read_csv(out / "summary.csv")


def _tensorboard_scalars(logdir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def _check_tensorboard(out, summary):
    store = Store(out)
    for rid in summary.run_id:
        met = store.run_metrics(rid)
        got = _tensorboard_scalars(out / "tensorboard" / rid, "test_acc")
        assert [s for s, _ in got] == met.step.tolist()
        assert [v for _, v in got] == pytest.approx(met.test_acc.tolist(), rel=1e-6)  # float32 in the events


def test_train_streams_to_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    summary = _train(tmp_path, "--track", "tensorboard")
    _check_tensorboard(tmp_path, summary)
    assert "GROKKING_TICKETS_TRACK" not in os.environ  # the choice ends with the command


def test_train_writes_offline_wandb_runs(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    summary = _train(tmp_path, "--track", "wandb")
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert {r.name.rsplit("-", 1)[1] for r in runs} == set(summary.run_id)  # W&B's run id is ours
    for r in runs:
        # the run's log, for `wandb sync`: protobuf records (W&B's Python package has no reader for
        # them since its core moved to Go), whose field names and config keys stand in the bytes
        log = b"".join(f.read_bytes() for f in r.glob("run-*.wandb"))
        for name in (b"test_acc", b"train_loss", b"l2_per_matrix", b"d_hidden", b"weight_decay"):
            assert name in log, name


def test_export_mirrors_a_finished_store(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    summary = _train(tmp_path)
    assert not (tmp_path / "tensorboard").exists()
    assert cli.main(["export", str(tmp_path), "--to", "tensorboard"]) == 0
    assert "exported 2 finished runs" in capsys.readouterr().out
    _check_tensorboard(tmp_path, summary)


@pytest.mark.parametrize("args, message", [
    (["train", "--track", "mlflow"], "unknown tracker 'mlflow'; valid trackers: tensorboard, wandb"),
    (["export", "nowhere", "--to", "tensorboard"], "nowhere is not a run store"),
])  # fmt: skip
def test_bad_tracker_input_is_one_line(args, message, tmp_path, capsys):
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err
