"""Checks of a configuration that need the task and model registries.

``config.py`` sits below the tasks and models and imports neither; what only the registries
know is checked here, one layer up, and registered with :func:`config.register_check`, so that
every :class:`~.config.Config` runs it when it is built (the package's ``__init__`` imports this
module). A bad combination fails with a one-line :class:`UserError` before any work starts.
"""

from __future__ import annotations

from .config import Config, _check, _choice, register_check
from .models import MODELS
from .tasks import TASKS


@register_check
def task_and_model_fit(cfg: Config) -> None:
    """The task and the model exist, the model reads the task's inputs, and a regression task
    trains on the squared error."""
    _choice("task", "name", cfg.task.name, TASKS.names())
    _choice("model", "name", cfg.model.name, MODELS.names())
    kind = TASKS[cfg.task.name].input_kind
    fits = tuple(n for n, m in MODELS.items() if m.input_kind == kind)
    _check(
        cfg.model.name in fits,
        f"model.name={cfg.model.name!r} cannot read the inputs of task.name={cfg.task.name!r}; "
        f"models for {cfg.task.name}: {', '.join(fits)}",
    )
    if TASKS[cfg.task.name].target == "real":  # regression: no classes, no cross entropy
        _check(
            cfg.train.loss == "mse",
            f"task.name={cfg.task.name!r} is a regression task and needs train.loss = \"mse\"; got {cfg.train.loss!r}",
        )
