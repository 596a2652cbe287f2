"""Arm kinds: what a group of runs of an experiment is, one small frozen dataclass per kind.

Every kind builds the RunSpec of one seed (:meth:`Arm.spec`), says whether it is dense (dense
arms train first: their weights are what the others are made from), which dense weights it
reads (:meth:`Arm.reads`, checked before anything trains) and which intermediate runs it needs
first (:meth:`Arm.chain`: iterative pruning). ``arms`` in these methods is the experiment's
arms by name, where a kind finds the dense arm it is made from. A new kind is one new class.

Rates: ``rate=None`` means ``ticket.rate`` of the arm's config; ``seed_rates`` gives each seed
its own (the critical rates). A masked arm at rate 0.0 prunes nothing: it *is* the dense run.
Likewise a ticket's ``step=None`` means ``ticket.step``, and ``seed_steps`` gives each seed its
own (a ticket from each dense run at the checkpoint after its t_gen).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from ..config import Config, TicketConfig, apply_overrides
from ..errors import UserError
from ..pruning import SCORERS, build_mask
from ..pruning.controls import norm_ratio
from ..spec import EdgePopupSpec, InitSpec, MaskSpec, RunSpec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..store import Store


class Context(Protocol):
    """What an arm reads of the context that resolves it (``base.Context`` is one): declared
    here so that arms sit below the orchestration, which imports them, and never import it back."""

    cfg: Config
    store: Store

    @property
    def seeds(self) -> tuple[int, ...]: ...

    def model(self, spec: RunSpec) -> Any: ...


def _scorer_names() -> tuple[str, ...]:
    """The methods a pruning-at-initialization arm may name: every registered scorer but those
    of a trained run's weights (magnitude: that is a :class:`Ticket`)."""
    return tuple(n for n, s in SCORERS.items() if not s.reads_trained_weights)


class Read(NamedTuple):
    """Dense weights an arm reads: arm ``source``'s run at ``step``. ``setting`` names the
    config key the step comes from (None: the arm's own field, which its name shows)."""

    source: str
    step: int
    setting: str | None


