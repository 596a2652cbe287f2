from collections.abc import Callable

import pytest

from grokking_tickets.config import Config, from_dict
from grokking_tickets.train import population


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
