"""A stored run at a step as a plain ``torch.nn.Module``, for poking at with the field's tools.

The trainer holds populations as stacked tensors; a researcher wants one network they can call,
hook and differentiate. :func:`load_run` gives one: the run's weights at a saved step as
``nn.Parameter``s, its mask as buffers, and as forward the model's textbook definition
(``Model.forward``: the one definition of the network that the fast paths are tested against),
so its logits are the trainer's up to float rounding (tests/unit/test_checkpoint.py).

    >>> from grokking_tickets.checkpoint import load_run
    >>> net, data = load_run("runs/demo", run_id)              # the last saved step
    >>> net(data.test_x).argmax(-1)                              # [N] predictions

Everything else (hooks, ``torch.func``, an optimizer of your own) works as on any module.
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import UserError
from .models import build_model
from .models.base import Model, Params
from .store import Store
from .tasks import build_dataset
from .tasks.base import Dataset


class RunModule(nn.Module):
    """One member of a model as a module: ``forward(x)`` maps task inputs [N, ...] to logits [N, C]
    with the effective weights θ ⊙ m (a pruned weight is zero in the store already; the mask is
    applied again so that a user's edit of the parameters cannot revive one)."""

    def __init__(self, model: Model, weights: Params, mask: Params | None = None):
        super().__init__()
        self.model = model  # the math; holds no tensors
        self.weights = nn.ParameterDict({n: nn.Parameter(weights[n].detach().clone()) for n in model.names})
        self.masked = mask is not None
        for n in model.names:
            self.register_buffer(f"mask_{n}", (mask[n] if mask is not None else torch.ones_like(weights[n])).float())

    def mask(self, name: str) -> torch.Tensor:
        return getattr(self, f"mask_{name}")

    def effective_weights(self) -> Params:
        return {n: self.weights[n] * self.mask(n) for n in self.model.names}

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, ...] -> [N, C]
        return self.model.forward(self.effective_weights(), x)


def load_run(store_dir, run_id: str, step: int | None = None) -> tuple[RunModule, Dataset]:
    """(module, dataset) of run ``run_id`` in the store at ``store_dir`` at ``step`` (default: its
    last saved step; 0 is θ0). The dataset is the run's own split."""
    store = Store(store_dir)
    if not (store.run_dir(run_id) / "spec.json").exists():
        raise UserError(f"{store_dir} has no run {run_id!r}")
    spec = store.spec(run_id)
    steps = store.weight_steps(run_id)
    step = steps[-1] if step is None else step
    if step not in steps:
        raise UserError(f"run {run_id} has no weights at step {step}; saved steps: {steps}")
    data = build_dataset(spec.task, spec.split_seed)
    model = build_model(spec.model, data)
    return RunModule(model, store.weights(run_id, step), store.mask(run_id)), data
