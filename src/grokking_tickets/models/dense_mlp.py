"""A ReLU MLP on dense input vectors, any depth and widths, as a population of K members.

    h_0 = x,   h_i = ReLU(W_i h_{i-1} + b_i)  (i < L),   logits = W_L h_{L-1} + b_L

``model.widths`` are the hidden widths (L - 1 of them); biases are optional (``model.bias``)
and start at zero. Inputs are float vectors of any width (MNIST's 784 pixels, a parity task's
±1 bits, a regression task's features): the input width comes from the data.

Fast path: a hand-written backward pass (one GEMM per weight gradient, no autograd
bookkeeping). The tests hold it to ``forward`` and autograd over training trajectories.

The first layer's input is shared by every member. It can run as one 2D GEMM over all members
([K·H, n_in] @ [n_in, N], ``fold_first_layer``), faster for small K, but whether MKL computes
those rows independently of the row count (member == solo run, bit for bit) depends on the
exact shape: it does at the MNIST MLP's 200 rows and 784 inputs, not at 48 or 64 rows. So the
general model uses batched products (exact at any shape, models/ops.py) and only MnistMLP,
whose shape the tests check, folds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .base import MODELS, LossGrad, Model, Params
from .ops import bmm

if TYPE_CHECKING:
    from ..config import ModelConfig
    from ..tasks.base import Dataset

CHUNK = 10000  # examples per forward chunk at evaluation: bounds memory at [K, H, CHUNK]


@MODELS.register
class DenseMLP(Model):
    name = "dense-mlp"
    input_kind = "vector"
    config_fields = ("widths", "bias", "init_scale")
    fold_first_layer = False  # see the module docstring

    def __init__(self, cfg: ModelConfig, n_inputs: int, n_classes: int):
        self.cfg, self.n_in, self.C = cfg, n_inputs, n_classes
        self.widths = self.hidden_widths(cfg)
        L = len(self.widths) + 1
        self.names = tuple(f"W{i}" for i in range(1, L + 1)) + (
            tuple(f"b{i}" for i in range(1, L + 1)) if cfg.bias else ()
        )

    @classmethod
    def for_data(cls, cfg: ModelConfig, data: Dataset) -> DenseMLP:
        return cls(cfg, data.train_x.shape[1], data.n_classes)

    @staticmethod
    def hidden_widths(cfg: ModelConfig) -> tuple[int, ...]:
        return tuple(cfg.widths)

    @property
    def depth(self) -> int:
        return len(self.widths) + 1

    def shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = (self.n_in, *self.widths, self.C)
        out = {f"W{i}": (sizes[i], sizes[i - 1]) for i in range(1, self.depth + 1)}
        if self.cfg.bias:
            out.update({f"b{i}": (sizes[i],) for i in range(1, self.depth + 1)})
        return out

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.T.contiguous()  # [n_in, N]: one GEMM serves all members

    def _forward(self, params: Params, XT: torch.Tensor) -> list[torch.Tensor]:
        """[h_1, ..., h_{L-1}, logits], each [K, width, N]."""
        bias = self.cfg.bias
        K, H, _ = params["W1"].shape
        if self.fold_first_layer:
            h = (params["W1"].reshape(K * H, -1) @ XT).view(K, H, -1)  # [K, H, N]
        else:
            h = bmm(params["W1"], XT.expand(K, -1, -1))
        outs = []
        for i in range(1, self.depth + 1):
            if i > 1:
                h = bmm(params[f"W{i}"], outs[-1])  # [K, width_i, N]
            if bias:
                h = h + params[f"b{i}"].unsqueeze(-1)
            outs.append(h.relu_() if i < self.depth else h)
        return outs

    def logits(self, params: Params, XT: torch.Tensor) -> torch.Tensor:
        """[K, C, N], in chunks of examples so a 60k-example test set fits in memory."""
        return torch.cat([self._forward(params, XT[:, i : i + CHUNK])[-1] for i in range(0, XT.shape[1], CHUNK)], 2)

    def grads(self, params: Params, XT: torch.Tensor, y: torch.Tensor, loss_grad: LossGrad) -> Params:
        *hs, out = self._forward(params, XT)
        delta = loss_grad(out, y)  # dL/d(pre-activation of layer i), [K, width_i, N]; i = L first
        grads = {}
        for i in range(self.depth, 0, -1):
            if self.cfg.bias:
                grads[f"b{i}"] = delta.sum(-1)
            if i == 1 and self.fold_first_layer:
                K, H, N = delta.shape
                grads["W1"] = (delta.reshape(K * H, N) @ XT.T).view(K, H, -1)  # [K, H, n_in]
            elif i == 1:
                grads["W1"] = bmm(delta, XT.T.expand(delta.shape[0], -1, -1))  # [K, H, n_in]
            else:
                h_prev = hs[i - 2]  # h_{i-1}
                grads[f"W{i}"] = bmm(delta, h_prev.transpose(1, 2))  # [K, width_i, width_{i-1}]
                # ReLU backward: keep the gradient where h > 0 (exactly where the pre-activation is > 0)
                delta = torch.ops.aten.threshold_backward(bmm(params[f"W{i}"].transpose(1, 2), delta), h_prev, 0.0)
        return {n: grads[n] for n in self.names}

    def forward(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """Textbook pass of one member: [N, n_in] -> [N, C]."""
        b = lambda n: params.get(n, 0.0)
        h = x
        for i in range(1, self.depth):
            h = (h @ params[f"W{i}"].T + b(f"b{i}")).relu()
        return h @ params[f"W{self.depth}"].T + b(f"b{self.depth}")

    def synflow_objective(self, params: Params) -> torch.Tensor:
        """SynFlow's R = 1ᵀ f(1) for one member's non-negative weights (biases, if any, count too)."""
        b = (lambda n: params[n]) if self.cfg.bias else (lambda n: 0.0)
        h = torch.ones(self.n_in, dtype=params["W1"].dtype)
        for i in range(1, self.depth):
            h = (params[f"W{i}"] @ h + b(f"b{i}")).relu()
        return (params[f"W{self.depth}"] @ h + b(f"b{self.depth}")).sum()
