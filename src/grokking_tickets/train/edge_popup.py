"""Edge-popup: K runs that train a score per weight while the weights stay frozen.

Ramanujan et al. 2020 ("What's hidden in a randomly weighted neural network?") look for a
subnetwork of a fixed network: every weight w gets a real score s, the forward pass uses

    W_eff = W ⊙ m(S),   m(S) = 1 on the n_kept entries of each matrix with the largest |s|

and the backward pass treats the top-k step as the identity (straight-through estimator):
dL/d|S| := dL/dm = dL/dW_eff ⊙ W, hence dL/dS = dL/dW_eff ⊙ W ⊙ sign(S) by the chain rule
through |·| (the ranking is by |s|, as in the hidden-networks code and the Grokking-Tickets
authors' ``utils.GetSubnet`` / ``SupermaskLinear``, which we read and did not copy).
dL/dW_eff is the model's own gradient (``Model.grads`` at W_eff), so every model's fast path
serves edge-popup too.

Choices, and where they come from:

- Top-k per matrix, exact count: a matrix of n weights keeps n − round(rate · n) of them, rate
  = 1 − density, ties by position: the mask is exactly ``pruning.mask_from_scores(|S|, 1 −
  density, "layer")`` (the tests check it). The authors keep n − floor((1 − density) · n); their
  "prune_rate 0.4" is the fraction *kept* (``GetSubnet`` zeroes the lowest (1 − k) · n).
- Scored tensors: every matrix (ndim ≥ 2). Vectors (biases) are not scored and stay at their
  frozen values (the authors' supermask layers apply no bias).
- Score init: Kaiming-uniform with a = √5, i.e. U(−1/√fan_in, 1/√fan_in) with fan_in = the
  matrix's second dimension (``nn.init.kaiming_uniform_(s, a=√5)``, the authors' init), drawn
  from the run's seed plus :data:`SCORE_SEED_OFFSET` so that the scores are independent of a
  θ0 drawn from the same seed (edge-popup on θ0 freezes exactly that θ0).
- Optimizer: the run's AdamW settings, applied to the scores (:class:`PopulationAdamW`, one
  weight decay per member, decaying the scores); the experiment sets β (0.9, 0.98) and the
  authors' weight decay 1 on the scores, with lr 0.1 from our sweep (docs/results.md: edge-popup).

Weight learning (``learn_weights``; the authors' ``train_slth.py --weight_learning
--double_reg``): the weights train too, under the same mask, with the same AdamW settings as the
scores (their script puts both in one ``optim.AdamW``): dL/dW = dL/dW_eff ⊙ m, so a pruned
weight gets a zero gradient and, as in torch's AdamW, still decays. A population either learns
its weights or keeps them frozen (the cohort key says which).

Members may differ in frozen weights, seed (scores), density and weight decay. Metrics,
checkpoints (``member_weights``) and norms are of W_eff, the network that computes; the resume
state is the scores and their Adam moments (the frozen weights are read from the source run
again). Member k computes exactly what it computes alone: the selection is exact, and
everything else is the weight trainer's per-member arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import OptimConfig
from ..models.base import Params
from ..tasks.base import Dataset
from .loss import GRADS, LOSSES, score_of
from .optim import PopulationAdamW
from .population import cast_inputs, evaluate_params

SCORE_SEED_OFFSET = 1_000_003  # scores of seed s are drawn from generator seed s + this


def scored_names(model) -> tuple[str, ...]:
    """The parameters that get a score: every matrix (ndim ≥ 2), in the model's order."""
    return tuple(n for n, s in model.shapes().items() if len(s) >= 2)


def init_scores(model, seed: int) -> Params:
    """Kaiming-uniform scores (a = √5): U(−1/√fan_in, 1/√fan_in) per matrix, float32, one member."""
    gen = torch.Generator().manual_seed(seed + SCORE_SEED_OFFSET)
    shapes = model.shapes()
    out = {}
    for n in scored_names(model):
        bound = 1.0 / shapes[n][1] ** 0.5
        out[n] = (torch.rand(shapes[n], generator=gen) * 2 - 1) * bound
    return out


