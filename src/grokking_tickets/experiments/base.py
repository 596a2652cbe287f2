"""Experiments are declared as arms; this module turns arms into runs and trains them.

An :class:`Arm` says what a group of runs is (dense, a magnitude ticket from a dense arm, a
pruning-at-initialization mask, a norm-matched dense control) and which config overrides it
has. :meth:`Context.train_arms` resolves every arm for every seed into a RunSpec, in two
stages: dense arms first (their weights are what tickets and controls are made from), then
the arms derived from them. Each stage goes to the runner in one call, so runs of the same
shape train as one population, and runs already in the store are never trained again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch

from ..config import Config, apply_overrides
from ..errors import UserError
from ..models import build_model
from ..pruning import build_mask
from ..pruning.controls import norm_ratio
from ..runner import train_runs
from ..spec import InitSpec, MaskSpec, RunSpec
from ..store import Store
from ..tasks import build_dataset


@dataclass(frozen=True)
class Arm:
    name: str
    overrides: tuple[str, ...] = ()  # `--set`-style overrides for this arm only
    mask: str | None = None  # None (dense) or a mask method: magnitude, random, snip, grasp, synflow
    rate: float | None = None  # fraction pruned; default ticket.rate
    ticket_step: int | None = None  # magnitude: step of the source run's weights; default ticket.step
    source: str = "base"  # the dense arm a ticket (or control) is made from
    norm_match: int | None = None  # 1 or 2: dense θ0 scaled to the L_p norm of `source`'s ticket
    seed_rates: dict[int, float] | None = field(default=None, hash=False)  # per-seed rate (critical rate)

    @property
    def dense(self) -> bool:
        return self.mask is None and self.norm_match is None


@dataclass
class Context:
    cfg: Config
    store: Store
    device: torch.device
    experiment: str
    scale: str = "paper"
    progress: bool = True
    executor: str = "local"  # or "ray": each cohort a Ray task
    ray_address: str | None = None
    _models: dict = field(default_factory=dict)

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.cfg.seeds

    def arm_cfg(self, arm: Arm) -> Config:
        return apply_overrides(self.cfg, list(arm.overrides))

    # -- resolving arms into run specs ------------------------------------------------------------

    def spec(self, arm: Arm, seed: int, arms: dict[str, Arm]) -> RunSpec:
        cfg = self.arm_cfg(arm)
        base = RunSpec.dense(cfg, seed)
        rate = self._rate(arm, seed, cfg)
        if arm.dense or (arm.mask is not None and rate == 0.0):  # rate 0 prunes nothing: the dense run
            return base
        if arm.norm_match is not None:  # θ0 · r_p, with r_p measured on the mask of `source`'s ticket
            ticket = self.spec(dataclasses.replace(arm, mask="magnitude", norm_match=None), seed, arms)
            model = self.model(ticket)
            mask = build_mask(ticket.init.mask, ticket, model, None, self.store)
            r = norm_ratio(model.init(seed), mask, arm.norm_match)
            return RunSpec(base.task, base.model, base.optim, base.train, seed, InitSpec(scale=r))
        if arm.mask == "magnitude":
            dense = self.source_spec(arm, seed, arms)
            chain = self.imp_chain(arm, seed, arms)
            src = chain[-1] if chain else dense
            t = cfg.ticket
            mask = MaskSpec("magnitude", rate, t.scope, src.run_id, arm.ticket_step or t.step)
            rewind = (dense.run_id, t.rewind_step) if t.rewind_step > 0 else (None, None)
            return RunSpec(base.task, base.model, base.optim, base.train, seed, InitSpec(1.0, mask, *rewind))
        return RunSpec(base.task, base.model, base.optim, base.train, seed, InitSpec(mask=MaskSpec(arm.mask, rate, cfg.ticket.scope)))

    def imp_chain(self, arm: Arm, seed: int, arms: dict[str, Arm]) -> list[RunSpec]:
        """The intermediate rounds of iterative magnitude pruning (empty for one shot).

        Round i (1 <= i < n) is a ticket at rate 1 - (1 - rate)^(i/n) made from round i-1's
        weights (round 0 is the dense source run) and trained like the source. The final
        round, the arm's own run, prunes to the full rate from round n-1's weights.
        """
        cfg = self.arm_cfg(arm)
        t = cfg.ticket
        if arm.mask != "magnitude" or t.rounds == 1:
            return []
        src = self.source_spec(arm, seed, arms)
        rate, step = self._rate(arm, seed, cfg), arm.ticket_step or t.step
        chain = []
        for i in range(1, t.rounds):
            r_i = round(1 - (1 - rate) ** (i / t.rounds), 12)
            init = InitSpec(mask=MaskSpec("magnitude", r_i, t.scope, src.run_id, step))
            src = RunSpec(src.task, src.model, src.optim, src.train, seed, init)
            chain.append(src)
        return chain

    def _rate(self, arm: Arm, seed: int, cfg: Config) -> float:
        if arm.seed_rates is not None:
            return arm.seed_rates[seed]
        return cfg.ticket.rate if arm.rate is None else arm.rate

    def source_spec(self, arm: Arm, seed: int, arms: dict[str, Arm]) -> RunSpec:
        if arm.source not in arms:
            raise UserError(f"arm {arm.name!r} is made from arm {arm.source!r}, which this experiment lacks")
        return RunSpec.dense(self.arm_cfg(arms[arm.source]), seed)

    def model(self, spec: RunSpec):
        key = (spec.task, spec.model)
        if key not in self._models:
            self._models[key] = build_model(spec.model, build_dataset(spec.task))
        return self._models[key]

    # -- training -----------------------------------------------------------------------------------

    def train_arms(self, arms: list[Arm], seeds: tuple[int, ...] | None = None) -> dict[str, list[RunSpec]]:
        """Train every arm for every seed (dense arms first); returns arm name -> specs."""
        seeds = seeds or self.seeds
        by_name = {a.name: a for a in arms}
        needed_sources = {a.source for a in arms if not a.dense}
        for name in needed_sources:
            if name not in by_name:
                raise UserError(f"experiment {self.experiment!r} needs the dense arm {name!r}")
        self._check_checkpoints(arms, by_name)
        out: dict[str, list[RunSpec]] = {}
        for stage in ([a for a in arms if a.dense], [a for a in arms if not a.dense]):
            # iterative pruning: its intermediate rounds, level by level, before the tickets
            chains = [self.imp_chain(a, s, by_name) for a in stage for s in seeds]
            for level in range(max((len(c) for c in chains), default=0)):
                self._train([c[level] for c in chains if len(c) > level])
            specs = {a.name: [self.spec(a, s, by_name) for s in seeds] for a in stage}
            self._train([s for v in specs.values() for s in v])
            self.store.register(
                self.experiment, [{"arm": a, "run_id": s.run_id, "seed": s.seed} for a, v in specs.items() for s in v]
            )
            out.update(specs)
        return out

    def _check_checkpoints(self, arms: list[Arm], by_name: dict[str, Arm]) -> None:
        """Before anything trains: every ticket's weights (``ticket.step``) and rewind point
        (``ticket.rewind_step``) must be steps its dense run saves, i.e. within its budget and
        on its checkpoint grid (every ``train.checkpoint_every`` steps, and the last step)."""
        for arm in arms:
            if arm.mask != "magnitude" and arm.norm_match is None:
                continue  # dense runs and pruning-at-init masks read no dense weights
            t, src = self.arm_cfg(arm).ticket, self.arm_cfg(by_name[arm.source]).train
            points = [("ticket.step", arm.ticket_step or t.step)]
            if t.rewind_step > 0:
                points.append(("ticket.rewind_step", t.rewind_step))
            for key, step in points:
                if step > src.steps or (step % src.checkpoint_every and step != src.steps):
                    named = key != "ticket.step" or arm.ticket_step is None  # the arm's own step is in its name
                    where = f"arm {arm.name!r} of {self.experiment}" + (f" ({key}={step})" if named else "")
                    raise UserError(
                        f"{where} needs the dense weights at step {step:,}, which the dense run never saves: "
                        f"it trains train.steps={src.steps:,} and saves every train.checkpoint_every="
                        f"{src.checkpoint_every:,} steps and at the end"
                    )

    def _train(self, specs: list[RunSpec]) -> None:
        train_runs(specs, self.store, self.device, progress=self.progress, executor=self.executor, ray_address=self.ray_address)

    # -- results --------------------------------------------------------------------------------------

    def results(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(summary rows of this experiment, its metrics joined with arm names)."""
        summary = self.store.write_tables(self.cfg.train.threshold)
        summary = summary[summary.experiment == self.experiment].reset_index(drop=True)
        metrics = pd.read_parquet(self.store.root / "metrics.parquet")
        metrics = metrics.merge(summary[["run_id", "arm"]], on="run_id")
        return summary, metrics


