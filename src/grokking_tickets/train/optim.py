"""AdamW for stacked populations, with one weight decay per member.

Semantics are torch.optim.AdamW's (decoupled weight decay, bias-corrected moments). The
moments are stacked [K, ...] tensors like the parameters; the kernel is handed one view per
(member, matrix), so each member's elements are computed exactly as in a solo run (on a
whole [K, ...] block, where SIMD and scalar code meet would move with K and change last bits).

The fused kernel (torch._fused_adamw_, what torch.optim.AdamW(fused=True) calls) is called
directly, one call per distinct weight decay: it saves the optimizer's Python bookkeeping,
which is ~5% of a step at K=8, and the separate weight-decay pass. Where no fused kernel
exists, an equivalent foreach implementation runs instead.
"""

from __future__ import annotations

import math
from collections import defaultdict

import torch

from ..config import OptimConfig

Params = dict[str, torch.Tensor]


class PopulationAdamW:
    def __init__(self, params: Params, weight_decays: list[float], cfg: OptimConfig, fused: bool | None = None):
        self.cfg, self.params = cfg, params
        self.m = {n: torch.zeros_like(p) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in params.items()}
        self.t = 0
        device = next(iter(params.values())).device
        self.fused = (device.type in ("cpu", "cuda") and hasattr(torch, "_fused_adamw_")) if fused is None else fused
        groups: dict[float, list[int]] = defaultdict(list)
        for k, wd in enumerate(weight_decays):
            groups[float(wd)].append(k)
        self.groups = dict(groups)  # weight decay -> members
        # one float32 step counter per (member, matrix), as the fused kernel expects
        self._steps = {k: [torch.zeros((), device=device) for _ in params] for k in range(len(weight_decays))}
        self._group_views = {wd: self._views(members) for wd, members in self.groups.items()}  # built once

    def _views(self, members: list[int]) -> tuple[list, list, list, list]:
        """Per-(member, matrix) views of parameters, moments and step counters, in one order."""
        ps, ms, vs, ts = [], [], [], []
        for k in members:
            ps += [self.params[n][k] for n in self.params]
            ms += [self.m[n][k] for n in self.params]
            vs += [self.v[n][k] for n in self.params]
            ts += self._steps[k]
        return ps, ms, vs, ts

    @torch.no_grad()
    def step(self, grads: Params) -> None:
        c = self.cfg
        self.t += 1
        for wd, members in self.groups.items():
            ps, ms, vs, ts = self._group_views[wd]
            gs = [grads[n][k] for k in members for n in self.params]
            torch._foreach_add_(ts, 1)
            if self.fused:
                torch._fused_adamw_(
                    ps, gs, ms, vs, [], ts,
                    lr=c.lr, beta1=c.beta1, beta2=c.beta2, weight_decay=wd, eps=c.eps, amsgrad=False, maximize=False,
                )  # fmt: skip
            else:
                self._foreach_step(ps, gs, ms, vs, wd)

    def _foreach_step(self, ps, gs, ms, vs, wd: float) -> None:
        c = self.cfg
        if wd:
            torch._foreach_mul_(ps, 1 - c.lr * wd)
        torch._foreach_lerp_(ms, gs, 1 - c.beta1)
        torch._foreach_mul_(vs, c.beta2)
        torch._foreach_addcmul_(vs, gs, gs, 1 - c.beta2)
        bc1, bc2 = 1 - c.beta1**self.t, 1 - c.beta2**self.t
        denom = torch._foreach_sqrt(vs)
        torch._foreach_div_(denom, math.sqrt(bc2))
        torch._foreach_add_(denom, c.eps)
        torch._foreach_addcdiv_(ps, ms, denom, -c.lr / bc1)

    def load(self, m: Params, v: Params, t: int) -> None:
        """Restore moments ([K, ...] each) and the step count."""
        for n in self.params:
            self.m[n].copy_(m[n])
            self.v[n].copy_(v[n])
        self.t = t
        for steps in self._steps.values():
            for s in steps:
                s.fill_(float(t))
