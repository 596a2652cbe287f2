"""The Ray executor against the local one, on a local Ray cluster on this machine."""

import pandas as pd
import pytest
import torch

from grokking_tickets.config import from_dict
from grokking_tickets.experiments.run import run_experiment

ray = pytest.importorskip("ray")

CFG = {
    "task": {"p": 13, "train_frac": 0.5},
    "model": {"d_emb": 24, "d_hidden": 12},
    "train": {"steps": 200, "eval_every": 50, "checkpoint_every": 100},
    "ticket": {"step": 200},
    "seeds": [0, 1],
}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_executor_gives_the_local_numbers(local_ray, tmp_path):
    cfg = from_dict(CFG)
    run_experiment("norm-control", cfg, "quick", tmp_path / "local", torch.device("cpu"), progress=False)
    run_experiment("norm-control", cfg, "quick", tmp_path / "ray", torch.device("cpu"), progress=False, executor="ray")
    a = pd.read_csv(tmp_path / "local" / "summary.csv")
    b = pd.read_csv(tmp_path / "ray" / "summary.csv")
    assert len(a) == 8
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "local" / "metrics.parquet"), pd.read_parquet(tmp_path / "ray" / "metrics.parquet")
    )


def test_missing_ray_is_a_clear_error(monkeypatch):
    import builtins

    from grokking_tickets import executors
    from grokking_tickets.errors import UserError

    real = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda n, *a, **k: (_ for _ in ()).throw(ImportError) if n == "ray" else real(n, *a, **k))
    with pytest.raises(UserError, match=r"pip install 'grokking-tickets\[ray\]'"):
        executors._ray()
