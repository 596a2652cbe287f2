"""K runs of one shape trained as one program.

Every parameter is a stacked tensor [K, ...]; member k is slice k. AdamW is elementwise, and
the model's matmuls are batched over K, so member k computes exactly what it would alone.
Members may differ in seed (θ0), mask, weight scale, weight decay and Grokfast filter.

Masks: a pruned entry has θ = 0 from the start and a masked gradient of 0, so Adam's moments
stay 0 there, the Adam update is 0/(0 + eps) = 0 and weight decay scales 0: pruned weights
stay exactly zero without re-masking the weights each step (the tests check it).

Bit-for-bit independence of K needs care on a CPU: see optim.py and the exp in loss.py.

No host sync happens in the hot loop: :meth:`evaluate` returns a device tensor that the
caller stacks and moves to the host in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import OptimConfig
from ..models.base import Params
from ..tasks.base import Dataset
from .grokfast import FilterSpec, GradFilter
from .loss import GRADS, LOSSES, score_of
from .optim import PopulationAdamW

# Columns of one evaluation row, in order (the metrics table adds step, run and density).
# For a regression task (real targets) the two accuracy columns hold R² (train/loss.py).
# Norms in two definitions: l1, l2 over all weights as one vector (||θ||_1, ||θ||_2), and
# l1_per_matrix, l2_per_matrix, the mean over parameter tensors of each one's L1 / Frobenius
# norm, which is what the authors' code plots as "L1/L2 norm" (utils.get_weight_norm).
METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "l1", "l2", "l1_per_matrix", "l2_per_matrix")


@dataclass
class Member:
    """What makes one member differ from the others in its population."""

    theta0: Params  # {name: [...]} float32, already masked and scaled
    mask: Params | None  # {name: [...]} bool, or None for a dense run
    weight_decay: float
    grad_filter: FilterSpec | None = None  # Grokfast (train/grokfast.py), or None


class Population:
    def __init__(self, model, data: Dataset, optim: OptimConfig, members: list[Member], loss: str, device):
        self.model, self.device, self.K = model, torch.device(device), len(members)
        self.data = data.to(self.device)
        self.loss_grad, self.loss_value, self.score = GRADS[loss], LOSSES[loss], score_of(data.train_y)
        stack = lambda ts: torch.stack(ts).to(self.device)
        self.params: Params = {n: stack([m.theta0[n] for m in members]).contiguous() for n in model.names}
        # The members' θ0 set the precision (float32 in every run; float64 in the trajectory
        # tests, where rounding must not hide a wrong update); inputs follow it.
        dtype = next(iter(self.params.values())).dtype
        self.train_prep = cast_inputs(model.prepare(self.data.train_x), dtype)
        self.test_prep = cast_inputs(model.prepare(self.data.test_x), dtype)
        self.masks: Params | None = None
        if any(m.mask is not None for m in members):
            ones = {n: torch.ones(s, dtype=torch.bool) for n, s in model.shapes().items()}
            self.masks = {n: stack([(m.mask or ones)[n] for m in members]).to(dtype) for n in model.names}
            for n in model.names:  # θ0 ⊙ m, so that a mask given with an unmasked θ0 is still exact
                self.params[n].mul_(self.masks[n])

        self.opt = PopulationAdamW(self.params, [m.weight_decay for m in members], optim, masks=self.masks)
        filters = [m.grad_filter for m in members]
        self.filter = GradFilter(filters, self.params) if any(f is not None for f in filters) else None
        self.step_count = 0
        n_total = sum(p[0].numel() for p in self.params.values())
        if self.masks is None:
            self.density = torch.ones(self.K, dtype=torch.float64)
        else:
            kept = sum(m.flatten(1).sum(1, dtype=torch.float64) for m in self.masks.values())
            self.density = (kept / n_total).cpu()

    # -- training ------------------------------------------------------------------------------

    def step(self) -> None:
        grads = self.model.grads(self.params, self.train_prep, self.data.train_y, self.loss_grad)
        if self.filter is not None:  # Grokfast, on each gradient in its parameter's layout, before the masks
            grads = self.filter.apply(self.opt.in_param_layout(grads, masked=False))
        self.opt.step(grads)  # brings each gradient to its parameter's layout and applies the masks
        self.step_count += 1

    # -- metrics -------------------------------------------------------------------------------

    def evaluate(self) -> torch.Tensor:
        """[K, len(METRICS)] float64 on the device."""
        return evaluate_params(
            self.model, self.params, self.data, self.train_prep, self.test_prep, self.loss_value, self.score
        )

    # -- state of one member, for checkpoints and resume ----------------------------------------

    def member_weights(self, k: int) -> Params:
        return {n: p[k].detach().cpu().contiguous() for n, p in self.params.items()}

    def member_state(self, k: int) -> Params:
        """Weights, Adam moments and Grokfast filter state of member k (the step count is ``step_count``)."""
        out = {f"param.{n}": t for n, t in self.member_weights(k).items()}
        for n in self.params:
            out[f"adam.m.{n}"] = self.opt.m[n][k].cpu().contiguous()
            out[f"adam.v.{n}"] = self.opt.v[n][k].cpu().contiguous()
        if self.filter is not None:
            out.update(self.filter.state_of(k))
        return out

    @torch.no_grad()
    def load_states(self, states: list[Params], step: int) -> None:
        """Restore every member from its saved state at ``step`` (all members share the step)."""
        for n, p in self.params.items():
            p.copy_(torch.stack([s[f"param.{n}"] for s in states]))
        stacked = lambda key: {n: torch.stack([s[f"{key}.{n}"] for s in states]) for n in self.params}
        self.opt.load(stacked("adam.m"), stacked("adam.v"), step)
        if self.filter is not None:
            self.filter.load(states, step)
        self.step_count = step


@torch.no_grad()
def evaluate_params(model, params: Params, data: Dataset, train_prep, test_prep, loss_value, score) -> torch.Tensor:
    """METRICS of every member of ``params`` ({name: [K, ...]}): [K, len(METRICS)] float64 on
    the device; ``score`` fills the accuracy columns (accuracy, or R² for real targets).
    Shared by the weight trainer and the edge-popup trainer (train/edge_popup.py)."""
    cols = []
    for prep, y in ((train_prep, data.train_y), (test_prep, data.test_y)):
        logits = model.logits(params, prep)  # [K, C, N]
        # member by member, for the same reason as exp in ce_grad: bits independent of K
        cols += [torch.cat([loss_value(m, y) for m in logits.split(1)]), score(logits, y)]
    flat = torch.cat([p.flatten(1) for p in params.values()], 1).double()  # [K, n_params]
    # One reduction per member, so a member's norms do not depend on K (a [K, n] row
    # reduction sums in another order than a lone vector). This runs only every eval_every.
    cols.append(torch.stack([row.abs().sum() for row in flat]))
    cols.append(torch.stack([row.square().sum().sqrt() for row in flat]))
    per = [[p[k].double() for p in params.values()] for k in range(len(flat))]  # member, tensor
    cols.append(torch.stack([torch.stack([t.abs().sum() for t in ts]).mean() for ts in per]))
    cols.append(torch.stack([torch.stack([t.square().sum().sqrt() for t in ts]).mean() for ts in per]))
    return torch.stack(cols, 1)


def cast_inputs(prep, dtype: torch.dtype):
    """A model's prepared inputs (a tensor or a tuple of them) with floating tensors in ``dtype``."""
    if isinstance(prep, tuple):
        return tuple(cast_inputs(t, dtype) for t in prep)
    return prep.to(dtype) if prep.is_floating_point() else prep
