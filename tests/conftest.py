import pytest

from grokking_tickets.config import Config, from_dict


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
