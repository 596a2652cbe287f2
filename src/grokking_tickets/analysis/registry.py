"""The analyses of finished runs, registered like the experiments: adding one is one module.

An :class:`Analysis` reads a run store (metrics, saved weights) and gives claims.json rows and
report sections; it never writes a run. ``reproduce`` and ``report`` run every registered
analysis and the claim-to-figure lookup (:func:`grokking_tickets.experiments.figure_of`) reads
their claims from here, so none of them names an analysis. An analysis that finds nothing to
read in a store (no MLP ``tickets`` experiment, say) raises :class:`~grokking_tickets.errors.UserError`
with the reason, and the callers note it and go on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..registry import Registry, import_modules
from ..store import Store
from .claims import ClaimDef


@dataclass(frozen=True)
class AnalysisResult:
    claims: list[dict[str, Any]]  # claims.json rows
    sections: list[dict[str, Any]]  # report sections: title, figure (a path or None), notes, text
    data: dict[str, Any] = field(default_factory=dict)  # its tables, for tests and notebooks


@dataclass(frozen=True)
class Analysis:
    name: str
    claims: tuple[ClaimDef, ...]
    figure_of_claim: Mapping[str, str]  # claim id -> stem of the figure it is judged from
    run: Callable[[Path], AnalysisResult]  # store root -> result; UserError when nothing to read
    reads_weights: bool = True  # False: metrics and specs suffice (it can run on a published folder)
    # the figures it draws from the tables alone (reads_weights False): on a published folder they
    # are redrawn by `report`, like the report itself, so they are not part of its evidence
    figures: tuple[str, ...] = ()
    # the `tickets` experiments whose runs it reads the weights of beyond their t_gen, by the name
    # they are filed under and their configuration: their ticket trains its whole budget at every
    # scale (experiments/tickets.py), where another configuration's may stop early
    reads_tickets: Callable[[str, Any], bool] | None = None


ANALYSES: Registry[Analysis] = Registry("analysis")

# The order of the report's sections and of `list`: the paper's appendix, v3's structure, then
# the rest alphabetically.
ORDER = ("appendix", "structure")


def registered() -> Registry[Analysis]:
    """Every analysis, its module imported (lazily: the analyses pull in NetworkX and friends,
    which a command that trains does not need)."""
    from .. import analysis

    import_modules(analysis.__name__, analysis.__path__, first=ORDER)
    return ANALYSES


def tickets_readers(experiment: str, cfg: Any) -> list[str]:
    """The analyses that read the weights of the `tickets` experiment filed as ``experiment``
    (tickets, tickets@mlp-sub) on configuration ``cfg``."""
    return [n for n, a in registered().items() if a.reads_tickets is not None and a.reads_tickets(experiment, cfg)]


def run_all(root: str | Path, progress: bool = True) -> tuple[list[AnalysisResult], dict[str, str]]:
    """Every registered analysis on the store at ``root``: (results, {name: why it did not run}).
    With ``progress``, one line per analysis on stderr says how long it took (the analyses of an
    8-seed store take minutes: S2's graphs, the replayed early steps)."""
    results, skipped = [], {}
    published = Store(root).published
    for name, a in registered().items():
        if published and a.reads_weights:
            skipped[name] = (
                "a published folder holds no weights: its claims.json rows and figures are kept as they were published"
            )
            continue
        t0 = time.time()
        try:
            results.append(a.run(Path(root)))
        except UserError as e:
            skipped[name] = str(e)
        if progress:
            print(f"analysis {name}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return results, skipped
