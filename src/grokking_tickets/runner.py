"""Turn run specs into finished runs in the store: skip, group, resume, train.

Runs that share a cohort key (same task, model, optimizer settings but weight decay, and
training settings) train together as one :class:`Population`. A run with a resume state
restarts from it; members of a cohort whose resume states stand at different steps train as
separate populations, which is exact because a member's numbers do not depend on its
population.
"""

from __future__ import annotations

import sys
import warnings
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack

import torch
from filelock import Timeout

from .errors import UserError
from .models import build_model
from .progress import progress
from .spec import RunSpec
from .store import Store
from .tasks import build_dataset
from .train.population import Member, Population

InitFn = Callable[[RunSpec, object, Store], tuple[dict, dict | None]]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but PyTorch sees no CUDA device")
    if name not in ("cpu", "cuda"):
        raise UserError(f"--device must be auto, cpu or cuda; got {name!r}")
    return torch.device(name)


def make_init(spec: RunSpec, model, store: Store) -> tuple[dict, dict | None]:
    """θ0 and mask of a run: θ0 from the seed (or rewound), times the scale, and its mask."""
    theta0 = model.init(spec.seed)
    mask = None
    if spec.init.mask is not None:
        from .pruning import build_mask

        mask = build_mask(spec.init.mask, spec, model, theta0, store)
    if spec.init.rewind_source is not None:
        theta0 = store.weights(spec.init.rewind_source, spec.init.rewind_step)
    if spec.init.scale != 1.0:
        theta0 = {k: v * spec.init.scale for k, v in theta0.items()}
    if mask is not None:
        theta0 = {k: v * mask[k] for k, v in theta0.items()}
    return theta0, mask


def train_runs(
    specs: list[RunSpec],
    store: Store,
    device: torch.device,
    init: InitFn = make_init,
    progress: bool = True,
    max_members: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> None:
    """Train every spec not yet finished in ``store``, cohort by cohort.

    executor 'local' trains the cohorts here, one after another; 'ray' makes each cohort a
    Ray task (see executors.py), with the run store on a path every worker can reach.

    Several processes may share a store: each run is trained under its lock (store.run_lock),
    so a run that another process is training is not trained twice. This process trains the
    runs it could lock, then waits for the others; any that are still unfinished when their
    lock comes free (the other process was stopped) it trains itself.
    """
    if executor not in ("local", "ray"):
        raise UserError(f"--executor must be local or ray; got {executor!r}")
    pending = [s for s in {s.run_id: s for s in specs}.values() if not store.is_done(s.run_id)]
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
            _train_locked([s for s in mine if not store.is_done(s.run_id)], store, device, init, progress, max_members, executor, ray_address)  # fmt: skip
        if busy:
            print(f"{len(busy)} run(s) are being trained by another process on {store.root}; waiting for them",
                  file=sys.stderr, flush=True)  # fmt: skip
            for s in busy:
                with store.run_lock(s.run_id):
                    pass
        pending = [s for s in busy if not store.is_done(s.run_id)]


def _train_locked(specs, store, device, init, progress, max_members, executor, ray_address) -> None:
    """Train ``specs`` (unfinished, locked by this process), grouped into cohorts."""
    # A CPU gains nothing past a few dozen members (the working set leaves the caches);
    # a GPU wants hundreds to fill its cores.
    max_members = max_members or (1024 if device.type == "cuda" else 64)
    todo = {s.run_id: s for s in specs}
    cohorts: dict[str, list[RunSpec]] = defaultdict(list)
    for s in todo.values():
        cohorts[s.cohort_key()].append(s)
    jobs: list[tuple[list[RunSpec], int]] = []
    for group in cohorts.values():
        by_start: dict[int, list[RunSpec]] = defaultdict(list)
        for s in group:
            state = store.load_state(s.run_id)
            by_start[state[0] if state else 0].append(s)
        for start, members in sorted(by_start.items()):
            jobs += [(members[i : i + max_members], start) for i in range(0, len(members), max_members)]
    if executor == "ray":
        from .executors import run_on_ray

        run_on_ray(jobs, store.root, device, init, ray_address, progress)
        return
    for members, start in jobs:
        train_cohort(members, start, store, device, init, progress)


def train_cohort(members: list[RunSpec], start: int, store: Store, device, init: InitFn = make_init, progress: bool = False) -> None:
    """Train one cohort (runs of one shape, all resuming from ``start``) as one population."""
    items = [(s, store.load_state(s.run_id) if start else None) for s in members]
    _train_cohort(items, start, store, torch.device(device), init, progress)


def _train_cohort(items, start: int, store: Store, device, init: InitFn, progress_on: bool) -> None:
    first = items[0][0]
    tc = first.train
    data = build_dataset(first.task)
    model = build_model(first.model, data)
    members, rows = [], []
    for spec, state in items:
        theta0, mask = init(spec, model, store)
        if state is None:
            store.begin(spec, theta0, mask)
        members.append(Member(theta0, mask, spec.optim.weight_decay))
        rows.append([state[2]] if state else [])
    pop = Population(model, data, first.optim, members, tc.loss, device)
    if start > 0:
        pop.load_states([state[1] for _, state in items], start)

    diverged: set[int] = set()
    steps: list[int] = []
    buf: list[torch.Tensor] = []  # [K, n_metrics] device tensors, moved to the host in bulk

    def record() -> None:
        steps.append(pop.step_count)
        buf.append(pop.evaluate())

    def flush() -> None:
        if not buf:
            return
        vals = torch.stack(buf).cpu()  # [R, K, n_metrics], the only host transfer
        col = torch.tensor(steps, dtype=torch.float64).view(-1, 1)
        for k in range(pop.K):
            rows[k].append(torch.cat([col, vals[:, k]], 1))
        steps.clear()
        buf.clear()

    if start == 0:
        record()
    bar = progress(tc.steps, initial=start, desc=f"{pop.K} run{'s' if pop.K > 1 else ''}", enabled=progress_on)
    while pop.step_count < tc.steps:
        chunk = min(tc.eval_every - pop.step_count % tc.eval_every, tc.steps - pop.step_count)
        for _ in range(chunk):
            pop.step()
        record()
        bar.update(chunk)
        s = pop.step_count
        if s % tc.checkpoint_every == 0 or s == tc.steps:
            flush()
            for k, (spec, _) in enumerate(items):
                if k in diverged:
                    continue
                if _check_diverged(store, spec, rows, k, float(pop.density[k])):
                    diverged.add(k)
                    continue
                store.save_weights(spec.run_id, s, pop.member_weights(k))
                if s < tc.steps:
                    store.save_state(spec.run_id, s, pop.member_state(k), torch.cat(rows[k]))
    bar.close()
    for k, (spec, _) in enumerate(items):
        if k not in diverged:
            store.finish(spec.run_id, torch.cat(rows[k]), float(pop.density[k]))


def _check_diverged(store: Store, spec: RunSpec, rows: list, k: int, density: float) -> bool:
    """A member whose metrics turned NaN or Inf is finished as 'diverged' at that evaluation.

    Members never mix (every op is per member), so the others go on with unchanged numbers;
    the diverged one is still computed with its population but no longer recorded or saved.
    """
    met = torch.cat(rows[k])
    bad = (~torch.isfinite(met[:, 1:])).any(1).nonzero()
    if len(bad) == 0:
        return False
    first = int(bad[0])
    warnings.warn(f"run {spec.run_id} (seed {spec.seed}) diverged at step {int(met[first, 0])}; marked 'diverged'", stacklevel=2)
    store.finish(spec.run_id, met[: first + 1], density, status="diverged")
    return True
