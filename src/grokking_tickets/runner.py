"""Turn run specs into finished runs in the store: skip, lock, group into cohort jobs, train.

Runs that share a cohort key (same task, model, optimizer settings but weight decay and the
Grokfast filter, and training settings) train together as one population (cohort.py). A run with a resume state
restarts from it; members of a cohort whose resume states stand at different steps are
separate jobs, which is exact because a member's numbers do not depend on its population.
An executor (executors.py) trains the jobs, here or on Ray.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from contextlib import ExitStack
from itertools import accumulate, pairwise

import torch
from filelock import Timeout

from .arithmetic import chosen
from .cohort import CohortJob, InitFn, make_init
from .errors import UserError
from .executors import Executor, LocalExecutor
from .models import MODELS
from .spec import RunSpec
from .store import Store
from .tuning import best_k


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but PyTorch sees no CUDA device")
    if name not in ("cpu", "cuda"):
        raise UserError(f"--device must be auto, cpu or cuda; got {name!r}")
    return torch.device(name)


def train_runs(
    specs: list[RunSpec],
    store: Store,
    device: torch.device,
    init: InitFn = make_init,
    progress: bool = True,
    executor: Executor | None = None,
) -> int:
    """Train every spec not yet finished in ``store``, cohort by cohort, on ``executor``
    (None: :class:`LocalExecutor`, here, one cohort after another; its ``max_members`` caps a
    cohort job). Returns the model-steps this call trained: the last step of each run it
    finished (its budget, or where its stop rule ended it), counted whole even where it resumed
    one (what a `reproduce` accounts its time by; runs another process trained are not counted).

    Several processes may share a store: each run is trained under its lock (store.run_lock),
    so a run that another process is training is not trained twice. This process trains the
    runs it could lock, then waits for the others; any that are still unfinished when their
    lock comes free (the other process was stopped) it trains itself.
    """
    executor = LocalExecutor() if executor is None else executor
    pending = [s for s in {s.run_id: s for s in specs}.values() if not store.is_done(s.run_id)]
    model_steps = 0
    while pending:
        with ExitStack() as held:
            mine, busy = [], []
            for s in pending:
                lock = store.run_lock(s.run_id)
                try:
                    lock.acquire(blocking=False)
                except Timeout:
                    busy.append(s)
                    continue
                held.callback(lock.release)
                mine.append(s)
            # finished by another process between the first look and the lock?
            todo = [s for s in mine if not store.is_done(s.run_id)]
            jobs = cohort_jobs(todo, store, device, executor.max_members, getattr(executor, "parallel", 1))
            executor.map(jobs, store, device, init, progress)
            model_steps += sum(store.last_step(s) for s in todo if store.is_done(s.run_id))
        if busy:
            print(f"{len(busy)} run(s) are being trained by another process on {store.root}; waiting for them",
                  file=sys.stderr, flush=True)  # fmt: skip
            for s in busy:
                with store.run_lock(s.run_id):
                    pass
        pending = [s for s in busy if not store.is_done(s.run_id)]
    return model_steps


def cohort_jobs(
    specs: list[RunSpec], store: Store, device: torch.device, max_members: int | None, parallel: int = 1
) -> list[CohortJob]:
    """``specs`` (unfinished, locked by this process) grouped into jobs: one cohort key, one
    resume step, at most ``max_members`` runs each (None: :func:`default_max_members`). A
    group too big for one job is split into jobs of equal size (72 runs at a cap of 16: five
    jobs of 15, 15, 14, 14 and 14, not four of 16 and one of 8), since a small last job runs
    each of its members slower. An executor that trains ``parallel`` jobs at once gets at
    least that many where there are runs enough: the largest job is halved until there are
    (4 runs of one cohort, 2 workers: two jobs of 2). How runs are split changes no number
    (cohort.py). Under the portable arithmetic every job holds one run (arithmetic.py says why)."""
    todo = {s.run_id: s for s in specs}
    cohorts: dict[str, list[RunSpec]] = defaultdict(list)
    for s in todo.values():
        cohorts[s.cohort_key()].append(s)
    jobs: list[CohortJob] = []
    solo = not chosen().populations  # the portable arithmetic: members would not equal solo runs
    for group in cohorts.values():
        cap = 1 if solo else max_members or default_max_members(group[0], device)
        by_start: dict[int, list[RunSpec]] = defaultdict(list)
        for s in group:
            state = store.load_state(s.run_id)
            by_start[state[0] if state else 0].append(s)
        for start, members in sorted(by_start.items()):
            parts = math.ceil(len(members) / cap)
            q, r = divmod(len(members), parts)  # r jobs of q + 1, then parts - r of q
            cuts = [0, *accumulate(q + (i < r) for i in range(parts))]
            jobs += [CohortJob(members[a:b], start) for a, b in pairwise(cuts)]
    while jobs and len(jobs) < parallel and max(len(j.members) for j in jobs) > 1:
        big = max(jobs, key=lambda j: len(j.members))
        half = (len(big.members) + 1) // 2
        i = jobs.index(big)
        jobs[i : i + 1] = [CohortJob(big.members[:half], big.start), CohortJob(big.members[half:], big.start)]
    return jobs


def default_max_members(spec: RunSpec, device: torch.device) -> int:
    """The most runs one population holds by default: the best K ``bench --save`` measured for
    the model on this machine (tuning.py), else 1,024 on a GPU, which wants hundreds to fill its
    cores, and on a CPU the model's ``cpu_max_members``, where its throughput against K stops
    rising before the members' working set leaves the caches (models/base.py)."""
    measured = best_k(spec.model.name, device)
    if measured is not None:
        return measured
    return 1024 if device.type == "cuda" else MODELS[spec.model.name].cpu_max_members
