"""AdamW for stacked populations, with one weight decay and one mask per member.

Semantics are torch.optim.AdamW's (decoupled weight decay, bias-corrected moments). The
moments are stacked [K, ...] tensors like the parameters; the kernel is handed one view per
(member, matrix), so each member's elements are computed exactly as in a solo run (on a
whole [K, ...] block, where SIMD and scalar code meet would move with K and change last bits).

The fused kernel (torch._fused_adamw_, what torch.optim.AdamW(fused=True) calls) is called
directly, one call per distinct weight decay: it saves the optimizer's Python bookkeeping,
which is ~5% of a step at K=8, and the separate weight-decay pass. Where no fused kernel
exists, an equivalent foreach implementation runs instead.

The kernel's contract, which torch.optim.AdamW meets through autograd's gradient-layout rule
and which we must meet ourselves: every gradient has its parameter's strides. The kernel walks
each tensor in memory order, so a transposed gradient (autograd returns one for a weight used
as ``x @ W.T``, for instance) would be applied scrambled. :meth:`PopulationAdamW.step` therefore
brings every gradient to its parameter's layout first (a copy only where the layouts differ).
A private kernel can change between releases: :func:`fused_kernel_agrees` checks it against
the foreach reference on the first use per (device, dtype), and the optimizer falls back to
foreach if they disagree; the tests hold both paths to torch.optim.AdamW.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import defaultdict

import torch

from ..config import OptimConfig

Params = dict[str, torch.Tensor]


class PopulationAdamW:
    """AdamW over ``params`` ({name: [K, ...] contiguous}), member k with ``weight_decays[k]``.

    ``masks`` ({name: [K, ...] 0/1}), where given, zero the gradient of pruned entries before
    the update: their moments stay 0, the update is 0 / (0 + eps) = 0 and weight decay scales
    a 0, so a pruned weight that starts at 0 stays exactly 0.
    """

    def __init__(
        self,
        params: Params,
        weight_decays: list[float],
        cfg: OptimConfig,
        masks: Params | None = None,
        fused: bool | None = None,
    ):
        for n, p in params.items():
            if not p.is_contiguous():  # per-member views of a contiguous [K, ...] are contiguous
                raise ValueError(f"PopulationAdamW needs contiguous parameters; {n!r} has strides {p.stride()}")
        self.cfg, self.params, self.masks = cfg, params, masks
        self.m = {n: torch.zeros_like(p) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in params.items()}
        self.t = 0
        first = next(iter(params.values()))
        if fused is None:
            fused = first.device.type in ("cpu", "cuda") and fused_kernel_agrees(first.device, first.dtype)
        self.fused = fused
        groups: dict[float, list[int]] = defaultdict(list)
        for k, wd in enumerate(weight_decays):
            groups[float(wd)].append(k)
        self.groups = dict(groups)  # weight decay -> members
        # one float32 step counter per (member, matrix), as the fused kernel expects
        self._steps = {
            k: [torch.zeros((), device=first.device) for _ in params] for k in range(len(weight_decays))
        }
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

    def in_param_layout(self, grads: Params, masked: bool = True) -> Params:
        """Each gradient with its parameter's shape, dtype and strides, masked unless ``masked``
        is False. May reuse (and overwrite) a gradient that already has the right layout."""
        out = {}
        for n, p in self.params.items():
            g = grads[n]
            if g.shape != p.shape or g.dtype != p.dtype or g.device != p.device:
                raise ValueError(
                    f"gradient of {n!r} is {tuple(g.shape)} {g.dtype} on {g.device}; "
                    f"the parameter is {tuple(p.shape)} {p.dtype} on {p.device}"
                )
            if g.stride() != p.stride():
                g = g.contiguous()  # the parameter is contiguous (checked in __init__)
            if masked and self.masks is not None:
                g = g.mul_(self.masks[n])
            out[n] = g
        return out

    @torch.no_grad()
    def step(self, grads: Params) -> None:
        """One AdamW step. ``grads`` ({name: [K, ...]}, any layout) may be overwritten."""
        c = self.cfg
        grads = self.in_param_layout(grads)
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
                _foreach_adamw(ps, gs, ms, vs, self.t, c, wd)

    def load(self, m: Params, v: Params, t: int) -> None:
        """Restore moments ([K, ...] each) and the step count."""
        for n in self.params:
            self.m[n].copy_(m[n])
            self.v[n].copy_(v[n])
        self.t = t
        for steps in self._steps.values():
            for s in steps:
                s.fill_(float(t))


def _foreach_adamw(ps, gs, ms, vs, t: int, c: OptimConfig, wd: float) -> None:
    """torch.optim.AdamW's update, written with foreach ops (layout-agnostic)."""
    if wd:
        torch._foreach_mul_(ps, 1 - c.lr * wd)
    torch._foreach_lerp_(ms, gs, 1 - c.beta1)
    torch._foreach_mul_(vs, c.beta2)
    torch._foreach_addcmul_(vs, gs, gs, 1 - c.beta2)
    bc1, bc2 = 1 - c.beta1**t, 1 - c.beta2**t
    denom = torch._foreach_sqrt(vs)
    torch._foreach_div_(denom, math.sqrt(bc2))
    torch._foreach_add_(denom, c.eps)
    torch._foreach_addcdiv_(ps, ms, denom, -c.lr / bc1)


@functools.cache
def fused_kernel_agrees(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether torch._fused_adamw_ exists here and computes the foreach reference's update.

    Three steps on a small parameter with a transposed gradient (the kernel's own contract is
    same-layout tensors, so the gradient is made contiguous first, as :meth:`step` does) and
    weight decay. Costs microseconds, once per (device, dtype) and process.
    """
    if not hasattr(torch, "_fused_adamw_"):
        return False
    cfg = OptimConfig(lr=1e-2, weight_decay=0.5)
    gen = torch.Generator().manual_seed(0)
    p0 = torch.randn(5, 7, generator=gen, dtype=torch.float64).to(device, dtype)
    grads = [torch.randn(7, 5, generator=gen, dtype=torch.float64).to(device, dtype).T for _ in range(3)]
    try:
        results = []
        for fused in (True, False):
            p, m, v = p0.clone(), torch.zeros_like(p0), torch.zeros_like(p0)
            step = torch.zeros((), device=device)
            for t, g in enumerate(grads, 1):
                g = g.contiguous()
                if fused:
                    step += 1
                    torch._fused_adamw_(
                        [p], [g], [m], [v], [], [step],
                        lr=cfg.lr, beta1=cfg.beta1, beta2=cfg.beta2, weight_decay=cfg.weight_decay,
                        eps=cfg.eps, amsgrad=False, maximize=False,
                    )  # fmt: skip
                else:
                    _foreach_adamw([p], [g], [m], [v], t, cfg, cfg.weight_decay)
            results.append(p)
    except (RuntimeError, TypeError) as e:  # signature or dtype support changed
        warnings.warn(f"torch._fused_adamw_ unusable here ({e}); using the foreach AdamW", stacklevel=2)
        return False
    tol = 1e-5 if dtype != torch.float64 else 1e-12
    if not torch.allclose(results[0], results[1], rtol=tol, atol=tol):
        warnings.warn("torch._fused_adamw_ disagrees with the AdamW reference; using the foreach AdamW", stacklevel=2)
        return False
    return True
