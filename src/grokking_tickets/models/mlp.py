"""The paper's modular-arithmetic MLP, as a population of K members.

    logits = W_unemb · W_out · ReLU(W_in · (E_a + E_b)),   E_t = W_emb[:, t]

Weights are stored as [out, in] per member, with a leading K axis. No biases.

Because the input is one-hot, (E_a + E_b) W_in only ever sees P = W_in · W_emb ([H, p]), and the
output side only Q = W_unemb · W_out ([C, H]). Training runs on P and Q, and the gradients of
the four matrices follow from dP and dQ by the chain rule: the same function as the plain
forward pass, with ~25x fewer FLOPs per example (d_emb = 500 never meets the batch).
The backward pass is written out by hand: six small matmuls, no autograd bookkeeping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .base import MODELS, LossGrad, Model, Params
from .ops import bmm

if TYPE_CHECKING:
    from ..config import ModelConfig
    from ..tasks.base import Dataset


@MODELS.register
class ModularMLP(Model):
    name = "mlp"
    input_kind = "tokens"
    config_fields = ("d_emb", "d_hidden", "init_scale")
    names = ("W_emb", "W_in", "W_out", "W_unemb")
    token_embedding = "W_emb"  # [d, V]
    # On the project's 2-core CPU at θ0 (2026-11-26, model-steps/s): K = 8 2,571, 16 2,688,
    # 32 2,435, 64 2,061 (docs/performance.md, for the measurement on whole runs).
    cpu_max_members = 16

    def __init__(self, cfg: ModelConfig, n_tokens: int, n_classes: int):
        self.cfg, self.p, self.C = cfg, n_tokens, n_classes

    @classmethod
    def for_data(cls, cfg: ModelConfig, data: Dataset) -> ModularMLP:
        return cls(cfg, data.n_tokens, data.n_classes)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        d, H = self.cfg.d_emb, self.cfg.d_hidden
        return {"W_emb": (d, self.p), "W_in": (H, d), "W_out": (d, H), "W_unemb": (self.C, d)}

    def forward(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """The paper's network for one member, as written: [N, 2] token pairs -> [N, C]."""
        onehot = torch.nn.functional.one_hot(x, self.p).to(params["W_emb"].dtype)  # [N, 2, p]
        E = onehot[:, 0] @ params["W_emb"].T + onehot[:, 1] @ params["W_emb"].T  # [N, d]
        h = (E @ params["W_in"].T).relu()  # [N, H]
        return h @ params["W_out"].T @ params["W_unemb"].T  # [N, C]

    @staticmethod
    def input_table(weights: Params, dtype: torch.dtype | None = None) -> torch.Tensor:
        """P = W_in · W_emb [H, p] of one member (no K axis), in ``dtype`` (default: the weights'):
        neuron j's input from token t is P[j, t]. What the analyses read (periodicity, dead neurons)."""
        return weights["W_in"].to(dtype) @ weights["W_emb"].to(dtype)

    def prepare(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Token pairs [N, 2] -> X = onehot(a) + onehot(b) as [p, N] and its transpose [N, p]."""
        N = x.shape[0]
        X = torch.zeros(self.p, N, device=x.device)
        cols = torch.arange(N, device=x.device)
        X.index_put_((x[:, 0], cols), torch.ones(N, device=x.device), accumulate=True)
        X.index_put_((x[:, 1], cols), torch.ones(N, device=x.device), accumulate=True)
        return X, X.T.contiguous()

    def _fast_forward(self, params: Params, X: torch.Tensor):
        """P [K, H, p], Q [K, C, H], h = ReLU(P X) [K, H, N] and the logits Q h [K, C, N]."""
        P = bmm(params["W_in"], params["W_emb"])  # [K, H, p]
        Q = bmm(params["W_unemb"], params["W_out"])  # [K, C, H]
        h = _hidden(P, X)  # [K, H, N]
        return P, Q, h, bmm(Q, h)

    def logits(self, params: Params, prep: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """[K, C, N]"""
        return self._fast_forward(params, prep[0])[-1]

    def grads(
        self,
        params: Params,
        prep: tuple[torch.Tensor, torch.Tensor],
        y: torch.Tensor,
        loss_grad: LossGrad,
    ) -> Params:
        """The hand-written backward pass through P and Q (the fast path; tests hold it to autograd)."""
        X, XT = prep
        We, Wi, Wo, Wu = (params[n] for n in self.names)
        P, Q, h, out = self._fast_forward(params, X)
        K, H, p = P.shape
        G = loss_grad(out, y)  # [K, C, N]
        dQ = bmm(G, h.transpose(1, 2))  # [K, C, H]
        # ReLU backward: keep dh where h > 0 (h > 0 exactly where the pre-activation is > 0)
        dh = torch.ops.aten.threshold_backward(bmm(Q.transpose(1, 2), G), h, 0.0)  # [K, H, N]
        dP = (dh.reshape(K * H, -1) @ XT).view(K, H, p)  # [K, H, p]
        return {
            "W_emb": bmm(Wi.transpose(1, 2), dP),  # [K, d, p]
            "W_in": bmm(dP, We.transpose(1, 2)),  # [K, H, d]
            "W_out": bmm(Wu.transpose(1, 2), dQ),  # [K, d, H]
            "W_unemb": bmm(dQ, Wo.transpose(1, 2)),  # [K, C, d]
        }

    def synflow_objective(self, params: Params) -> torch.Tensor:
        """SynFlow's R = 1ᵀ f(1) for one member's (non-negative) weights, no K axis.

        The all-ones input enters the embedding once (the a + b sum would only double R,
        which scales every score alike).
        """
        x = torch.ones(self.p, dtype=params["W_emb"].dtype)
        h = (params["W_in"] @ (params["W_emb"] @ x)).relu()
        return (params["W_unemb"] @ (params["W_out"] @ h)).sum()


def _hidden(P: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """ReLU(P X): [K, H, p], [p, N] -> [K, H, N], one GEMM for all members (see models/ops.py)."""
    K, H, p = P.shape
    return (P.reshape(K * H, p) @ X).view(K, H, -1).relu_()

