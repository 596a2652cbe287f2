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

so the only per-example matmul is (W_U W_out)·ReLU(pre). The function is ``forward``'s (the
textbook pass), rearranged; the tests hold it to ``forward`` over training trajectories.
Gradients come from autograd (the contract's default ``grads``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .base import MODELS, Model, Params
from .ops import bmm

if TYPE_CHECKING:
    from ..config import ModelConfig
    from ..tasks.base import Dataset


@MODELS.register
class ModularTransformer(Model):
    name = "transformer"
    input_kind = "tokens"
    config_fields = ("d_model", "d_mlp", "eq_token", "init_scale")
    names = ("W_E", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U")
    token_embedding = "W_E"  # [d, V]

    def __init__(self, cfg: ModelConfig, n_tokens: int, n_classes: int):
        self.cfg, self.C = cfg, n_classes
        self.p = n_tokens
        self.V = n_tokens + (1 if cfg.eq_token else 0)  # '=' is token p

    @classmethod
    def for_data(cls, cfg: ModelConfig, data: Dataset) -> ModularTransformer:
        return cls(cfg, data.n_tokens, data.n_classes)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        d, m = self.cfg.d_model, self.cfg.d_mlp
        return {
            "W_E": (d, self.V), "W_Q": (d, d), "W_K": (d, d), "W_V": (d, d), "W_O": (d, d),
            "W_in": (m, d), "W_out": (d, m), "W_U": (self.C, d),
        }  # fmt: skip

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
        T = tok.shape[1]
        if lookup_by_product(tok):
            rows = _rows_by_product(V)
            A_last = rows(A, last)  # [K, N, V]: the query token's row of A
            scores = torch.stack([(A_last * _one_hot(tok[:, t], V, A.dtype)).sum(-1) for t in range(T)], -1)
        else:
            rows, flat_A = _rows_by_index, A.flatten(1)  # [K, V*V]
            scores = torch.stack([flat_A.index_select(1, last * V + tok[:, t]) for t in range(T)], -1)
        alpha = scores.softmax(-1)  # [K, N, T]
        pre = rows(in_E, last)  # [K, N, m]
        out = rows(U_E, last)  # [K, N, C]
        for t in range(T):
            w = alpha[:, :, t : t + 1]  # [K, N, 1]
            pre = pre + w * rows(in_OV, tok[:, t])
            out = out + w * rows(U_OV, tok[:, t])
        return (out + bmm(pre.relu(), U_outT)).transpose(1, 2)  # [K, C, N] (a view)

    def forward(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """The textbook pass of one member, every position computed: [N, 2] pairs -> [N, C]."""
        tok = self.tokens(x)  # [N, T]
        d = params["W_Q"].shape[0]
        h = params["W_E"].T[tok]  # [N, T, d]
        q, k, v = h @ params["W_Q"].T, h @ params["W_K"].T, h @ params["W_V"].T  # [N, T, d]
        T = tok.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=tok.device).tril()
        scores = (q @ k.transpose(1, 2) / math.sqrt(d)).masked_fill(~causal, float("-inf"))  # [N, T, T]
        h = h + scores.softmax(-1) @ v @ params["W_O"].T
        h = h + (h @ params["W_in"].T).relu() @ params["W_out"].T
        return h[:, -1] @ params["W_U"].T


# Looking rows of a token table up, [K, V, ·] at [N] token ids -> [K, N, ·]. The values are the
# table's entries either way (a product with a one-hot matrix adds one nonzero term per row), so
# the forward pass is exact on both; the backward passes differ. On a CPU, index_select's backward
# (an index_add) is the cheap one. On a GPU, index_add accumulates with atomic adds, whose order
# follows thread timing, so two runs of the same steps would part in the last bits (measured on an
# H200: a resumed transformer run differed from its uninterrupted twin); a product's backward is a
# GEMM, the same bits every time. tests/unit/test_exactness.py holds resume == uninterrupted on
# CUDA, and test_trajectory.py holds both paths to the textbook forward.
def lookup_by_product(tok: torch.Tensor) -> bool:
    return tok.is_cuda


def _rows_by_index(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return table.index_select(1, idx)


def _one_hot(idx: torch.Tensor, V: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.nn.functional.one_hot(idx, V).to(dtype)  # [N, V]


def _rows_by_product(V: int):
    return lambda table, idx: torch.matmul(_one_hot(idx, V, table.dtype), table)  # [N, V] @ [K, V, ·]
