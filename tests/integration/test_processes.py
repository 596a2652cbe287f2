"""The processes executor (one single-threaded worker per core) against the local one at one thread."""

import pandas as pd
import pytest
import torch
from conftest import train_dense_then_derived

from grokking_tickets.arithmetic import denormals
from grokking_tickets.config import from_dict
from grokking_tickets.errors import UserError
from grokking_tickets.executors import LocalExecutor, ProcessExecutor, make_executor
from grokking_tickets.runner import cohort_jobs, train_runs
from grokking_tickets.spec import InitSpec, MaskSpec, RunSpec
from grokking_tickets.store import Store

CFG = {
    "task": {"p": 13, "train_frac": 0.5},
    "model": {"d_emb": 24, "d_hidden": 12},
    "train": {"steps": 200, "eval_every": 50, "checkpoint_every": 100},
    "seeds": [0, 1, 2],
}


def _train(out, executor):
    """Dense runs, then, in the workers, runs made from their weights (conftest)."""
    return train_dense_then_derived(out, executor, CFG, CFG["seeds"])


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_worker_processes_give_the_local_numbers_at_one_thread(tmp_path, one_thread):
    executor = ProcessExecutor(workers=2)
    try:
        with denormals(keep=False):  # as the CLI trains (a task carries the driver's mode)
            a = _train(tmp_path / "local", LocalExecutor())
            b = _train(tmp_path / "processes", executor)
    finally:
        executor.close()
    assert len(a) == 15 and (a.status == "ok").all()
    assert a.arithmetic.nunique() == 1 and a.arithmetic[0] != "unrecorded"
    pd.testing.assert_frame_equal(a, b)  # the arithmetic column too: the workers compute with one thread
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "local" / "metrics.parquet"),
        pd.read_parquet(tmp_path / "processes" / "metrics.parquet"),
    )


def test_a_failing_job_raises_in_the_driver(tmp_path):
    """A worker's error reaches the caller as it was raised (the run stays unfinished, to be trained again)."""
    spec = RunSpec.dense(from_dict(CFG), 0)
    bad = RunSpec(spec.task, spec.model, spec.optim, spec.train, 0, InitSpec(mask=MaskSpec("magnitude", 0.5, "global", "0" * 16, 100)))
    executor = ProcessExecutor(workers=1)
    try:
        with pytest.raises(UserError, match="has no weights at step 100"):
            train_runs([bad], Store(tmp_path), torch.device("cpu"), progress=False, executor=executor)
    finally:
        executor.close()
    assert not Store(tmp_path).is_done(bad.run_id)


def test_jobs_are_split_to_keep_every_worker_busy(tmp_path):
    store, cpu = Store(tmp_path), torch.device("cpu")
    specs = [RunSpec.dense(from_dict(CFG), s) for s in range(5)]
    assert [len(j.members) for j in cohort_jobs(specs, store, cpu, None)] == [5]
    assert [len(j.members) for j in cohort_jobs(specs, store, cpu, None, parallel=2)] == [3, 2]
    assert sorted(len(j.members) for j in cohort_jobs(specs, store, cpu, None, parallel=4)) == [1, 1, 1, 2]
    assert [len(j.members) for j in cohort_jobs(specs[:1], store, cpu, None, parallel=4)] == [1]
    assert cohort_jobs([], store, cpu, None, parallel=4) == []


def test_bad_executor_options_are_clear_errors():
    with pytest.raises(UserError, match="--workers must be at least 1"):
        make_executor("processes", workers=0)
    with pytest.raises(UserError, match="--workers is for --executor processes"):
        make_executor("local", workers=2)
    assert make_executor("processes", workers=3).parallel == 3
    with pytest.raises(UserError, match="--executor processes trains on the CPU"):
        make_executor("processes", device=torch.device("cuda"))  # refused before anything starts


def test_a_worker_ends_with_its_driver():
    """Killed drivers leave no worker training runs whose locks died with them: a process set up
    as a worker of a parent that is not its own (its parent is gone) exits within a second."""
    import subprocess
    import sys

    code = "from grokking_tickets.executors import _exit_with; import time; _exit_with(1, 0.1); time.sleep(30)"
    r = subprocess.run([sys.executable, "-c", code], timeout=20, check=False)
    assert r.returncode == 1
