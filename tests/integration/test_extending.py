"""docs/extending.md's examples work as written: each Python block is executed as the module its
first line names (a comment with its path under src/), then the new entries are used: a task and
a model train a run, a pruning method masks a ticket, the experiment runs and judges its claim,
the analysis reads the store. Every entry is removed from its registry afterwards."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from grokking_tickets.analysis.registry import ANALYSES
from grokking_tickets.config import from_dict
from grokking_tickets.experiments import EXPERIMENTS
from grokking_tickets.experiments.run import run_experiment
from grokking_tickets.models import MODELS
from grokking_tickets.pruning import SCORERS
from grokking_tickets.runner import train_runs
from grokking_tickets.spec import InitSpec, MaskSpec, RunSpec
from grokking_tickets.store import Store
from grokking_tickets.tasks import TASKS

PAGE = Path(__file__).parents[2] / "docs" / "extending.md"
BLOCK = re.compile(r"```python\n# src/(grokking_tickets/[\w/]+)\.py\n(.*?)```", re.DOTALL)


def _blocks() -> dict[str, str]:
    """module name -> source, for every example that names its file."""
    return {path.replace("/", "."): code for path, code in BLOCK.findall(PAGE.read_text())}


def _load(name: str, code: str) -> None:
    """Execute ``code`` as module ``name`` (its relative imports resolve in its package)."""
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = name.rpartition(".")[0]
    sys.modules[name] = module
    exec(compile(code, f"docs/extending.md:{name}", "exec"), module.__dict__)  # noqa: S102 (the page's own code)


@pytest.fixture
def examples():
    blocks = _blocks()
    registries = [(TASKS, "my-task"), (MODELS, "my-model"), (SCORERS, "my-method"), (EXPERIMENTS, "my-experiment"),
                  (ANALYSES, "my_analysis")]  # fmt: skip
    try:
        for name, code in blocks.items():
            _load(name, code)
        yield blocks
    finally:
        for registry, key in registries:
            registry._entries.pop(key, None)  # the page's entries must not leak into other tests
        for name in blocks:
            sys.modules.pop(name, None)


def test_the_page_has_an_example_of_each_kind(examples):
    kinds = {name.split(".")[1] for name in examples}
    assert kinds == {"pruning", "tasks", "models", "experiments", "analysis"}, kinds


def test_a_new_task_and_model_train_and_a_new_method_prunes(examples, tmp_path):
    cfg = from_dict({
        "task": {"name": "my-task", "n_train": 64, "n_test": 64, "n_features": 8},
        "model": {"name": "my-model"}, "optim": {"lr": 0.05, "weight_decay": 0.0},
        "train": {"steps": 50, "eval_every": 10, "checkpoint_every": 50},
    })  # fmt: skip
    store = Store(tmp_path)
    dense = RunSpec.dense(cfg, 0)
    masked = RunSpec(cfg.task, cfg.model, cfg.optim, cfg.train, 0, InitSpec(mask=MaskSpec("my-method", 0.5)))
    train_runs([dense, masked], store, torch.device("cpu"), progress=False)
    metrics = store.run_metrics(dense.run_id)
    assert metrics.train_acc.iloc[-1] > 0.9  # the sign of one feature is learnable by a linear model
    theta0, mask = store.theta0(dense.run_id)["W"], store.mask(masked.run_id)["W"]
    assert int(mask.sum()) == theta0.numel() // 2
    kept_min = theta0.abs()[mask].min()
    assert bool((theta0.abs()[~mask] <= kept_min).all())  # "my-method" kept the largest |θ0|


def test_a_new_experiment_and_analysis_run_and_judge(examples, tmp_path):
    cfg = from_dict({
        "task": {"p": 13, "train_frac": 0.5}, "model": {"d_emb": 16, "d_hidden": 8},
        "train": {"steps": 200, "eval_every": 50, "checkpoint_every": 100}, "ticket": {"step": 200}, "seeds": [0],
    })  # fmt: skip
    res = run_experiment("my-experiment", cfg, "quick", tmp_path, torch.device("cpu"), progress=False)
    (row,) = res.claims
    assert row["id"] == "X1" and row["verdict"] in ("holds", "does not hold")
    assert (tmp_path / "figures" / "my-experiment.png").exists()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary.arm) == {"base", "rate=0.5", "rate=0.9"}  # the quick grid
    result = ANALYSES["my_analysis"].run(tmp_path)
    (x2,) = result.claims
    assert x2["id"] == "X2" and x2["measured"]["runs that memorized"].endswith(f"of {len(summary)}")
