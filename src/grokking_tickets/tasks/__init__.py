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


def build_dataset(cfg: TaskConfig) -> Dataset:
    return TASKS[cfg.name].build(cfg)


__all__ = ["TASKS", "Dataset", "Task", "build_dataset"]