class Arm:
    """Base of the arm kinds. Subclasses are frozen dataclasses with ``name`` and ``overrides``
    (``--set``-style overrides for this arm only)."""

    name: str
    overrides: tuple[str, ...]
    dense: ClassVar[bool] = False  # trained in the first stage, read by the other arms

    def cfg(self, ctx: Context) -> Config:
        return apply_overrides(ctx.cfg, list(self.overrides))

    def spec(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> RunSpec:
        raise NotImplementedError

    def ready(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> bool:
        """Whether :meth:`spec` can be built now, before anything of this stage trains (a
        norm-matched control's id holds its ticket's norm, which needs trained weights)."""
        return True

    @property
    def sources(self) -> tuple[str, ...]:
        """The dense arms this arm is made from (they must be in the same experiment)."""
        return ()

    def reads(self, ctx: Context) -> list[Read]:
        """The dense weights this arm is made from: each must be a step its dense run saves."""
        return []

    def chain(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> list[RunSpec]:
        """Runs that must train, level by level, before this arm's own (empty for most kinds)."""
        return []

    def check(self, ctx: Context) -> None:
        """Refuse what cannot work on this configuration, before anything trains (a UserError)."""


def _rate(arm: Ticket | PaI, cfg: Config, seed: int) -> float:
    if arm.seed_rates is not None:
        return arm.seed_rates[seed]
    return cfg.ticket.rate if arm.rate is None else arm.rate


def _masked_start(arm: Ticket | PaI, ctx: Context, seed: int) -> tuple[Config, RunSpec, float]:
    """A masked arm's config, its seed's dense spec and its rate. At rate 0.0 the mask prunes
    nothing, and that dense spec is the arm's run."""
    cfg = arm.cfg(ctx)
    return cfg, RunSpec.dense(cfg, seed), _rate(arm, cfg, seed)


def _source_spec(ctx: Context, arm: Ticket | EdgePopup, seed: int, arms: Mapping[str, Arm]) -> RunSpec:
    if arm.source not in arms:
        raise UserError(f"arm {arm.name!r} is made from arm {arm.source!r}, which this experiment lacks")
    return RunSpec.dense(arms[arm.source].cfg(ctx), seed)


@dataclass(frozen=True)
class Dense(Arm):
    """Dense runs from θ0."""

    name: str
    overrides: tuple[str, ...] = ()
    dense: ClassVar[bool] = True

    def spec(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> RunSpec:
        return RunSpec.dense(self.cfg(ctx), seed)


@dataclass(frozen=True)
class Ticket(Arm):
    """Magnitude pruning of dense arm ``source``'s weights at ``step`` (default ``ticket.step``;
    ``seed_steps``: a step per seed), survivors rewound to θ0 or to ``ticket.rewind_step``;
    iterative with ``ticket.rounds``."""

    name: str
    overrides: tuple[str, ...] = ()
    rate: float | None = None
    step: int | None = None
    source: str = "base"
    seed_rates: dict[int, float] | None = field(default=None, hash=False)
    seed_steps: dict[int, int] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.step is not None and self.seed_steps is not None:
            raise UserError(f"arm {self.name!r}: give a ticket either step or seed_steps, not both")

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    def _step(self, t: TicketConfig, seed: int) -> int:
        if self.seed_steps is not None:
            if seed not in self.seed_steps:
                have = sorted(self.seed_steps)
                raise UserError(f"arm {self.name!r} has no ticket step for seed {seed}; it has seeds {have}")
            return self.seed_steps[seed]
        return t.step if self.step is None else self.step

    def spec(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> RunSpec:
        cfg, base, rate = _masked_start(self, ctx, seed)
        if rate == 0.0:
            return base
        dense = _source_spec(ctx, self, seed, arms)
        chain = self.chain(ctx, seed, arms)
        t = cfg.ticket
        mask = MaskSpec("magnitude", rate, t.scope, (chain[-1] if chain else dense).run_id, self._step(t, seed))
        if t.rewind_step > 0:  # late rewinding: survivors start from the dense run at that step
            init = InitSpec(mask=mask, rewind_source=dense.run_id, rewind_step=t.rewind_step)
        else:
            init = InitSpec(mask=mask)
        return dataclasses.replace(base, init=init)

    def chain(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> list[RunSpec]:
        """The intermediate rounds of iterative magnitude pruning (empty for one shot).

        Round i (1 <= i < n) is a ticket at rate 1 - (1 - rate)^(i/n) made from round i-1's
        weights (round 0 is the dense source run) and trained like the source. The final
        round, the arm's own run, prunes to the full rate from round n-1's weights.
        """
        cfg = self.cfg(ctx)
        t = cfg.ticket
        if t.rounds == 1:
            return []
        src = _source_spec(ctx, self, seed, arms)
        rate, step = _rate(self, cfg, seed), self._step(t, seed)
        chain = []
        for i in range(1, t.rounds):
            r_i = round(1 - (1 - rate) ** (i / t.rounds), 12)
            src = dataclasses.replace(src, init=InitSpec(mask=MaskSpec("magnitude", r_i, t.scope, src.run_id, step)))
            chain.append(src)
        return chain

    def reads(self, ctx: Context) -> list[Read]:
        t = self.cfg(ctx).ticket
        if self.seed_steps is not None:
            out = [Read(self.source, step, None) for step in sorted(set(self.seed_steps.values()))]
        elif self.step is None:
            out = [Read(self.source, t.step, "ticket.step")]
        else:
            out = [Read(self.source, self.step, None)]
        if t.rewind_step > 0:
            out.append(Read(self.source, t.rewind_step, "ticket.rewind_step"))
        return out


@dataclass(frozen=True)
class PaI(Arm):
    """A pruning-at-initialization mask of θ0, by scorer ``method``, at the ticket's rate."""

    name: str
    method: str
    overrides: tuple[str, ...] = ()
    rate: float | None = None
    seed_rates: dict[int, float] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:  # a typo fails when the experiment is built, before any training
        if self.method not in _scorer_names():
            raise UserError(
                f"arm {self.name!r}: unknown pruning-at-initialization method {self.method!r}; "
                f"valid methods: {', '.join(_scorer_names())}"
            )

    def spec(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> RunSpec:
        cfg, base, rate = _masked_start(self, ctx, seed)
        if rate == 0.0:
            return base
        return dataclasses.replace(base, init=InitSpec(mask=MaskSpec(self.method, rate, cfg.ticket.scope)))

    def check(self, ctx: Context) -> None:
        model = ctx.model(RunSpec.dense(self.cfg(ctx), ctx.seeds[0]))
        if not SCORERS[self.method].applies_to(model):
            raise UserError(f"arm {self.name!r}: pruning method {self.method!r} does not apply to model {model.name!r}")


@dataclass(frozen=True)
class NormMatched(Arm):
    """The dense θ0 scaled by r_p, so that it has the L_p norm of the ticket made from ``source``
    (measured on that ticket's mask; the ticket's weights must be trained first)."""

    name: str
    p: int
    source: str = "base"
    overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.p < 1:
            raise UserError(f"arm {self.name!r}: the norm p must be at least 1; got {self.p}")

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    def ticket(self) -> Ticket:
        """The ticket whose norm this control matches (same overrides and source)."""
        return Ticket(self.name, self.overrides, source=self.source)

    def ready(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> bool:
        mask = self.ticket().spec(ctx, seed, arms).init.mask
        src = mask.source
        return src is None or ctx.store.is_done(src) or ctx.store.weights_path(src, mask.step).exists()

    def spec(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> RunSpec:
        ticket = self.ticket().spec(ctx, seed, arms)
        model = ctx.model(ticket)
        mask = build_mask(ticket.init.mask, ticket, model, None, ctx.store)
        r = norm_ratio(model.init(seed), mask, self.p)
        return dataclasses.replace(RunSpec.dense(self.cfg(ctx), seed), init=InitSpec(scale=r))

    def reads(self, ctx: Context) -> list[Read]:
        return self.ticket().reads(ctx)


@dataclass(frozen=True)
class EdgePopup(Arm):
    """Edge-popup (train/edge_popup.py): dense arm ``source``'s weights at ``step`` frozen, a
    score per weight trained; every matrix keeps the ``density`` fraction of its weights with
    the largest |score|. ``step=None`` means ``ticket.step`` (the generalized weights); 0 is θ0.
    The arm's config (its overrides) sets the scores' optimizer and budget."""

    name: str
    density: float
    step: int | None = None
    source: str = "base"
    overrides: tuple[str, ...] = ()
    learn_weights: bool = False  # the kept weights train too (EdgePopupSpec.learn_weights)

    def __post_init__(self) -> None:  # bad input fails when the experiment is built, before any training
        if isinstance(self.density, bool) or not isinstance(self.density, (int, float)) or not 0 < self.density <= 1:
            raise UserError(
                f"arm {self.name!r}: an edge-popup density (fraction kept) must lie in (0, 1]; got {self.density!r}"
            )
        if self.step is not None and (isinstance(self.step, bool) or not isinstance(self.step, int) or self.step < 0):
            raise UserError(
                f"arm {self.name!r}: the step of the frozen weights must be an integer >= 0; got {self.step!r}"
            )

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    def _step(self, cfg: Config) -> int:
        return cfg.ticket.step if self.step is None else self.step

    def spec(self, ctx: Context, seed: int, arms: Mapping[str, Arm]) -> RunSpec:
        cfg = self.cfg(ctx)
        dense = _source_spec(ctx, self, seed, arms)
        ep = EdgePopupSpec(dense.run_id, self._step(cfg), float(self.density), self.learn_weights or None)
        return dataclasses.replace(RunSpec.dense(cfg, seed), init=InitSpec(edge_popup=ep))

    def reads(self, ctx: Context) -> list[Read]:
        return [Read(self.source, self._step(self.cfg(ctx)), "ticket.step" if self.step is None else None)]

    def check(self, ctx: Context) -> None:
        if self.cfg(ctx).optim.grad_filter != "none":
            raise UserError(f"arm {self.name!r}: edge-popup trains scores; set optim.grad_filter=none for it")