def n_kept(density: float, n: int) -> int:
    """Weights a matrix of n keeps at ``density``: n − round(rate · n), rate = 1 − density (the
    count of ``pruning.masks.n_pruned`` at that rate, so both define one mask; written out here
    because training sits below pruning in the layers, and the tests hold the two together)."""
    return n - int((1.0 - density) * n + 0.5)


def top_mask(scores: torch.Tensor, pruned: torch.Tensor) -> torch.Tensor:
    """[K, ...] scores, [K] counts -> [K, ...] bool: member k drops its ``pruned[k]`` entries
    of lowest |score| (the earlier position first on ties) and keeps the rest.

    Selection, not sorting (a sort of each matrix every step would cost several times the
    network's own step): v = the (p+1)-th smallest |s| (torch.kthvalue, exact); keep every
    |s| > v, and of the entries equal to v the later ones, as many as the count needs. The
    result is the stable-sort definition of mask_from_scores, bit for bit (the tests check
    it), and a member's mask does not depend on K (kthvalue returns a value, no arithmetic)."""
    K = scores.shape[0]
    a = scores.abs().reshape(K, -1)  # [K, n]
    n = a.shape[1]
    v = torch.empty(K, 1, dtype=a.dtype, device=a.device)
    for p in pruned.unique().tolist():  # members of one count share one call
        rows = (pruned == p).nonzero().flatten().to(a.device)
        # p = n keeps nothing: any v above every |s| (inf) will do; p = 0 keeps all: v = min, ties kept below
        v[rows] = torch.kthvalue(a[rows], p + 1, dim=1, keepdim=True).values if p < n else float("inf")
    eq = a == v
    below = (a < v).sum(1, keepdim=True)  # [K, 1]
    drop_eq = pruned.to(a.device).unsqueeze(1) - below  # how many of the ties at v are dropped
    keep = (a > v) | (eq & (eq.cumsum(1) > drop_eq))
    return keep.view(scores.shape)


@dataclass
class ScoreMember:
    """One edge-popup run: what makes it differ from the others in its population."""

    weights: Params  # {name: [...]} the frozen weights (the starting weights, where they learn)
    scores: Params  # {name: [...]} initial scores of the scored matrices
    density: float  # fraction kept in every scored matrix
    weight_decay: float  # AdamW's decay of the scores (and of the weights, where they learn)


