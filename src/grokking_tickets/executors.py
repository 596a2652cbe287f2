"""Executors: where the cohort jobs of a :func:`~grokking_tickets.runner.train_runs` call train.

An executor has one method, ``map(jobs, store, device, init, progress)``: when it returns,
every job has been trained into ``store`` (or an error has been raised). ``local`` trains the
jobs here, one after another; ``ray`` makes each job a Ray task. Both run
:func:`~grokking_tickets.cohort.train_cohort`, so they give the same numbers.

Ray is an optional extra (`pip install 'grokking-tickets[ray]'`) and is imported only here.
Every worker writes into the same run store, so the store must live on a path all workers
share (any folder on one machine; a shared file system on a cluster). A task runs the same
code as the local executor with the same number of torch threads, so the numbers are the
same (a test compares summary.csv). A cohort asks for one GPU when the device is CUDA.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import torch

from .arithmetic import apply_from_environment
from .cohort import CohortJob, InitFn, train_cohort
from .errors import UserError
from .progress import progress as progress_bar
from .registry import Registry
from .spec import RunSpec
from .store import Store
from .trackers import ENV as TRACK_ENV


class Executor(Protocol):
    max_members: int | None  # the most runs one cohort job holds (None: runner.default_max_members)

    def map(self, jobs: list[CohortJob], store: Store, device: torch.device, init: InitFn, progress: bool) -> None:
        """Train every job into ``store``; return when all are trained."""


@dataclass(frozen=True)
class LocalExecutor:
    """The jobs here, one after another, each with its own progress bar."""

    name: ClassVar[str] = "local"
    address: None = None  # no cluster to join (every executor is built from --ray-address)
    max_members: int | None = None

    def map(self, jobs: list[CohortJob], store: Store, device: torch.device, init: InitFn, progress: bool) -> None:
        for job in jobs:
            train_cohort(job, store, device, init, progress)


@dataclass(frozen=True)
class RayExecutor:
    """Each job a Ray task on the cluster at ``address`` (None: a local Ray on this machine)."""

    name: ClassVar[str] = "ray"
    address: str | None = None
    max_members: int | None = None

    def map(self, jobs: list[CohortJob], store: Store, device: torch.device, init: InitFn, progress: bool) -> None:
        if not jobs:
            return
        ray = _ray()
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:  # a local Ray on this machine
                ray.init(include_dashboard=False, log_to_driver=False)
        threads = torch.get_num_threads()
        track = os.environ.get(TRACK_ENV, "")  # --track, for workers of a cluster started elsewhere too
        cpus = min(threads, int(ray.cluster_resources().get("CPU", 1)))
        task = ray.remote(_cohort_task).options(num_cpus=cpus, num_gpus=1 if device.type == "cuda" else 0)
        root = str(Path(store.root).resolve())
        pending = [
            task.remote([s.to_dict() for s in job.members], job.start, root, str(device), init, threads, track)
            for job in jobs
        ]
        bar = progress_bar(len(pending), desc="cohorts on Ray", unit="cohort", enabled=progress)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            ray.get(done)  # re-raises a failed task's error here
            bar.update(len(done))
        bar.close()


# name -> executor class, built from `--ray-address` (read by the executors that join a cluster)
# and `--max-members`
EXECUTORS: Registry[Callable[[str | None, int | None], Executor]] = Registry("executor")
EXECUTORS.register(LocalExecutor)
EXECUTORS.register(RayExecutor)


def make_executor(name: str, address: str | None = None, max_members: int | None = None) -> Executor:
    """The executor ``--executor NAME --ray-address ADDRESS --max-members N`` asks for; an
    unknown name is a UserError that lists the valid ones."""
    executor = EXECUTORS[name]
    if address and executor is LocalExecutor:
        raise UserError("--ray-address is for --executor ray")
    if max_members is not None and max_members < 1:
        raise UserError(f"--max-members must be at least 1; got {max_members}")
    return executor(address, max_members)


def _ray():
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'grokking-tickets[ray]'") from None
    return ray


def worker_setup(threads: int, track: str = "") -> None:
    """A Ray worker computes as its driver does: the same threads (a GEMM splits its sums by
    thread) and denormal mode. Its code paths were pinned when it imported this package to run
    the task (arithmetic.pin, before torch), and it inherits the driver's MKL_CBWR besides; each
    run it trains records the identity the worker really had (cohort.py). It also mirrors
    metrics to the driver's trackers (``track``: --track)."""
    torch.set_num_threads(threads)
    apply_from_environment()
    if track:
        os.environ[TRACK_ENV] = track
    else:
        os.environ.pop(TRACK_ENV, None)


def _cohort_task(spec_dicts, start, root, device, init, threads, track=""):
    worker_setup(threads, track)
    train_cohort(CohortJob([RunSpec.from_dict(d) for d in spec_dicts], start), Store(root), device, init)
    return [d["seed"] for d in spec_dicts]
