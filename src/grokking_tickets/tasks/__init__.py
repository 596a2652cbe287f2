"""Tasks: each turns its TaskConfig into a :class:`Dataset` (contract: tasks/base.py).

Every module here registers its task in :data:`TASKS`; adding a task is one new file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import import_modules
from .base import TASKS, Dataset, Task

if TYPE_CHECKING:
    from ..config import TaskConfig

import_modules(__name__, __path__, first=("modular", "mnist"))  # the paper's, in its order


def build_dataset(cfg: TaskConfig, split_seed: int | None = None) -> Dataset:
    """The task's data; its split drawn by ``split_seed`` (default ``cfg.split_seed``; a run's
    own is ``RunSpec.split_seed``, which follows the run's seed under ``task.split = "seed"``)."""
    return TASKS[cfg.name].build(cfg, cfg.split_seed if split_seed is None else split_seed)


__all__ = ["TASKS", "Dataset", "Task", "build_dataset"]