class ScorePopulation:
    """K edge-popup runs as one program: the :class:`~.population.Population` interface
    (step, evaluate, member_weights, member_state, load_states, density, K, step_count)."""

    def __init__(
        self,
        model,
        data: Dataset,
        optim: OptimConfig,
        members: list[ScoreMember],
        loss: str,
        device,
        learn_weights: bool = False,
    ):
        for m in members:
            if not 0.0 < m.density <= 1.0:
                raise ValueError(f"an edge-popup density must lie in (0, 1]; got {m.density}")
        self.model, self.device, self.K = model, torch.device(device), len(members)
        self.data = data.to(self.device)
        self.loss_grad, self.loss_value = GRADS[loss], LOSSES[loss]
        self.fit = score_of(data.train_y)  # accuracy, or R² for real targets (not the edge-popup scores)
        stack = lambda ts: torch.stack(ts).to(self.device).contiguous()
        self.weights: Params = {n: stack([m.weights[n] for m in members]) for n in model.names}  # frozen
        dtype = next(iter(self.weights.values())).dtype
        self.train_prep = cast_inputs(model.prepare(self.data.train_x), dtype)
        self.test_prep = cast_inputs(model.prepare(self.data.test_x), dtype)
        self.scored = scored_names(model)
        self.scores: Params = {n: stack([m.scores[n].to(dtype) for m in members]) for n in self.scored}
        sizes = {n: s[0].numel() for n, s in self.scores.items()}
        self.pruned = {n: torch.tensor([sizes[n] - n_kept(m.density, sizes[n]) for m in members]) for n in self.scored}
        self.opt = PopulationAdamW(self.scores, [m.weight_decay for m in members], optim)
        # the weights' own AdamW where they learn: elementwise, so two optimizers in lock-step
        # are the authors' one AdamW over scores and weights
        self.learn_weights = learn_weights
        self.wopt = PopulationAdamW(self.weights, [m.weight_decay for m in members], optim) if learn_weights else None
        self.step_count = 0
        self._apply_masks()
        n_total = sum(w[0].numel() for w in self.weights.values())
        kept = n_total - sum(p.double() for p in self.pruned.values())
        self.density = (kept / n_total).cpu()

    def _apply_masks(self) -> None:
        """masks and the effective weights W ⊙ m of the current scores."""
        self.masks = {n: top_mask(self.scores[n], self.pruned[n]) for n in self.scored}  # [K, ...] bool
        self.params: Params = {
            n: self.weights[n] * self.masks[n] if n in self.masks else self.weights[n] for n in self.model.names
        }

    def member_mask(self, k: int) -> Params:
        """Member k's current mask, every parameter (all-ones where not scored)."""
        return {
            n: (self.masks[n][k] if n in self.masks else torch.ones_like(w[k], dtype=torch.bool)).cpu()
            for n, w in self.weights.items()
        }

    # -- training ------------------------------------------------------------------------------

    def step(self) -> None:
        g = self.model.grads(self.params, self.train_prep, self.data.train_y, self.loss_grad)  # dL/dW_eff
        # straight-through to |S|, then through |·|: the order autograd multiplies in
        gs = {n: g[n] * self.weights[n] * self.scores[n].sign() for n in self.scored}
        if self.wopt is not None:  # dL/dW = dL/dW_eff ⊙ m, from the weights before either update
            gw = {n: g[n] * self.masks[n] if n in self.masks else g[n] for n in self.model.names}
            self.wopt.step(gw)
        self.opt.step(gs)
        self.step_count += 1
        self._apply_masks()

    def evaluate(self) -> torch.Tensor:
        """[K, len(METRICS)] float64 on the device, of the effective weights."""
        return evaluate_params(
            self.model, self.params, self.data, self.train_prep, self.test_prep, self.loss_value, self.fit
        )

    # -- state of one member, for checkpoints and resume ----------------------------------------

    def member_weights(self, k: int) -> Params:
        """Member k's effective weights W ⊙ m (what mask analyses read: kept = nonzero)."""
        return {n: p[k].detach().cpu().contiguous() for n, p in self.params.items()}

    def member_state(self, k: int) -> Params:
        """Scores and their Adam moments of member k (frozen weights come from the source run
        again; weights that learn, and their moments, are saved too)."""
        out = {}
        for n in self.scored:
            out[f"score.{n}"] = self.scores[n][k].cpu().contiguous()
            out[f"adam.m.{n}"] = self.opt.m[n][k].cpu().contiguous()
            out[f"adam.v.{n}"] = self.opt.v[n][k].cpu().contiguous()
        if self.wopt is not None:
            for n in self.model.names:
                out[f"weight.{n}"] = self.weights[n][k].cpu().contiguous()
                out[f"adam.wm.{n}"] = self.wopt.m[n][k].cpu().contiguous()
                out[f"adam.wv.{n}"] = self.wopt.v[n][k].cpu().contiguous()
        return out

    @torch.no_grad()
    def load_states(self, states: list[Params], step: int) -> None:
        """Restore every member from its saved state at ``step`` (all members share the step)."""
        stacked = lambda key, names=self.scored: {
            n: torch.stack([s[f"{key}.{n}"] for s in states]).to(self.device) for n in names
        }
        for n, t in stacked("score").items():
            self.scores[n].copy_(t)
        self.opt.load(stacked("adam.m"), stacked("adam.v"), step)
        if self.wopt is not None:
            for n, t in stacked("weight", self.model.names).items():
                self.weights[n].copy_(t)
            self.wopt.load(stacked("adam.wm", self.model.names), stacked("adam.wv", self.model.names), step)
        self.step_count = step
        self._apply_masks()
