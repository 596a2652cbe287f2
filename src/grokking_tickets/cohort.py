"""Train one cohort: runs of one shape, all at the same step, as one :class:`Population`.

A cohort's runs share task, model, optimizer settings but weight decay and the Grokfast
filter, and training settings (``RunSpec.cohort_key``); the runner groups runs into cohorts
and an executor trains each one with :func:`train_cohort`, here or in a worker. A member's numbers do not depend on its
population, so how runs are grouped never changes a number. Edge-popup runs (their spec's
``init.edge_popup``) train scores over frozen weights (train/edge_popup.py) in cohorts of their own.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch

from .arithmetic import identity
from .errors import UserError
from .models import build_model
from .progress import progress
from .pruning import build_mask
from .spec import RunSpec
from .store import Store
from .tasks import build_dataset
from .trackers import from_environment
from .train.edge_popup import ScoreMember, ScorePopulation, init_scores
from .train.grokfast import FilterSpec
from .train.population import METRICS, Member, Population

# (spec, model, store) -> (θ0, mask or None) of one run
InitFn = Callable[[RunSpec, object, Store], tuple[dict, dict | None]]


@dataclass(frozen=True)
class CohortJob:
    """Runs of one cohort key that all resume from ``start`` (0: from scratch), trained together."""

    members: list[RunSpec]
    start: int


def make_init(spec: RunSpec, model, store: Store) -> tuple[dict, dict | None]:
    """θ0 and mask of a run: θ0 from the seed (or rewound), times the scale, and its mask.
    For an edge-popup run: its frozen weights (the source run's at the step), and no mask."""
    if spec.init.edge_popup is not None:
        return store.weights(spec.init.edge_popup.source, spec.init.edge_popup.step), None
    theta0 = model.init(spec.seed)
    mask = None
    if spec.init.mask is not None:
        mask = build_mask(spec.init.mask, spec, model, theta0, store)
    if spec.init.rewind_source is not None:
        theta0 = store.weights(spec.init.rewind_source, spec.init.rewind_step)
    if spec.init.scale != 1.0:
        theta0 = {k: v * spec.init.scale for k, v in theta0.items()}
    if mask is not None:
        theta0 = {k: v * mask[k] for k, v in theta0.items()}
    return theta0, mask


def train_cohort(job: CohortJob, store: Store, device, init: InitFn = make_init, progress: bool = False) -> None:
    """Train one cohort job as one population, resuming its members from ``job.start``."""
    items = [(s, store.load_state(s.run_id) if job.start else None) for s in job.members]
    _train_cohort(items, job.start, store, torch.device(device), init, progress)


def _train_cohort(items, start: int, store: Store, device, init: InitFn, progress_on: bool) -> None:
    arith = identity(device)  # what this process computes with, recorded with every run it begins and finishes
    trackers = from_environment(store.root)  # --track: metrics mirrored as they are recorded (trackers.py)
    first = items[0][0]
    tc = first.train
    data = build_dataset(first.task, first.split_seed)  # one split per cohort (see RunSpec.cohort_key)
    model = build_model(first.model, data)
    rows = [[_with_all_columns(state[2])] if state else [] for _, state in items]
    # the one place the two trainers part: a cohort trains weights or, edge-popup, scores
    # (RunSpec.cohort_key never puts both kinds in one cohort)
    build = _score_population if first.init.edge_popup is not None else _weight_population
    pop = build(items, model, data, store, init, device, arith)
    if start > 0:
        pop.load_states([state[1] for _, state in items], start)

    diverged: set[int] = set()  # members whose metrics turned NaN or Inf (finished as 'diverged')
    stopped: set[int] = set()  # members ended by their stop rule (finished at this checkpoint)
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
            if trackers and k not in diverged:
                new_rows = _metrics_frame(rows[k][-1])
                for t in trackers:
                    t.log(items[k][0], new_rows)
        steps.clear()
        buf.clear()

    def finish(k: int, stopped_at: int | None = None) -> None:
        spec = items[k][0]
        store.finish(spec.run_id, _metrics_frame(torch.cat(rows[k])), float(pop.density[k]), arithmetic=arith,
                     stopped_at=stopped_at)  # fmt: skip
        for t in trackers:
            t.finish(spec.run_id)

    if start == 0:
        record()
    bar = progress(tc.steps, initial=start, desc=_runs(pop.K), enabled=progress_on)
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
                if _check_diverged(store, spec, rows, k, float(pop.density[k]), arith):
                    diverged.add(k)
                    for t in trackers:
                        t.finish(spec.run_id)
                    continue
                store.save_weights(spec.run_id, s, pop.member_weights(k))
                if s == tc.steps:
                    continue
                if _stops_at(spec, rows[k], s):
                    finish(k, stopped_at=s)
                    stopped.add(k)
                else:
                    store.save_state(spec.run_id, s, pop.member_state(k), torch.cat(rows[k]))
            if stopped:  # the members that ended leave the population; the others train on, bits unchanged
                keep = [k for k in range(pop.K) if k not in stopped and k not in diverged]
                if not keep:
                    break
                pop = _regroup(pop, keep, [items[k][0] for k in keep], s, model, data, store, init, device, arith, build)
                items, rows = [items[k] for k in keep], [rows[k] for k in keep]
                stopped, diverged = set(), set()
                bar.set_description(_runs(pop.K))
    bar.close()
    if pop.step_count == tc.steps:
        for k in range(pop.K):
            if k not in diverged:
                finish(k)


def _runs(k: int) -> str:
    return f"{k} run{'s' if k > 1 else ''}"


def _stops_at(spec: RunSpec, rows: list[torch.Tensor], step: int) -> bool:
    """Whether ``spec``'s stop rule ends it at checkpoint ``step``: ``train.stop_margin`` > 0 and
    its test accuracy first reached ``train.threshold`` at least that many steps before (t_gen as
    analysis/grokking.py reads it, from the same rows)."""
    margin = spec.train.stop_margin
    if not margin:
        return False
    met = torch.cat(rows)  # [R, 1 + len(METRICS)]: step, then the metrics
    reached = (met[:, 1 + METRICS.index("test_acc")] >= spec.train.threshold).nonzero()
    return len(reached) > 0 and step >= int(met[int(reached[0]), 0]) + margin


def _regroup(pop, keep: list[int], specs: list[RunSpec], step: int, model, data, store, init, device, arith, build):
    """A population of members ``keep`` of ``pop`` at ``step``: built and loaded as a resume
    from their states in memory (a member computes what its run computes alone, in any population,
    so dropping the others changes none of its bits; the tests hold it)."""
    states = [pop.member_state(k) for k in keep]
    new = build([(spec, (step, state, None)) for spec, state in zip(specs, states)], model, data, store, init, device, arith)
    new.load_states(states, step)
    return new


def replay(specs: list[RunSpec], store: Store, device, until: int, every: int):
    """Train runs of one cohort key again from θ0 to step ``until``, in memory, yielding
    ``(step, [weights of each run])`` at step 0 and every ``every`` steps: the weights between a
    run's saved checkpoints, for analyses that need a finer grid early in training. Writes
    nothing. A member computes what its run computed alone, so where the process has the
    arithmetic that trained the runs the replayed weights are theirs bit for bit (the caller
    can check at the saved steps); elsewhere they differ by rounding."""
    first = specs[0]
    if any(s.cohort_key() != first.cohort_key() for s in specs):
        raise ValueError("replay: the runs do not share one cohort key")
    if any(s.init.edge_popup is not None for s in specs):
        raise UserError("replay: edge-popup runs train scores, not weights; they cannot be replayed")
    data = build_dataset(first.task, first.split_seed)
    model = build_model(first.model, data)
    members = [_member(spec, model, store, make_init) for spec in specs]
    pop = Population(model, data, first.optim, members, first.train.loss, torch.device(device))
    # clones: on a CPU a member's weights are views of the population's tensors, which train on
    weights = lambda: [{n: t.clone() for n, t in pop.member_weights(k).items()} for k in range(pop.K)]
    yield 0, weights()
    while pop.step_count < until:
        pop.step()
        if pop.step_count % every == 0 or pop.step_count == until:
            yield pop.step_count, weights()


def _member(spec: RunSpec, model, store: Store, init: InitFn) -> Member:
    """One run as a population member: its θ0 and mask (``init``), weight decay and filter."""
    theta0, mask = init(spec, model, store)
    return Member(theta0, mask, spec.optim.weight_decay, FilterSpec.of(spec.optim))


def _weight_population(items, model, data, store: Store, init: InitFn, device, arith: dict) -> Population:
    members = []
    for spec, state in items:
        member = _member(spec, model, store, init)
        if state is None:
            store.begin(spec, member.theta0, member.mask, arith)
        members.append(member)
    first = items[0][0]
    return Population(model, data, first.optim, members, first.train.loss, device)


def _score_population(items, model, data, store: Store, init: InitFn, device, arith: dict) -> ScorePopulation:
    """Edge-popup runs: frozen weights from ``init``, scores from the seed. A new run's θ0 in
    the store is its effective weights at step 0; it saves no mask file (its mask moves while it
    trains: the kept weights at a step are the nonzero entries of its weights there)."""
    members = []
    for spec, _ in items:
        if FilterSpec.of(spec.optim) is not None:
            raise UserError(f"run {spec.run_id}: edge-popup trains scores; the Grokfast filter does not apply to it")
        if spec.init.mask is not None or spec.init.scale != 1.0 or spec.init.rewind_source is not None:
            raise UserError(
                f"run {spec.run_id}: an edge-popup run takes its weights as they are (no mask, scale or rewind)"
            )
        weights, _ = init(spec, model, store)
        ep = spec.init.edge_popup
        members.append(ScoreMember(weights, init_scores(model, spec.seed), ep.density, spec.optim.weight_decay))
    first = items[0][0]
    learn = bool(first.init.edge_popup.learn_weights)  # one value per population: the cohort key holds it
    pop = ScorePopulation(model, data, first.optim, members, first.train.loss, device, learn_weights=learn)
    for k, (spec, state) in enumerate(items):
        if state is None:
            store.begin(spec, pop.member_weights(k), None, arith)
    return pop


def _check_diverged(store: Store, spec: RunSpec, rows: list, k: int, density: float, arith: dict) -> bool:
    """A member whose metrics turned NaN or Inf is finished as 'diverged' at that evaluation.

    Members never mix (every op is per member), so the others go on with unchanged numbers;
    the diverged one is still computed with its population but no longer recorded or saved.
    """
    met = torch.cat(rows[k])
    # the columns every version records (a resumed old run has NaN in the later ones, by design)
    watched = [1 + METRICS.index(c) for c in ("train_loss", "train_acc", "test_loss", "test_acc", "l1", "l2")]
    bad = (~torch.isfinite(met[:, watched])).any(1).nonzero()
    if len(bad) == 0:
        return False
    first = int(bad[0])
    warnings.warn(
        f"run {spec.run_id} (seed {spec.seed}) diverged at step {int(met[first, 0])}; marked 'diverged'", stacklevel=2
    )
    store.finish(spec.run_id, _metrics_frame(met[: first + 1]), density, status="diverged", arithmetic=arith)
    return True


def _with_all_columns(met: torch.Tensor) -> torch.Tensor:
    """Metrics rows saved by a resume point of an older version, with fewer columns: the ones it
    did not record are NaN (the rows it did record keep their numbers)."""
    missing = 1 + len(METRICS) - met.shape[1]
    return torch.cat([met, met.new_full((met.shape[0], missing), float("nan"))], 1) if missing > 0 else met


def _metrics_frame(met: torch.Tensor) -> pd.DataFrame:
    """[rows, 1 + len(METRICS)] float64, step first -> the table of Store.finish (step int64)."""
    df = pd.DataFrame(met.numpy(), columns=["step", *METRICS])
    df["step"] = df["step"].astype("int64")
    return df
