"""Experiments as objects, and the Context that turns their arms into trained runs.

An :class:`Experiment` declares its arms (:mod:`.arms`), its grids at each scale, the models it
is defined for, its figure and its claims (:class:`~..analysis.claims.ClaimDef`, next to the
code that judges them). It registers itself in :data:`EXPERIMENTS` where it is defined, so a
new experiment is one new module of this package.

:meth:`Experiment.stages` declares what to train, one :class:`Stage` after another (most
experiments have one; a stage after the first may read the results of those before it, as a
critical rate does). The context decides what a stage means: :class:`Context` trains it
(:meth:`Context.train_arms`: every arm for every seed resolved into a RunSpec, dense arms first,
each level in one call to the runner, so runs of the same shape train as one population and runs
already in the store are never trained again), :class:`PlanContext` records the first stage's
runs and trains nothing, and sensitivity's judge reports a stage whose runs the store lacks.
No context stops an experiment by raising: a stage that cannot be had returns None.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, TypeVar

import pandas as pd
import torch
from matplotlib.figure import Figure

from ..analysis.claims import ClaimDef, labelled
from ..analysis.figures import save
from ..analysis.tables import write_tables
from ..config import Config
from ..errors import UserError
from ..executors import Executor
from ..models import build_model
from ..registry import Registry
from ..runner import train_runs
from ..spec import RunSpec
from ..store import Store
from ..tasks import build_dataset
from .arms import Arm

# The paper's three configurations keep the names they always had: the MLP on modular addition
# is bare (tickets, C1), the others carry their model (tickets@transformer, C6@mnist-mlp).
_PAPER_LABELS = {("mlp", "modular", "add"): "", ("transformer", "modular", "add"): "transformer",
                 ("mnist-mlp", "mnist", ""): "mnist-mlp"}  # fmt: skip


# The quick scale's early stop (train.stop_margin, cohort.py): an arm that nothing is made from,
# and whose runs its experiment's claims read only the t_gen of, ends each run at the first
# checkpoint this many steps after its t_gen; a run that never generalizes trains its whole
# budget. The paper scale trains every run to its budget (the paper's protocol).
QUICK_STOP_MARGIN = 2000


def stops_early(ctx: Context) -> tuple[str, ...]:
    """The overrides that give an arm the stop rule at ``ctx``'s scale (none at `paper`). An
    experiment adds them to the arms its claims read only t_gen of and that are no arm's source."""
    return (f"train.stop_margin={QUICK_STOP_MARGIN}",) if ctx.scale == "quick" else ()


def config_label(cfg: Config) -> str:
    """The label of a configuration: which model on which task (modular tasks by their op).

    Any configuration but the paper's three gets ``MODEL-OP`` (mlp-mul, transformer-sub) or,
    off modular arithmetic, ``MODEL-TASK``, so its experiments, figures and claim ids
    (C1@mlp-mul) never overwrite the paper's. Settings (p, widths, train_frac, weight decay,
    the ticket's) do not enter the label: it separates kinds of configuration, while runs are
    keyed by their full settings anyway, and one experiment name holds, per arm and seed, the run
    registered last in a store (docs/experiments.md: use a fresh --out for a clean comparison of
    settings).
    """
    model, task = cfg.model.name, cfg.task.name
    op = cfg.task.op if task == "modular" else ""
    return _PAPER_LABELS.get((model, task, op), f"{model}-{op or task}")


def experiment_label(name: str, cfg: Config) -> str:
    """The name an experiment is filed under in a store, and its figure's stem (tickets@transformer)."""
    return labelled(name, config_label(cfg))


