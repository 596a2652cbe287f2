"""Executors: where the cohort jobs of a :func:`~grokking_tickets.runner.train_runs` call train.

An executor has one method, ``map(jobs, store, device, init, progress)``: when it returns,
every job has been trained into ``store`` (or an error has been raised). ``local`` trains the
jobs here, one after another; ``processes`` in one single-threaded worker process per core;
``ray`` makes each job a Ray task. All run :func:`~grokking_tickets.cohort.train_cohort`, so a
run's numbers depend only on the arithmetic it ran with (arithmetic.py), of which the torch
thread count is part: ``local`` and ``ray`` compute with this process's threads, ``processes``
with one, so its runs equal ``local``'s at ``torch.set_num_threads(1)`` bit for bit (a test
compares them) and not those at two threads (the MLP's gradient sums split by thread).

Ray is an optional extra (`pip install 'grokking-tickets[ray]'`) and is imported only here.
Every worker writes into the same run store, so the store must live on a path all workers
share (any folder on one machine; a shared file system on a cluster). A task runs the same
code as the local executor with the same number of torch threads, so the numbers are the
same (a test compares summary.csv). A cohort asks for one GPU when the device is CUDA.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

import torch

from .arithmetic import DENORMALS_ENV, apply_from_environment, denormal_mode
from .cohort import CohortJob, InitFn, train_cohort
from .errors import UserError
from .progress import progress as progress_bar
from .registry import Registry
from .spec import RunSpec
from .store import Store
from .trackers import ENV as TRACK_ENV


class Executor(Protocol):
    max_members: int | None  # the most runs one cohort job holds (None: runner.default_max_members)
    parallel: int  # how many jobs it trains at once (runner.cohort_jobs splits cohorts to give each one)

    def map(self, jobs: list[CohortJob], store: Store, device: torch.device, init: InitFn, progress: bool) -> None:
        """Train every job into ``store``; return when all are trained."""


@dataclass(frozen=True)
class LocalExecutor:
    """The jobs here, one after another, each with its own progress bar."""

    name: ClassVar[str] = "local"
    address: None = None  # no cluster to join (every executor is built from --ray-address)
    max_members: int | None = None
    parallel: ClassVar[int] = 1

    def map(self, jobs: list[CohortJob], store: Store, device: torch.device, init: InitFn, progress: bool) -> None:
        for job in jobs:
            train_cohort(job, store, device, init, progress)


@dataclass(frozen=True)
class RayExecutor:
    """Each job a Ray task on the cluster at ``address`` (None: a local Ray on this machine)."""

    name: ClassVar[str] = "ray"
    address: str | None = None
    max_members: int | None = None
    parallel: ClassVar[int] = 1  # a cohort per task, as many tasks as the cluster fits

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


def cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS reports one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class ProcessExecutor:
    """One worker process per core, each computing with one torch thread; jobs go to the next
    free worker, the longest first.

    Why: on a CPU, one thread per process beats one process with a thread per core on these
    small products (measured in docs/performance.md), and the arithmetic no longer depends on
    how many cores a machine has: one thread is one thread everywhere. The workers start once
    per executor (a few seconds: each imports torch) and serve every ``map`` call after it; they
    stop at exit or :meth:`close`. Each task sets its worker's denormal mode to the driver's of
    the moment it was sent (arithmetic.denormals)."""

    name: ClassVar[str] = "processes"
    address: None = None
    max_members: int | None = None
    workers: int = field(default_factory=cores)
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise UserError(f"--workers must be at least 1; got {self.workers}")

    @property
    def parallel(self) -> int:
        return self.workers

    @staticmethod
    def refuse(device: torch.device) -> None:
        """A UserError for any device but the CPU (make_executor asks before anything starts)."""
        if device.type != "cpu":
            raise UserError("--executor processes trains on the CPU; on a GPU use local (one process feeds the device)")

    def map(self, jobs: list[CohortJob], store: Store, device: torch.device, init: InitFn, progress: bool) -> None:
        if not jobs:
            return
        self.refuse(device)
        if self._pool is None:
            # spawn: a fresh interpreter imports the package, which pins the arithmetic before torch
            # loads (arithmetic.pin); a forked child would inherit this process's torch threads
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_exit_with, initargs=(os.getpid(),)
            )
            atexit.register(self.close)
        root, mode, track = str(Path(store.root).resolve()), denormal_mode(), os.environ.get(TRACK_ENV, "")
        longest_first = sorted(jobs, key=lambda j: -len(j.members) * (j.members[0].train.steps - j.start))
        pending: set[Future] = {
            self._pool.submit(_process_task, [s.to_dict() for s in job.members], job.start, root, init, mode, track)
            for job in longest_first
        }
        bar = progress_bar(len(pending), desc=f"cohorts on {self.workers} worker processes", unit="cohort",
                           enabled=progress)  # fmt: skip
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    f.result()  # re-raises a failed job's error here
                bar.update(len(done))
        except BaseException:
            for f in pending:
                f.cancel()
            raise
        finally:
            bar.close()

    def close(self) -> None:
        """Stop the workers (they start again on the next ``map``)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


# name -> executor class, built from `--ray-address` (read by the executors that join a cluster)
# and `--max-members`
EXECUTORS: Registry[Callable[[str | None, int | None], Executor]] = Registry("executor")
EXECUTORS.register(LocalExecutor)
EXECUTORS.register(ProcessExecutor)
EXECUTORS.register(RayExecutor)


def make_executor(
    name: str,
    address: str | None = None,
    max_members: int | None = None,
    workers: int | None = None,
    device: torch.device | None = None,
) -> Executor:
    """The executor ``--executor NAME --ray-address ADDRESS --max-members N --workers W`` asks
    for, to train on ``device``; an unknown name is a UserError that lists the valid ones."""
    executor = EXECUTORS[name]
    if executor is ProcessExecutor and device is not None:
        ProcessExecutor.refuse(device)
    if address and executor is not RayExecutor:
        raise UserError("--ray-address is for --executor ray")
    if workers is not None and executor is not ProcessExecutor:
        raise UserError("--workers is for --executor processes")
    if max_members is not None and max_members < 1:
        raise UserError(f"--max-members must be at least 1; got {max_members}")
    if executor is ProcessExecutor and workers is not None:
        return ProcessExecutor(address, max_members, workers)
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


def _exit_with(parent: int, every_s: float = 0.5) -> None:
    """A worker of :class:`ProcessExecutor` ends within ``every_s`` of its driver: the driver holds
    the locks of the runs the worker trains (runner.train_runs), so a worker that outlived it (the
    driver killed) would go on writing runs another command may now lock and train."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)  # no cleanup to wait for: the store's writes are atomic (files.atomic_write)

    threading.Thread(target=watch, name="exit-with-driver", daemon=True).start()


def _process_task(spec_dicts, start, root, init, mode, track):
    """One cohort job in a worker of :class:`ProcessExecutor`: Ray's task at one thread, in the
    driver's denormal mode of the moment the job was sent."""
    os.environ[DENORMALS_ENV] = mode
    _cohort_task(spec_dicts, start, root, "cpu", init, 1, track)


def _cohort_task(spec_dicts, start, root, device, init, threads, track=""):
    worker_setup(threads, track)
    train_cohort(CohortJob([RunSpec.from_dict(d) for d in spec_dicts], start), Store(root), device, init)
    return [d["seed"] for d in spec_dicts]
