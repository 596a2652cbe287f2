"""One store, several processes: nothing trained twice, no row of a shared file lost."""

from __future__ import annotations

import json
import multiprocessing as mp
import subprocess
import sys
from pathlib import Path

SETS = ["task.p=23", "model.d_emb=32", "model.d_hidden=16", "train.steps=3000", "train.eval_every=100",
        "train.checkpoint_every=500"]  # fmt: skip


def test_two_train_commands_on_one_store_train_each_run_once(tmp_path):
    cmd = [sys.executable, "-m", "grokking_tickets", "train", "--out", str(tmp_path), "--seeds", "0,1,2"]
    cmd += [x for s in SETS for x in ("--set", s)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    err = "".join(e for _, e in outs)
    # one cohort of three runs, trained by exactly one of the two processes
    assert err.count("3 runs: 3,000/3,000 steps (100%)") == 1, err
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 3 and all((r / "done.json").exists() for r in runs)
    assert "being trained by another process" in err or err.count("3 runs:") == 10  # waited, or came after
    for out, _ in outs:  # both report the three seeds' grokking times
        assert "seed" in out and len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 3


def _merge_many(path: str, worker: int, n: int) -> None:
    from grokking_tickets.report.claims import merge_claims

    for i in range(n):
        merge_claims(Path(path), [{"id": f"C{100 * worker + i}", "holds": True}])


def _in_processes(target, path: Path, n: int = 4) -> None:
    """``target(path, worker, 25)`` in ``n`` real, separate processes at once."""
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=target, args=(str(path), w, 25)) for w in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)


def test_concurrent_claim_merges_lose_no_row(tmp_path):
    _in_processes(_merge_many, tmp_path / "claims.json")
    assert len(json.loads((tmp_path / "claims.json").read_text())) == 100


def _register_many(root: str, worker: int, n: int) -> None:
    from grokking_tickets.store import Store

    store = Store(root)
    for i in range(n):
        store.register("exp", [{"arm": f"a{worker}", "run_id": f"r{worker}-{i}", "seed": i}])


def test_concurrent_registrations_lose_no_row(tmp_path):
    _in_processes(_register_many, tmp_path)
    assert len(json.loads((tmp_path / "experiments" / "exp.json").read_text())) == 100


def test_an_experiment_holds_one_run_per_arm_and_seed_and_train_keeps_every_run(tmp_path):
    """A run whose id changed (new settings, or a fix that moved an id) replaces the earlier
    run of its arm and seed in an experiment, which would otherwise count that seed twice;
    the `train` command's registrations (a sweep of settings) accumulate."""
    from grokking_tickets.store import Store

    store = Store(tmp_path)
    store.register("exp", [{"arm": "a", "run_id": "old", "seed": 0}, {"arm": "a", "run_id": "r1", "seed": 1}], one_per_seed=True)
    store.register("exp", [{"arm": "a", "run_id": "new", "seed": 0}], one_per_seed=True)
    assert {(m["seed"], m["run_id"]) for m in store.members()} == {(0, "new"), (1, "r1")}
    store.register("train", [{"arm": "base", "run_id": "lr1", "seed": 0}])
    store.register("train", [{"arm": "base", "run_id": "lr2", "seed": 0}])
    assert sorted(m["run_id"] for m in store.members() if m["experiment"] == "train") == ["lr1", "lr2"]
