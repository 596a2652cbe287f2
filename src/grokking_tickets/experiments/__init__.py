"""The paper's experiments, one module per figure. Each exposes ``run(ctx) -> ExperimentResult``."""

from __future__ import annotations

from . import equal_params, no_weight_decay, norm_control, pai, prune_rate, ticket_timeline, tickets, wd_sweep
from .base import Arm, Context, ExperimentResult

EXPERIMENTS = {
    "tickets": tickets,
    "ticket-timeline": ticket_timeline,
    "prune-rate": prune_rate,
    "norm-control": norm_control,
    "no-weight-decay": no_weight_decay,
    "pai": pai,
    "equal-params": equal_params,
    "wd-sweep": wd_sweep,
}

__all__ = ["EXPERIMENTS", "Arm", "Context", "ExperimentResult"]