@dataclass
class Context:
    cfg: Config
    store: Store
    device: torch.device
    experiment: str  # the name this experiment is filed under (experiment_label)
    scale: str = "paper"
    progress: bool = True
    executor: Executor | None = None  # where cohorts train (None: here, one after another)
    model_steps: int = 0  # model-steps this context trained (runs found in the store cost none)
    stopping: dict = field(default_factory=dict)  # arm name -> the stop margin of its runs (stops_early)
    _models: dict = field(default_factory=dict)

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.cfg.seeds

    @property
    def label(self) -> str:
        return config_label(self.cfg)

    def model(self, spec: RunSpec):
        key = (spec.task, spec.model)
        if key not in self._models:
            self._models[key] = build_model(spec.model, build_dataset(spec.task, spec.split_seed))  # shapes only
        return self._models[key]

    # -- training -----------------------------------------------------------------------------------

    def train_arms(self, arms: list[Arm], seeds: tuple[int, ...] | None = None) -> dict[str, list[RunSpec]] | None:
        """Train every arm for every seed (dense arms first); returns arm name -> specs (a
        context that cannot have the runs, such as a judge of a store without them, returns None)."""
        seeds = seeds or self.seeds
        by_name = self._by_name(arms)
        out: dict[str, list[RunSpec]] = {}
        for stage in dense_first(arms):
            # iterative pruning: its intermediate rounds, level by level, before the tickets
            chains = [a.chain(self, s, by_name) for a in stage for s in seeds]
            for level in range(max((len(c) for c in chains), default=0)):
                self._train([c[level] for c in chains if len(c) > level])
            specs = {a.name: [self._spec(a, s, by_name) for s in seeds] for a in stage}
            self.stopping.update({a: v[0].train.stop_margin for a, v in specs.items() if v and v[0].train.stop_margin})
            self._train([s for v in specs.values() for s in v])
            self._register([{"arm": a, "run_id": s.run_id, "seed": s.seed} for a, v in specs.items() for s in v])
            out.update(specs)
        return out

    def _by_name(self, arms: list[Arm]) -> dict[str, Arm]:
        """arm name -> arm, once every arm's source is among them and :meth:`_check_arms` passed."""
        by_name = {a.name: a for a in arms}
        for name in {s for a in arms for s in a.sources}:
            if name not in by_name:
                raise UserError(f"experiment {self.experiment!r} needs the dense arm {name!r}")
        self._check_arms(arms, by_name)
        return by_name

    def _check_arms(self, arms: list[Arm], by_name: Mapping[str, Arm]) -> None:
        """Before anything trains: each arm's own checks (:meth:`Arm.check`), and every ticket's weights (``ticket.step``) and rewind point
        (``ticket.rewind_step``) must be steps its dense run saves, i.e. within its budget and
        on its checkpoint grid (every ``train.checkpoint_every`` steps, and the last step)."""
        for arm in arms:
            arm.check(self)
            for name in arm.sources:
                if by_name[name].cfg(self).train.stop_margin:
                    raise UserError(
                        f"{self.experiment}: arm {arm.name!r} is made from the weights of arm {name!r}, whose runs "
                        "stop early (train.stop_margin); a source arm trains its whole budget"
                    )
            for read in arm.reads(self):
                src, step = by_name[read.source].cfg(self).train, read.step
                if step > src.steps or (step % src.checkpoint_every and step != src.steps):
                    named = f" ({read.setting}={step})" if read.setting else ""
                    where = f"arm {arm.name!r} of {self.experiment}{named}"
                    raise UserError(
                        f"{where} needs the dense weights at step {step:,}, which the dense run never saves: "
                        f"it trains train.steps={src.steps:,} and saves every train.checkpoint_every="
                        f"{src.checkpoint_every:,} steps and at the end"
                    )

    def _spec(self, arm: Arm, seed: int, by_name: Mapping[str, Arm]) -> RunSpec:
        """The run of ``arm`` for ``seed`` (a judge reading a folder without weights overrides it)."""
        return arm.spec(self, seed, by_name)

    def _train(self, specs: list[RunSpec]) -> None:
        """The one call into the runner."""
        self.model_steps += train_runs(specs, self.store, self.device, progress=self.progress, executor=self.executor)

    def _register(self, rows: list[dict[str, Any]]) -> None:
        """The one call that files runs under this experiment in the store, with the threshold
        its grokking times are read at (analysis/tables.py); one run per arm and seed, the
        latest (store.register)."""
        self.store.register(
            self.experiment, [{**r, "threshold": self.cfg.train.threshold} for r in rows], one_per_seed=True
        )

    def _tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The one call that rebuilds summary.csv and metrics.parquet; (summary, metrics) of at
        least this experiment's runs."""
        summary = write_tables(self.store)
        return summary, pd.read_parquet(self.store.root / "metrics.parquet")

    # -- results --------------------------------------------------------------------------------------

    def results(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(summary rows of this experiment, its metrics joined with arm names)."""
        summary, metrics = self._tables()
        summary = summary[summary.experiment == self.experiment].reset_index(drop=True)
        return summary, metrics.merge(summary[["run_id", "arm"]], on="run_id")


def dense_first(arms: list[Arm]) -> tuple[list[Arm], list[Arm]]:
    """The dense arms, then the arms made from their weights (tickets, controls, supermasks)."""
    return [a for a in arms if a.dense], [a for a in arms if not a.dense]


class Stage(NamedTuple):
    """What an experiment trains at once: its arms, for ``seeds`` (None: the context's seeds)."""

    arms: list[Arm]
    seeds: tuple[int, ...] | None = None


@dataclass
class ExperimentResult:
    claims: list[dict[str, Any]]
    figure: str | None = None
    table: pd.DataFrame | None = None
    notes: dict[str, Any] | None = None  # numbers an experiment reports beside its claims
    model_steps: int = 0  # what this call trained (runs already in the store cost none)


@dataclass
class PlanContext(Context):
    """A Context that trains nothing: :meth:`plan_arms` records the runs of an experiment's
    first stage. Runs whose identity depends on weights not trained yet (a norm-matched control
    measures its ticket's norm: :meth:`Arm.ready`) are counted as ``unknown``; experiments that
    choose later stages from results (each seed's critical rate) plan only their first."""

    planned: dict = field(default_factory=dict)  # run id -> RunSpec
    unknown: int = 0

    def plan_arms(self, arms: list[Arm], seeds: tuple[int, ...] | None = None) -> None:
        by_name = self._by_name(arms)
        for arm in arms:
            for seed in seeds or self.seeds:
                if not arm.ready(self, seed, by_name):
                    self.unknown += 1
                    continue
                for spec in [*arm.chain(self, seed, by_name), arm.spec(self, seed, by_name)]:
                    self.planned[spec.run_id] = spec


@dataclass(frozen=True)
class Grid:
    """An experiment's grid (its rates, ticket steps or decays) at each scale. `quick` is
    coarser than `paper`; budgets stay as they are (see run.scaled)."""

    paper: tuple
    quick: tuple


class Experiment:
    """One experiment (a figure of the paper): its arms, grids, figure and claims.

    Subclasses set the class attributes and implement :meth:`arms` (or :meth:`stages`, when
    later arms are chosen from results), :meth:`figure`, and :meth:`judge` where they make claims.
    ``run`` trains, judges, draws; it is the same for every experiment.
    """

    name: ClassVar[str]
    description: ClassVar[str]  # one line, for the CLI's list
    # A paragraph for the report: what the experiment asks and how to read its figure and rows,
    # for a reader who has not read this code ("": the description stands in).
    about: ClassVar[str] = ""
    models: ClassVar[tuple[str, ...] | None] = None  # the model.name values it is defined for; None: all
    grids: ClassVar[Grid | None] = None
    claims: ClassVar[tuple[ClaimDef, ...]] = ()

    def paragraph(self) -> str:
        """What the report prints under the experiment's heading."""
        return " ".join(self.about.split()) or self.description

    def check(self, cfg: Config) -> None:
        """Refuse a configuration this experiment is not defined for (before anything trains)."""
        if self.models is not None and cfg.model.name not in self.models:
            models = " or ".join(self.models)
            raise UserError(f"experiment {self.name!r} is defined for model.name = {models}; got {cfg.model.name!r}")

    def grid(self, ctx: Context) -> tuple:
        return getattr(self.grids, ctx.scale)

    def arms(self, ctx: Context) -> list[Arm]:
        raise NotImplementedError

    def stages(self, ctx: Context) -> Iterator[Stage]:
        """What to train, in order. One stage of :meth:`arms` unless an experiment picks later
        arms from the results of earlier ones (it reads them with ``ctx.results()`` between
        its yields); the context has the stage before the generator resumes."""
        yield Stage(self.arms(ctx))

    def judge(
        self, ctx: Context, summary: pd.DataFrame, metrics: pd.DataFrame, trained: dict[str, list[RunSpec]]
    ) -> list[dict[str, Any]]:
        """The claims.json rows of this experiment's claims (see :meth:`claim`); ``trained``:
        arm name -> the runs of every stage."""
        return []

    def notes(self, ctx: Context, summary: pd.DataFrame) -> dict[str, Any] | None:
        """Numbers reported beside the figure, for experiments without claims."""
        return None

    def figure(self, ctx: Context, summary: pd.DataFrame, metrics: pd.DataFrame) -> Figure:
        raise NotImplementedError

    def claim(self, ctx: Context, defn: ClaimDef, measured: dict[str, Any], holds: bool | None, **fields: Any) -> dict:
        """One judged claim, its id under this configuration's label."""
        return defn.row(ctx.label, measured, holds, **fields)

    def judged(self, ctx: Context) -> tuple[list[dict[str, Any]], pd.DataFrame, pd.DataFrame] | None:
        """Train every stage, then judge: (claims.json rows, summary, metrics), nothing drawn;
        None where the context cannot have a stage's runs."""
        self.check(ctx.cfg)
        trained: dict[str, list[RunSpec]] = {}
        for stage in self.stages(ctx):
            specs = ctx.train_arms(stage.arms, stage.seeds)
            if specs is None:
                return None
            for arm, runs in specs.items():  # a later stage may name an earlier arm again (its source)
                have = trained.setdefault(arm, [])
                have += [r for r in runs if r not in have]
        summary, metrics = ctx.results()
        return self.judge(ctx, summary, metrics, trained), summary, metrics

    def run(self, ctx: Context) -> ExperimentResult:
        judged = self.judged(ctx)
        if judged is None:  # only a context that trains nothing gets here
            raise UserError(f"{ctx.experiment}: the store lacks runs this experiment needs")
        claims, summary, metrics = judged
        note = None
        if ctx.stopping:  # say where curves stop, and why
            arms = ", ".join(sorted(ctx.stopping))
            margins = " or ".join(f"{m:,}" for m in sorted(set(ctx.stopping.values())))
            note = (f"Runs of {arms} stop {margins} steps after their t_gen (train.stop_margin): their curves end "
                    "there, and an arm's median and range end where its first run does.")  # fmt: skip
        figure = save(self.figure(ctx, summary, metrics), ctx.store.root, ctx.experiment, note)
        return ExperimentResult(claims, figure, notes=self.notes(ctx, summary))

    def plan(self, ctx: PlanContext) -> None:
        """Record in ``ctx`` what :meth:`run` would train first, training nothing."""
        self.check(ctx.cfg)
        first = next(iter(self.stages(ctx)))
        ctx.plan_arms(first.arms, first.seeds)


def plan_experiment(experiment: Experiment, cfg: Config, store: Store, device, scale: str) -> PlanContext:
    """The :class:`PlanContext` of ``experiment`` under ``cfg`` after planning it: what its first
    stage would train in ``store`` (``status --plan`` and ``reproduce``'s training ahead)."""
    ctx = PlanContext(cfg, store, device, experiment_label(experiment.name, cfg), scale, progress=False)
    experiment.plan(ctx)
    return ctx


EXPERIMENTS: Registry[Experiment] = Registry("experiment")

E = TypeVar("E", bound=type[Experiment])


def register(cls: E) -> E:
    """Class decorator: register one instance of an experiment under its name."""
    EXPERIMENTS.register(cls())
    return cls


def figure_of(cid: str) -> str | None:
    """The stem of the figure a claim id is judged from: "C6@transformer" -> "norm-control@transformer",
    "C2" -> "tickets@transformer" (the configuration C2 is stated for); None for an unknown claim."""
    base, _, label = cid.partition("@")
    from ..analysis.registry import registered

    judged = [(name, e.claims) for name, e in EXPERIMENTS.items()]
    judged += [(a.figure_of_claim[c.id], (c,)) for _, a in registered().items() for c in a.claims]
    for stem, claims in judged:
        for c in claims:
            if c.id == base:
                return labelled(stem, label or c.config)
    return None