@dataclass
class ExperimentResult:
    claims: list[dict[str, Any]]
    figure: str | None = None
    table: pd.DataFrame | None = None
    notes: dict[str, Any] | None = None  # numbers an experiment reports beside its claims


class _Planned(Exception):
    """Raised by :class:`PlanContext` where the experiment would start training."""


@dataclass
class PlanContext(Context):
    """A Context that trains nothing: it records the runs an experiment's first training call
    would train, then stops the experiment. Runs whose identity depends on weights not yet
    trained (norm-matched controls measure the ticket's norm) are counted as ``unknown``;
    experiments that choose later arms from results (the critical-rate search) plan only
    their first stage."""

    planned: dict = field(default_factory=dict)  # run id -> RunSpec
    unknown: int = 0

    def train_arms(self, arms: list[Arm], seeds: tuple[int, ...] | None = None) -> dict[str, list[RunSpec]]:
        by_name = {a.name: a for a in arms}
        self._check_checkpoints(arms, by_name)
        for arm in arms:
            for seed in seeds or self.seeds:
                try:
                    for spec in [*self.imp_chain(arm, seed, by_name), self.spec(arm, seed, by_name)]:
                        self.planned[spec.run_id] = spec
                except UserError:  # needs the weights of a run that is not trained yet
                    self.unknown += 1
        raise _Planned
