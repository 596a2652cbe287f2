"""Training the runs of several experiments together: what `reproduce` trains ahead.

Each experiment trains its own stages (base.Context.train_arms), so run one after another the
experiments of a configuration would fill their populations separately: tickets' 2 dense runs,
then pai's masks, then ticket-timeline's tickets, each cohort a few members wide. Before
`reproduce` runs a configuration's experiments, :func:`train_ahead` takes the runs of every
experiment's first stage (the configuration's part of reproduce's one plan, plan.py: the runs
``status --plan`` counts, found without training), and trains every one whose inputs are in
the store (no inputs, or the dense runs its mask, rewind or frozen weights come from) in one
call to the runner, which groups them by cohort key into populations as wide as the device
allows; then the runs whose inputs that call made, and so on. The experiments then run as
always and find these runs done. Which population a run trains in changes none of its bits (a
member computes what its run computes alone), so this changes where the time goes, not a number.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..executors import Executor
from ..runner import train_runs
from ..spec import RunSpec
from ..store import Store


def inputs(spec: RunSpec) -> set[str]:
    """The runs whose weights ``spec`` starts from: its mask's source, its rewind source, the
    run whose weights an edge-popup run freezes."""
    init = spec.init
    found = {
        init.mask.source if init.mask is not None else None,
        init.rewind_source,
        init.edge_popup.source if init.edge_popup is not None else None,
    }
    return {r for r in found if r is not None}


def train_ahead(
    planned: Mapping[str, RunSpec],
    store: Store,
    device,
    progress: bool = True,
    executor: Executor | None = None,
) -> tuple[int, int]:
    """Train ``planned`` (run id -> spec: a configuration's first-stage runs, plan.ConfigPlan)
    wave by wave: each wave every run whose inputs are done. Returns (runs trained, model-steps
    trained)."""
    todo = {r: s for r, s in planned.items() if not store.is_done(r)}
    runs = steps = 0
    while todo:
        wave = [s for s in todo.values() if all(store.is_done(i) for i in inputs(s))]
        if not wave:  # what is left waits on runs outside the plan's first stages: the experiments train it
            break
        steps += train_runs(wave, store, device, progress=progress, executor=executor)
        runs += len(wave)
        for s in wave:
            del todo[s.run_id]
    return runs, steps
