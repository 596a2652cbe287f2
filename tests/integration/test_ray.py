"""The Ray executor against the local one, on a local Ray cluster on this machine."""

import pandas as pd
import pytest
import torch
from conftest import train_dense_then_derived

from grokking_tickets import arithmetic
from grokking_tickets.arithmetic import denormals
from grokking_tickets.executors import RayExecutor

ray = pytest.importorskip("ray")

CFG = {
    "task": {"p": 13, "train_frac": 0.5},
    "model": {"d_emb": 24, "d_hidden": 12},
    "train": {"steps": 200, "eval_every": 50, "checkpoint_every": 100},
    "seeds": [0, 1],
}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _train(out, executor):
    """Dense runs, then made from them in the workers: tickets (one late-rewound) and controls."""
    return train_dense_then_derived(out, executor, CFG, CFG["seeds"])


def test_ray_executor_gives_the_local_numbers(local_ray, tmp_path):
    with denormals(keep=False):  # as the CLI trains (a worker takes the driver's mode)
        a = _train(tmp_path / "local", None)
        b = _train(tmp_path / "ray", RayExecutor())
    assert len(a) == 10 and (a.status == "ok").all()
    assert a.arithmetic.nunique() == 1 and a.arithmetic[0] != "unrecorded"  # recorded, the same in the workers
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "local" / "metrics.parquet"), pd.read_parquet(tmp_path / "ray" / "metrics.parquet")
    )


def test_a_ray_worker_computes_with_the_drivers_arithmetic(local_ray):
    """A worker process (its own interpreter) set up as the executor sets one up: the same MKL
    branch, ATen ISA, threads and denormal mode as the driver, so the same bits."""

    @ray.remote(num_cpus=1)
    def worker_identity(threads):
        from grokking_tickets import arithmetic
        from grokking_tickets.executors import worker_setup

        worker_setup(threads)
        return arithmetic.identity("cpu")

    with denormals(keep=False):
        driver = arithmetic.identity("cpu")
        worker = ray.get(worker_identity.remote(torch.get_num_threads()))
    assert arithmetic.differences(driver, worker) == []
    assert worker["mkl_branch"] == arithmetic.mkl_branch()


def test_missing_ray_is_a_clear_error(monkeypatch):
    import builtins

    from grokking_tickets import executors
    from grokking_tickets.errors import UserError

    real = builtins.__import__
    monkeypatch.setattr(
        builtins,
        "__import__",
        lambda n, *a, **k: (_ for _ in ()).throw(ImportError) if n == "ray" else real(n, *a, **k),
    )
    with pytest.raises(UserError, match=r"pip install 'grokking-tickets\[ray\]'"):
        executors._ray()
