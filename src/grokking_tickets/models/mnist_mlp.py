"""The MNIST MLP of the paper (after Omnigrok): 784-200-200-10, ReLU, no biases (an option),
initialized with κ = 8 (large weights are what make MNIST grok), trained with MSE.

Population form with a hand-written backward pass, like the modular MLP:

    h1 = ReLU(W1 x + b1)   h2 = ReLU(W2 h1 + b2)   out = W3 h2 + b3
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..config import ModelConfig
from .ops import bmm

Params = dict[str, torch.Tensor]
CHUNK = 10000  # examples per forward chunk at evaluation: bounds memory at [K, 200, CHUNK]


class MnistMLP:
    supports_synflow = True

    def __init__(self, cfg: ModelConfig, n_inputs: int = 784, n_classes: int = 10):
        self.cfg, self.n_in, self.C = cfg, n_inputs, n_classes
        self.names = ("W1", "W2", "W3") + (("b1", "b2", "b3") if cfg.bias else ())

    def shapes(self) -> dict[str, tuple[int, ...]]:
        H = self.cfg.d_hidden
        out = {"W1": (H, self.n_in), "W2": (H, H), "W3": (self.C, H)}
        if self.cfg.bias:
            out.update({"b1": (H,), "b2": (H,), "b3": (self.C,)})
        return out

    def init(self, seed: int) -> Params:
        """Weights ~ N(0, κ/√fan_in) in a fixed order; biases start at zero."""
        gen = torch.Generator().manual_seed(seed)
        out = {}
        for name, shape in self.shapes().items():
            if name.startswith("b"):
                out[name] = torch.zeros(shape)
            else:
                out[name] = torch.randn(shape, generator=gen) * (self.cfg.init_scale / math.sqrt(shape[1]))
        return out

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.T.contiguous()  # [784, N]: one GEMM serves all members

    def _layer(self, W: torch.Tensor, x: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        y = bmm(W, x) if W.dim() == 3 else W @ x
        return y if b is None else y + b.unsqueeze(-1)

    def _forward(self, params: Params, XT: torch.Tensor):
        b = (lambda n: params[n]) if self.cfg.bias else (lambda n: None)  # noqa: E731
        K, H, _ = params["W1"].shape
        h1 = self._layer(params["W1"].reshape(K * H, -1), XT, None).view(K, H, -1)  # [K, H, N]
        if self.cfg.bias:
            h1 = h1 + params["b1"].unsqueeze(-1)
        h1 = h1.relu_()
        h2 = self._layer(params["W2"], h1, b("b2")).relu_()  # [K, H, N]
        return h1, h2, self._layer(params["W3"], h2, b("b3"))  # out [K, C, N]

    def logits(self, params: Params, XT: torch.Tensor) -> torch.Tensor:
        """[K, C, N], in chunks of examples so the 60k-image test set fits in memory."""
        return torch.cat([self._forward(params, XT[:, i : i + CHUNK])[2] for i in range(0, XT.shape[1], CHUNK)], 2)

    def grads(
        self,
        params: Params,
        XT: torch.Tensor,
        y: torch.Tensor,
        loss_grad: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> Params:
        h1, h2, out = self._forward(params, XT)
        G = loss_grad(out, y)  # [K, C, N]
        dh2 = torch.ops.aten.threshold_backward(bmm(params["W3"].transpose(1, 2), G), h2, 0.0)  # [K, H, N]
        dh1 = torch.ops.aten.threshold_backward(bmm(params["W2"].transpose(1, 2), dh2), h1, 0.0)  # [K, H, N]
        K, H, N = dh1.shape
        grads = {
            "W3": bmm(G, h2.transpose(1, 2)),  # [K, C, H]
            "W2": bmm(dh2, h1.transpose(1, 2)),  # [K, H, H]
            "W1": (dh1.reshape(K * H, N) @ XT.T).view(K, H, -1),  # [K, H, 784]
        }
        if self.cfg.bias:
            grads.update({"b1": dh1.sum(-1), "b2": dh2.sum(-1), "b3": G.sum(-1)})
        return grads

    def synflow_objective(self, params: Params) -> torch.Tensor:
        """SynFlow's R = 1ᵀ f(1) for one member's non-negative weights (biases, if any, count too)."""
        x = torch.ones(self.n_in, dtype=params["W1"].dtype)
        b = (lambda n: params[n]) if self.cfg.bias else (lambda n: 0.0)  # noqa: E731
        h = (params["W1"] @ x + b("b1")).relu()
        h = (params["W2"] @ h + b("b2")).relu()
        return (params["W3"] @ h + b("b3")).sum()


def plain_logits(params: Params, x: torch.Tensor) -> torch.Tensor:
    """Textbook forward pass of one member: [N, 784] -> [N, C]."""
    b = lambda n: params.get(n, 0.0)  # noqa: E731
    h = (x @ params["W1"].T + b("b1")).relu()
    h = (h @ params["W2"].T + b("b2")).relu()
    return h @ params["W3"].T + b("b3")
