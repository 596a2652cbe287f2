"""The paper's experiments, one module per figure, each an :class:`Experiment` registered in
:data:`EXPERIMENTS` where it is defined: a new experiment is one new module here."""

from __future__ import annotations

from ..registry import import_modules
from .arms import Arm, Dense, EdgePopup, NormMatched, PaI, Ticket
from .base import EXPERIMENTS, Context, Experiment, ExperimentResult, config_label, experiment_label, figure_of

# The paper's experiments first, in its figures' order (the CLI lists and error messages keep
# it); then every other module of this package.
PAPER_ORDER = ("tickets", "ticket_timeline", "prune_rate", "norm_control", "no_weight_decay", "pai", "equal_params")
import_modules(__name__, __path__, first=(*PAPER_ORDER, "wd_sweep"))

__all__ = [
    "EXPERIMENTS", "Arm", "Context", "Dense", "EdgePopup", "Experiment", "ExperimentResult", "NormMatched", "PaI", "Ticket",
    "config_label", "experiment_label", "figure_of",
]  # fmt: skip
