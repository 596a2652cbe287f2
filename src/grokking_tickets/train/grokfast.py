"""Grokfast (Lee et al. 2024, "Grokfast: Accelerated Grokking by Amplifying Slow Gradients").

Each step, after the backward pass and before the optimizer, a member's gradient g of every
parameter is replaced by

    g + λ · f,

where f is a low-pass filter of that member's gradients so far (``optim.grad_filter``):

``ema``  f_t = α · f_{t-1} + (1 − α) · g_t, starting from f_0 = g_1. The authors' code
         (``gradfilter_ema``) seeds its state with the first gradient, and so do we: from f_0 = 0
         the filter would start at (1 − α) · g_1 (2% of the gradient at α = 0.98) and take
         ~1/(1 − α) = 50 steps to reach the gradients' scale, a start-up bias like that of
         Adam's uncorrected moments. Defaults α = 0.98, λ = 2.
``ma``   f_t = the mean of the last w gradients g_{t−w+1} … g_t (the current one included), added
         only once w gradients are collected (t ≥ w): before that the gradient passes unchanged
         (the paper's Algorithm 1, the warm-up of ``gradfilter_ma``). Defaults w = 100, λ = 5.
         The window's sum is kept as a float64 running sum (add the new gradient, subtract the
         one leaving), so a step costs O(1) in w instead of re-adding w gradients; the float32
         mean then differs from a float32 re-sum of the window only in its last bits. Its state
         is w gradients per member: w times the model's size, in memory and in the resume state.

The filter is per member: its state and settings are the member's own, and members with
different filters (or none) share a population. Exactness: every operation is elementwise and
runs on the member's own tensors (views of its slice of the [K, ...] gradient, in the
parameter's layout), as separate IEEE multiplies and adds: a member's bits do not depend on its
population, and the EMA's arithmetic is the authors' ``ema * α + g * (1 − α)``,
``g + ema * λ``, operation for operation. Masks are applied by the optimizer after the filter,
so a pruned weight gets a zero update whatever the filter holds.

The state is saved with the resume state (``state_of``/``load``): a resumed run equals an
uninterrupted one, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import OptimConfig

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class FilterSpec:
    """One member's filter: ``kind`` 'ema' (uses ``alpha``) or 'ma' (uses ``window``), and λ."""

    kind: str
    lamb: float
    alpha: float = 0.98
    window: int = 100

    @classmethod
    def of(cls, optim: OptimConfig) -> FilterSpec | None:
        """The filter ``optim`` asks for, None for ``grad_filter = "none"``; only the settings the
        filter uses are kept, so two members that filter alike get equal specs."""
        if optim.grad_filter == "none":
            return None
        if optim.grad_filter == "ema":
            return cls("ema", optim.filter_lambda, alpha=optim.grokfast_alpha)
        return cls("ma", optim.filter_lambda, window=optim.grokfast_window)


class GradFilter:
    """The Grokfast filters of a population: member k filtered by ``specs[k]`` (None: untouched).

    ``params`` ({name: [K, ...]}) gives the names, shapes and dtype of the gradients to come.
    """

    def __init__(self, specs: list[FilterSpec | None], params: Params):
        self.specs = specs
        self.names = list(params)
        self.params = params
        self.groups: dict[FilterSpec, list[int]] = {}
        for k, spec in enumerate(specs):
            if spec is not None:
                self.groups.setdefault(spec, []).append(k)
        self.state: dict[int, Params] = {}  # member -> its filter's tensors (empty until its first step)
        self.t = 0  # steps filtered so far: the population's step count

    @torch.no_grad()
    def apply(self, grads: Params) -> Params:
        """Filter one step's gradients ({name: [K, ...]} in the parameters' layout) in place."""
        self.t += 1
        for spec, members in self.groups.items():
            if spec.kind == "ema":
                self._ema(spec, members, grads)
            else:
                self._ma(spec, members, grads)
        return grads

    def _ema(self, spec: FilterSpec, members: list[int], grads: Params) -> None:
        for k in members:
            if k not in self.state:  # f_0 = g_1, as the authors' code
                self.state[k] = {f"ema.{n}": grads[n][k].clone() for n in self.names}
        gs = [grads[n][k] for k in members for n in self.names]
        fs = [self.state[k][f"ema.{n}"] for k in members for n in self.names]
        torch._foreach_mul_(fs, spec.alpha)  # f = f * α + g * (1 − α)
        torch._foreach_add_(fs, torch._foreach_mul(gs, 1 - spec.alpha))
        torch._foreach_add_(gs, torch._foreach_mul(fs, spec.lamb))  # g = g + f * λ

    def _ma(self, spec: FilterSpec, members: list[int], grads: Params) -> None:
        w, slot = spec.window, (self.t - 1) % spec.window
        for k in members:
            if k not in self.state:
                self.state[k] = {}
                for n in self.names:
                    p = self.params[n][k]
                    self.state[k][f"buf.{n}"] = torch.zeros((w, *p.shape), dtype=p.dtype, device=p.device)
                    self.state[k][f"sum.{n}"] = torch.zeros(p.shape, dtype=torch.float64, device=p.device)
        for k in members:
            st = self.state[k]
            for n in self.names:
                g, buf, total = grads[n][k], st[f"buf.{n}"], st[f"sum.{n}"]
                total.add_(g)
                if self.t > w:  # g_{t-w} leaves the window
                    total.sub_(buf[slot])
                buf[slot].copy_(g)
                if self.t >= w:
                    g.add_((total / w).to(g.dtype).mul_(spec.lamb))  # g = g + mean * λ

    # -- resume -----------------------------------------------------------------------------------

    def state_of(self, k: int) -> Params:
        """Member k's filter state, to be saved with its resume state (keys prefixed ``grokfast.``)."""
        return {f"grokfast.{key}": t.cpu().contiguous() for key, t in self.state.get(k, {}).items()}

    @torch.no_grad()
    def load(self, states: list[Params], step: int) -> None:
        """Restore every member's filter state from its saved resume state at ``step``."""
        self.t = step
        self.state = {}
        device = next(iter(self.params.values())).device
        for k, saved in enumerate(states):
            if self.specs[k] is None:
                continue
            mine = {key[len("grokfast.") :]: t.to(device) for key, t in saved.items() if key.startswith("grokfast.")}
            if step > 0 and not mine:
                raise ValueError(f"member {k}: its resume state at step {step} holds no Grokfast filter state")
            if mine:
                self.state[k] = mine
