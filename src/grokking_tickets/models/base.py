"""The model contract: what the trainer, the pruners, the analyses and the tests rely on.

A model is a function of a dict of weight matrices, held for a *population* of K members:
every parameter carries a leading member axis ([K, out, in]; [K, out] for a bias). Weights are
stored [out, in], as in ``nn.Linear``. A model class implements

    name, input_kind          its registry name; the inputs it reads ('tokens' or 'vector')
    cpu_max_members           (optional) the largest population worth training on a CPU
    names, shapes()           its parameters, in a fixed order (init draws them in this order)
    prepare(x)                task inputs [N, ...] -> whatever ``logits`` wants, built once
    logits(params, prep)      [K, C, N]: the fast batched forward pass used for training
    forward(params, x)        [N, C]: ONE member's forward pass, written as the paper writes it

and inherits ``init`` (one implementation for every model) and ``grads`` (autograd through
``logits``). ``forward`` is the single textbook definition of the network: the tests hold the
fast path (``logits``, and a hand-written ``grads`` where a model has one) to it over whole
trajectories, and the benchmark's reference loop, the analyses and the tests' textbook loop
all call it. A model with a fast path of its own (a factorized forward, a hand-written
backward) overrides ``logits``/``grads``; a new model needs neither.

``synflow_objective(params)`` (optional) is SynFlow's data-free R = 1ᵀ f(1) for one member:
only networks that are positively homogeneous in |θ| define it (see pruning/scorers/synflow.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ..registry import Registry

if TYPE_CHECKING:
    from ..config import ModelConfig
    from ..tasks.base import Dataset

Params = dict[str, torch.Tensor]  # name -> [K, ...] (a population) or [...] (one member)
LossGrad = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits [K, C, N], y [N]) -> dL/dlogits


class Model:
    name: ClassVar[str]
    input_kind: ClassVar[str]  # 'tokens' (a pair of token ids per example) or 'vector' (a float vector)
    # The ModelConfig fields that define this model (its settings enter a run's id, no others do)
    config_fields: ClassVar[tuple[str, ...]]
    names: tuple[str, ...]
    cfg: ModelConfig
    # The most runs the runner puts in one population on a CPU by default (runner.cohort_jobs;
    # `--max-members` overrides it). Past a few dozen members the working set leaves the caches
    # and throughput per member falls; models that measured it set their own (docs/performance.md).
    cpu_max_members: ClassVar[int] = 64
    # The parameter that embeds input tokens, [d, V] with one column per token (the progress
    # measures read its Fourier norms over the tokens); None for a model of vector inputs.
    token_embedding: ClassVar[str | None] = None

    @classmethod
    def for_data(cls, cfg: ModelConfig, data: Dataset) -> Model:
        """The model for ``cfg`` sized for ``data`` (vocabulary or input width, classes)."""
        raise NotImplementedError

    def shapes(self) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def init(self, seed: int) -> Params:
        """θ0 of one member, drawn on the CPU in the order of ``shapes()``: each matrix
        ~ N(0, κ/√fan_in) (κ = model.init_scale, fan_in = its second dimension); vectors (biases)
        start at zero and draw nothing."""
        gen = torch.Generator().manual_seed(seed)
        out = {}
        for name, shape in self.shapes().items():
            if len(shape) == 1:
                out[name] = torch.zeros(shape)
            else:
                out[name] = torch.randn(shape, generator=gen) * (self.cfg.init_scale / math.sqrt(shape[1]))
        return out

    def prepare(self, x: torch.Tensor) -> Any:
        return x

    def logits(self, params: Params, prep: Any) -> torch.Tensor:
        """[K, C, N]. The default runs ``forward`` member by member: correct, not fast. It reads
        ``prep`` as the task inputs, so a model that overrides ``prepare`` overrides this too."""
        K = next(iter(params.values())).shape[0]
        return torch.stack([self.forward({n: p[k] for n, p in params.items()}, prep).T for k in range(K)])

    def grads(self, params: Params, prep: Any, y: torch.Tensor, loss_grad: LossGrad) -> Params:
        """dL/dθ of every member, [K, ...] each, by autograd through ``logits``.

        The loss gradient comes from ``loss_grad`` (computed without autograd, see train/loss.py)
        and is fed back as the output gradient, so only the network is differentiated.
        """
        leaves = {n: params[n].detach().requires_grad_() for n in self.names}  # aliases, no copy
        with torch.enable_grad():
            logits = self.logits(leaves, prep)
            G = loss_grad(logits.detach().clone(memory_format=torch.contiguous_format), y)
            grads = torch.autograd.grad(logits, [leaves[n] for n in self.names], grad_outputs=G)
        return dict(zip(self.names, grads))

    def forward(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """One member (no K axis): task inputs [N, ...] -> logits [N, C]."""
        raise NotImplementedError


MODELS: Registry[type[Model]] = Registry("model")
