# First: importing the package fixes the CPU code paths (arithmetic.pin) before anything loads
# torch, so that the exactness tests run under the arithmetic a user's commands run under.
import grokking_tickets  # noqa: F401, I001  (must stay the first import)

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import torch

from grokking_tickets import arithmetic
from grokking_tickets.config import Config, from_dict
from grokking_tickets.store import Store
from grokking_tickets.train import population


@pytest.fixture(autouse=True)
def _no_measured_population_sizes(tmp_path_factory, monkeypatch):
    """A user's `bench --save` (tuning.py) must not change the cohorts the tests expect: every
    test sees an empty cache folder of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def train_dense_then_derived(out, executor, cfg: dict, seeds) -> pd.DataFrame:
    """An executor's whole path on a tiny store: dense runs, then runs made from their weights
    (a ticket, a late-rewound ticket, a random mask, a scaled θ0), each level one call of the
    runner with ``executor``; returns summary.csv's table (metrics.parquet beside it)."""
    from grokking_tickets.analysis.tables import write_tables
    from grokking_tickets.runner import train_runs
    from grokking_tickets.spec import InitSpec, MaskSpec, RunSpec

    store = Store(out)
    dense = [RunSpec.dense(from_dict(cfg), s) for s in seeds]
    derived = [
        RunSpec(d.task, d.model, d.optim, d.train, d.seed, init)
        for d in dense
        for init in (
            InitSpec(mask=MaskSpec("magnitude", 0.6, "global", d.run_id, 200)),
            InitSpec(1.0, MaskSpec("magnitude", 0.3, "global", d.run_id, 100), d.run_id, 100),
            InitSpec(mask=MaskSpec("random", 0.5, "global")),
            InitSpec(scale=0.7),
        )
    ]
    for specs in (dense, derived):
        train_runs(specs, store, torch.device("cpu"), progress=False, executor=executor)
    store.register("x", [{"arm": f"a{i % 5}", "run_id": s.run_id, "seed": s.seed} for i, s in enumerate(dense + derived)])
    return write_tables(store)


class Crash(Exception):
    """What a crashed training raises in the tests."""


def crash_at_step(monkeypatch: pytest.MonkeyPatch, step: int, train: Callable[[], object]) -> None:
    """Run ``train`` until any population reaches ``step``, die there as a crash would (resume
    points saved before it stay), then restore normal training."""
    real_step = population.Population.step

    def crashing(self):
        if self.step_count == step:
            raise Crash
        real_step(self)

    monkeypatch.setattr(population.Population, "step", crashing)
    with pytest.raises(Crash):
        train()
    monkeypatch.setattr(population.Population, "step", real_step)


@pytest.fixture
def tiny_cfg() -> Config:
    """A small modular MLP that trains in milliseconds."""
    return from_dict(
        {
            "task": {"p": 11, "train_frac": 0.5},
            "model": {"d_emb": 16, "d_hidden": 8},
            "train": {"steps": 60, "eval_every": 10, "checkpoint_every": 20},
            "seeds": [0, 1, 2],
        }
    )


def check_tickets_experiment(out: Path, experiment: str, claim_id: str, seeds: list[int], rate: float) -> None:
    """A finished `tickets` experiment in store ``out``, filed as ``experiment``: both arms and every
    seed registered, each ticket pruned to exactly round(rate · n) weights of its own seed's base
    run, and the claim's numbers those of summary.csv (computed here from the table, not by the
    package's code)."""
    summary = pd.read_csv(out / "summary.csv")
    rows = summary[summary.experiment == experiment]
    assert {arm: sorted(rows[rows.arm == arm].seed) for arm in ("base", "ticket")} == {"base": seeds, "ticket": seeds}
    assert set(rows.arm) == {"base", "ticket"}
    store = Store(out)
    base = {r.seed: r.run_id for r in rows[rows.arm == "base"].itertuples()}
    for r in rows[rows.arm == "ticket"].itertuples():
        mask_spec = store.spec(r.run_id).init.mask
        assert (mask_spec.method, mask_spec.rate, mask_spec.source) == ("magnitude", rate, base[r.seed])
        mask = store.mask(r.run_id)
        n = sum(m.numel() for m in mask.values())
        pruned = sum(int((~m).sum()) for m in mask.values())
        assert pruned == int(rate * n + 0.5)  # round half up, exactly
        assert r.density == pytest.approx(1 - pruned / n)
    claims = {c["id"]: c for c in json.loads((out / "claims.json").read_text())}
    measured = claims[claim_id]["measured"]
    mean = {}
    for arm in ("base", "ticket"):
        a = rows[rows.arm == arm]
        t = a.t_gen.fillna(a.steps + 1)  # a run that never groks counts as censored at its budget + 1
        mean[arm], grokked, text = t.mean(), int(a.t_gen.notna().sum()), measured[f"{arm} t_gen"]
        if grokked == 0:
            assert text == f"did not grok (0/{len(a)})"
        else:
            assert text.lstrip("≥").startswith(f"{t.mean():,.0f} ± {t.std():,.0f}")
            assert text.endswith(f"({grokked}/{len(a)} grokked)")
    assert measured["speedup (base / ticket)"] == round(mean["base"] / mean["ticket"], 2)


def assert_same_bits(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    """For comparisons of a population member with its solo run (or a resumed run with an
    uninterrupted one): ``a`` and ``b`` equal bit for bit, or a one-line failure: how many entries differ, by how
    much, under which arithmetic (never a tensor dump). Where exactness is not promised
    (arithmetic.promises_exact_populations: GROKKING_TICKETS_ARITHMETIC=native, the user's opt-out,
    under which MKL dispatches without its reproducibility mode and an AMD EPYC differs in the
    last bits; a machine without MKL), the check relaxes to float32 rounding."""
    if not arithmetic.chosen().populations:
        pytest.skip(f"{arithmetic.chosen().name} trains every run alone: its batched GEMM does not promise a member "
                    "its solo run's bits")  # fmt: skip
    if torch.equal(a, b):
        return
    n, diff = int((a != b).sum()), float((a.double() - b.double()).abs().max())
    if not arithmetic.promises_exact_populations() and torch.allclose(a, b, rtol=1e-4, atol=1e-6):
        warnings.warn(f"{what}: equal to float32 rounding only ({n} entries differ; "
                      f"{arithmetic.chosen().name} arithmetic promises no more)", stacklevel=2)  # fmt: skip
        return
    pytest.fail(
        f"{what}: {n} of {a.numel()} entries differ (max |difference| {diff:.3g}) under "
        f"{arithmetic.key(arithmetic.identity())}",
        pytrace=False,
    )
