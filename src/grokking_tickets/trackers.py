"""Experiment trackers: each run's metrics streamed to TensorBoard or Weights & Biases as it trains.

The run store stays the source of truth; a tracker only mirrors it, so a tracker that fails
never loses a run. The training commands take ``--track tensorboard,wandb``, which sets
``GROKKING_TICKETS_TRACK`` so that every process that trains (a Ray worker too) reads the same
choice; ``grokking-tickets export DIR --to NAME`` mirrors a finished store after the fact.

Where they write, inside the store: ``DIR/tensorboard/RUN_ID/`` (event files; ``tensorboard
--logdir DIR/tensorboard``) and ``DIR/wandb/`` (W&B runs, offline unless ``WANDB_MODE`` says
otherwise: ``wandb sync DIR/wandb/offline-run-*`` uploads them). Each run is named by its id and
carries its resolved settings (W&B config; a TensorBoard text summary). Both packages are
optional extras (``pip install 'grokking-tickets[trackers]'``), imported only when chosen.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

import pandas as pd

from .errors import UserError
from .registry import Registry

if TYPE_CHECKING:
    from .spec import RunSpec

ENV = "GROKKING_TICKETS_TRACK"  # comma-separated tracker names; child processes inherit it


class Tracker(Protocol):
    name: ClassVar[str]

    def log(self, spec: RunSpec, rows: pd.DataFrame) -> None:
        """Rows of one run (``step`` and the metric columns) evaluated since the last call."""

    def finish(self, run_id: str) -> None:
        """The run ended (finished or diverged)."""


TRACKERS: Registry[type] = Registry("tracker")


@TRACKERS.register
class TensorBoard:
    """One event folder per run: a scalar per metric (``test_acc``, ``l2``, ...) against the step."""

    name: ClassVar[str] = "tensorboard"

    def __init__(self, root: Path):
        from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

        self._writer_cls, self.dir, self.writers = SummaryWriter, Path(root) / "tensorboard", {}

    def log(self, spec: RunSpec, rows: pd.DataFrame) -> None:
        w = self.writers.get(spec.run_id)
        if w is None:
            w = self.writers[spec.run_id] = self._writer_cls(str(self.dir / spec.run_id))
            w.add_text("settings", f"```\n{json.dumps(spec.to_dict(), indent=2)}\n```", 0)
        for row in rows.itertuples(index=False):
            for col, value in row._asdict().items():
                if col != "step" and pd.notna(value):
                    w.add_scalar(col, float(value), int(row.step))
        w.flush()

    def finish(self, run_id: str) -> None:
        w = self.writers.pop(run_id, None)
        if w is not None:
            w.close()


@TRACKERS.register
class WandB:
    """One W&B run per run, named and keyed by the run id, its settings as the config."""

    name: ClassVar[str] = "wandb"

    def __init__(self, root: Path):
        import wandb  # needs the wandb package

        self.wandb, self.dir, self.runs = wandb, Path(root), {}

    def log(self, spec: RunSpec, rows: pd.DataFrame) -> None:
        run = self.runs.get(spec.run_id)
        if run is None:
            run = self.runs[spec.run_id] = self.wandb.init(
                project=os.environ.get("WANDB_PROJECT", "grokking-tickets"), name=spec.run_id, id=spec.run_id,
                dir=str(self.dir), config=spec.to_dict(),
                mode=os.environ.get("WANDB_MODE", "offline"), reinit="create_new", resume="allow",
            )  # fmt: skip
        for row in rows.itertuples(index=False):
            d = row._asdict()
            run.log({k: float(v) for k, v in d.items() if k != "step" and pd.notna(v)}, step=int(d["step"]))

    def finish(self, run_id: str) -> None:
        run = self.runs.pop(run_id, None)
        if run is not None:
            run.finish()


def parse(text: str | None) -> tuple[str, ...]:
    """``--track`` / the variable: names checked against the registry ('' or None: none)."""
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    for n in names:
        TRACKERS[n]  # an unknown name is a UserError listing the valid ones
    return names


@contextmanager
def tracking(names: tuple[str, ...]) -> Iterator[None]:
    """While the block runs, every process that trains here (Ray workers included) tracks ``names``."""
    before = os.environ.get(ENV)
    if names:
        os.environ[ENV] = ",".join(names)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def build(names: tuple[str, ...], root: Path) -> list[Tracker]:
    out = []
    for n in names:
        try:
            out.append(TRACKERS[n](root))
        except ImportError as e:
            raise UserError(f"--track {n} needs its package ({e.name}): pip install 'grokking-tickets[trackers]'") from None
    return out


def from_environment(root: Path) -> list[Tracker]:
    """The trackers this process was asked for (``GROKKING_TICKETS_TRACK``), writing under ``root``."""
    return build(parse(os.environ.get(ENV)), root)


def export(root: str | Path, names: tuple[str, ...]) -> int:
    """Mirror every finished run of the store at ``root`` into ``names``; the number of runs."""
    from .store import Store

    store, trackers = Store(root), build(names, Path(root))
    n = 0
    for done in sorted((Path(root) / "runs").glob("*/done.json")):
        rid = done.parent.name
        spec, rows = store.spec(rid), store.run_metrics(rid)
        for t in trackers:
            t.log(spec, rows)
            t.finish(rid)
        n += 1
    return n
