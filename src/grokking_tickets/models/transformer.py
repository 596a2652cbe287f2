"""A 1-layer, 1-head ReLU transformer for modular arithmetic, as a population of K members.

Architecture (the authors' code, after Nanda et al. 2023): tokens (a, b) — or (a, b, '=')
with ``model.eq_token`` — embedded by W_E, no positional embedding, no LayerNorm, no biases;
one attention head (d_head = d_model) and a ReLU MLP, both residual; logits read at the last
position through W_U. Weights are [out, in] per member:

    W_E [d, V]  W_Q, W_K, W_V [d, d]  W_O [d, d]  W_in [m, d]  W_out [d, m]  W_U [C, d]

Fast path. Only the last position's output is read, and every input is a token, so every
quantity before the MLP's nonlinearity is a table over the V tokens:

    A   = (W_Q W_E)ᵀ (W_K W_E) / √d      [V, V]   attention score of query token i on key j
    OV  = W_O W_V W_E                    [d, V]   what attending to token j writes
    pre = (W_in W_E)[:, last] + Σ_t α_t (W_in OV)[:, tok_t]          (α = softmax over positions)
    logits = (W_U W_E)[:, last] + Σ_t α_t (W_U OV)[:, tok_t] + (W_U W_out) ReLU(pre)

so the only per-example matmul is (W_U W_out)·ReLU(pre). The function is the plain forward
pass's, rearranged; a test checks that they agree. Gradients come from autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..config import ModelConfig
from .ops import bmm

Params = dict[str, torch.Tensor]


class ModularTransformer:
    names = ("W_E", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U")

    def __init__(self, cfg: ModelConfig, n_tokens: int, n_classes: int):
        self.cfg, self.C = cfg, n_classes
        self.p = n_tokens
        self.V = n_tokens + (1 if cfg.eq_token else 0)  # '=' is token p

    def shapes(self) -> dict[str, tuple[int, ...]]:
        d, m = self.cfg.d_model, self.cfg.d_mlp
        return {
            "W_E": (d, self.V), "W_Q": (d, d), "W_K": (d, d), "W_V": (d, d), "W_O": (d, d),
            "W_in": (m, d), "W_out": (d, m), "W_U": (self.C, d),
        }  # fmt: skip

    def init(self, seed: int) -> Params:
        """θ0 of one member: each matrix ~ N(0, κ/√fan_in), drawn in a fixed order on the CPU."""
        gen = torch.Generator().manual_seed(seed)
        out = {}
        for name, shape in self.shapes().items():
            out[name] = torch.randn(shape, generator=gen) * (self.cfg.init_scale / math.sqrt(shape[1]))
        return out

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 2] pairs -> [N, T] token ids (T = 3 with the '=' token)."""
        if not self.cfg.eq_token:
            return x
        return torch.cat([x, torch.full_like(x[:, :1], self.p)], 1)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return self.tokens(x)

    def logits(self, params: Params, tok: torch.Tensor) -> torch.Tensor:
        """[K, C, N] by the table fast path."""
        P = {n: params[n] for n in self.names}
        d = self.cfg.d_model
        E = P["W_E"]  # [K, d, V]
        q_tab = bmm(P["W_Q"], E)  # [K, d, V]
        k_tab = bmm(P["W_K"], E)
        A = bmm(q_tab.transpose(1, 2), k_tab) / math.sqrt(d)  # [K, V, V]
        OV = bmm(P["W_O"], bmm(P["W_V"], E))  # [K, d, V]
        # Tables are built transposed, token-major ([K, V, ·]), so that looking tokens up
        # gathers contiguous rows; index_select's backward is an index_add, far cheaper on a
        # CPU than the accumulate-put behind advanced indexing.
        ET, OVT = E.transpose(1, 2), OV.transpose(1, 2)  # [K, V, d]
        W_inT, W_UT = P["W_in"].transpose(1, 2), P["W_U"].transpose(1, 2)
        in_E, in_OV = bmm(ET, W_inT), bmm(OVT, W_inT)  # [K, V, m]
        U_E, U_OV = bmm(ET, W_UT), bmm(OVT, W_UT)  # [K, V, C]
        U_outT = bmm(P["W_out"].transpose(1, 2), W_UT)  # [K, m, C]

        V = A.shape[-1]
        last = tok[:, -1]  # [N]
        flat_A = A.flatten(1)  # [K, V*V]
        scores = torch.stack([flat_A.index_select(1, last * V + tok[:, t]) for t in range(tok.shape[1])], -1)
        alpha = scores.softmax(-1)  # [K, N, T]
        pre = in_E.index_select(1, last)  # [K, N, m]
        out = U_E.index_select(1, last)  # [K, N, C]
        for t in range(tok.shape[1]):
            w = alpha[:, :, t : t + 1]  # [K, N, 1]
            pre = pre + w * in_OV.index_select(1, tok[:, t])
            out = out + w * U_OV.index_select(1, tok[:, t])
        return (out + bmm(pre.relu(), U_outT)).transpose(1, 2)  # [K, C, N] (a view)

    def grads(
        self,
        params: Params,
        prep: torch.Tensor,
        y: torch.Tensor,
        loss_grad: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> Params:
        leaves = {n: params[n].detach().requires_grad_() for n in self.names}  # aliases, no copy
        with torch.enable_grad():
            logits = self.logits(leaves, prep)
            G = loss_grad(logits.detach().clone(memory_format=torch.contiguous_format), y)
            grads = torch.autograd.grad(logits, [leaves[n] for n in self.names], grad_outputs=G)
        return dict(zip(self.names, grads))

    # SynFlow's data-free objective needs a network that is linear in |θ| for a positive input;
    # softmax attention is not, so the `pai` experiment leaves SynFlow out for the transformer.
    supports_synflow = False


def plain_logits(params: Params, tok: torch.Tensor) -> torch.Tensor:
    """The textbook forward pass of one member: [N, T] tokens -> [N, C]. For tests and the bench."""
    d = params["W_Q"].shape[0]
    x = params["W_E"].T[tok]  # [N, T, d]
    q, k, v = x @ params["W_Q"].T, x @ params["W_K"].T, x @ params["W_V"].T  # [N, T, d]
    T = tok.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool, device=tok.device).tril()
    scores = (q @ k.transpose(1, 2) / math.sqrt(d)).masked_fill(~causal, float("-inf"))  # [N, T, T]
    x = x + scores.softmax(-1) @ v @ params["W_O"].T
    x = x + (x @ params["W_in"].T).relu() @ params["W_out"].T
    return x[:, -1] @ params["W_U"].T
