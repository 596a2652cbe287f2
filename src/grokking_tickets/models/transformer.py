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
Gradients: a hand-written backward pass through the same tables (``grads``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import torch

from .base import MODELS, LossGrad, Model, Params
from .ops import bmm

if TYPE_CHECKING:
    from ..config import ModelConfig
    from ..tasks.base import Dataset


class _Forward(NamedTuple):
    """What the fast forward pass keeps for the backward pass (shapes per member batch K)."""

    E: torch.Tensor  # [K, d, V] (W_E)
    q_tab: torch.Tensor  # [K, d, V] = W_Q W_E
    k_tab: torch.Tensor  # [K, d, V] = W_K W_E
    VE: torch.Tensor  # [K, d, V] = W_V W_E
    ET: torch.Tensor  # [K, V, d]
    OVT: torch.Tensor  # [K, V, d] = (W_O W_V W_E)^T
    U_outT: torch.Tensor  # [K, m, C] = (W_U W_out)^T
    alpha: torch.Tensor  # [K, N, T] attention weights of the last position
    in_rows: list  # T x [K, N, m]: rows of W_in OV at each position's token
    U_rows: list  # T x [K, N, C]: rows of W_U OV at each position's token
    h: torch.Tensor  # [K, N, m] ReLU(pre)
    logits: torch.Tensor  # [K, C, N]


@MODELS.register
class ModularTransformer(Model):
    name = "transformer"
    input_kind = "tokens"
    config_fields = ("d_model", "d_mlp", "eq_token", "init_scale")
    names = ("W_E", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U")

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

    def _fast_forward(self, params: Params, tok: torch.Tensor) -> _Forward:
        """The table fast path, keeping what the backward pass reads."""
        d = self.cfg.d_model
        E = params["W_E"]  # [K, d, V]
        q_tab = bmm(params["W_Q"], E)  # [K, d, V]
        k_tab = bmm(params["W_K"], E)
        A = bmm(q_tab.transpose(1, 2), k_tab) / math.sqrt(d)  # [K, V, V]
        VE = bmm(params["W_V"], E)  # [K, d, V]
        OV = bmm(params["W_O"], VE)  # [K, d, V]
        # Tables are built transposed, token-major ([K, V, ·]), so that looking tokens up
        # gathers contiguous rows.
        ET, OVT = E.transpose(1, 2), OV.transpose(1, 2)  # [K, V, d]
        W_inT, W_UT = params["W_in"].transpose(1, 2), params["W_U"].transpose(1, 2)
        in_E, in_OV = bmm(ET, W_inT), bmm(OVT, W_inT)  # [K, V, m]
        U_E, U_OV = bmm(ET, W_UT), bmm(OVT, W_UT)  # [K, V, C]
        U_outT = bmm(params["W_out"].transpose(1, 2), W_UT)  # [K, m, C]

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
        in_rows = [rows(in_OV, tok[:, t]) for t in range(T)]  # T x [K, N, m]
        U_rows = [rows(U_OV, tok[:, t]) for t in range(T)]  # T x [K, N, C]
        pre = rows(in_E, last)  # [K, N, m]
        out = rows(U_E, last)  # [K, N, C]
        for t in range(T):
            w = alpha[:, :, t : t + 1]  # [K, N, 1]
            pre = pre + w * in_rows[t]
            out = out + w * U_rows[t]
        h = pre.relu()  # [K, N, m]
        logits = (out + bmm(h, U_outT)).transpose(1, 2)  # [K, C, N] (a view)
        return _Forward(E, q_tab, k_tab, VE, ET, OVT, U_outT, alpha, in_rows, U_rows, h, logits)

    def logits(self, params: Params, tok: torch.Tensor) -> torch.Tensor:
        """[K, C, N] by the table fast path."""
        return self._fast_forward(params, tok).logits

    def grads(self, params: Params, tok: torch.Tensor, y: torch.Tensor, loss_grad: LossGrad) -> Params:
        """The hand-written backward pass through the tables (tests hold it to autograd through
        ``forward`` and to the textbook loop over a trajectory). Each table's gradient gathers
        the examples' gradients by token (``_scatter_rows``), then flows to the weights by the
        products that built the table."""
        f = self._fast_forward(params, tok)
        d = self.cfg.d_model
        K, V, T = f.E.shape[0], f.E.shape[2], tok.shape[1]
        last = tok[:, -1]
        scatter = _scatter_by_product if lookup_by_product(tok) else _scatter_by_index
        G = loss_grad(f.logits, y).transpose(1, 2)  # [K, N, C]
        dU_outT = bmm(f.h.transpose(1, 2), G)  # [K, m, C]
        # ReLU backward: keep dh where h > 0 (h > 0 exactly where the pre-activation is > 0)
        dpre = torch.ops.aten.threshold_backward(bmm(G, f.U_outT.transpose(1, 2)), f.h, 0.0)  # [K, N, m]
        # attention: d alpha_t = <G, U_OV[tok_t]> + <dpre, in_OV[tok_t]>, then the softmax's backward
        d_alpha = torch.stack(
            [(G * f.U_rows[t]).sum(-1) + (dpre * f.in_rows[t]).sum(-1) for t in range(T)], -1
        )  # [K, N, T]
        d_scores = f.alpha * (d_alpha - (f.alpha * d_alpha).sum(-1, keepdim=True))  # [K, N, T]
        every = tok.T.reshape(-1)  # [T*N], position-major: the token at (t, n) is every[t*N + n]
        w = [f.alpha[:, :, t : t + 1] for t in range(T)]
        d_in_E = scatter(dpre, last, V)  # [K, V, m]
        d_U_E = scatter(G, last, V)  # [K, V, C]
        d_in_OV = scatter(torch.cat([w[t] * dpre for t in range(T)], 1), every, V)  # [K, V, m]
        d_U_OV = scatter(torch.cat([w[t] * G for t in range(T)], 1), every, V)  # [K, V, C]
        dA = _scatter_pairs(d_scores, last, tok, V, scatter).mul_(1 / math.sqrt(d))  # [K, V, V] (of the unscaled A)

        W_in, W_U, W_out = params["W_in"], params["W_U"], params["W_out"]
        dET = bmm(d_in_E, W_in) + bmm(d_U_E, W_U)  # [K, V, d]
        dOV = (bmm(d_in_OV, W_in) + bmm(d_U_OV, W_U)).transpose(1, 2)  # [K, d, V]
        dW_in = bmm(d_in_E.transpose(1, 2), f.ET) + bmm(d_in_OV.transpose(1, 2), f.OVT)  # [K, m, d]
        dW_U = (
            bmm(d_U_E.transpose(1, 2), f.ET) + bmm(d_U_OV.transpose(1, 2), f.OVT)
            + bmm(dU_outT.transpose(1, 2), W_out.transpose(1, 2))
        )  # [K, C, d]
        dW_out = bmm(W_U.transpose(1, 2), dU_outT.transpose(1, 2))  # [K, d, m]
        dVE = bmm(params["W_O"].transpose(1, 2), dOV)  # [K, d, V]
        dq = bmm(f.k_tab, dA.transpose(1, 2))  # [K, d, V]
        dk = bmm(f.q_tab, dA)  # [K, d, V]
        ET = f.ET
        dW_E = (
            dET.transpose(1, 2) + bmm(params["W_V"].transpose(1, 2), dVE)
            + bmm(params["W_Q"].transpose(1, 2), dq) + bmm(params["W_K"].transpose(1, 2), dk)
        )  # [K, d, V]
        return {
            "W_E": dW_E, "W_Q": bmm(dq, ET), "W_K": bmm(dk, ET), "W_V": bmm(dVE, ET),
            "W_O": bmm(dOV, f.VE.transpose(1, 2)), "W_in": dW_in, "W_out": dW_out, "W_U": dW_U,
        }  # fmt: skip

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


def _scatter_by_index(src: torch.Tensor, idx: torch.Tensor, V: int) -> torch.Tensor:
    """Sum the rows of ``src`` [K, M, ·] into V token rows by ``idx`` [M]: [K, V, ·]. index_add
    accumulates in index order, member by member: the same bits at any population size."""
    return src.new_zeros(src.shape[0], V, src.shape[2]).index_add_(1, idx, src)


def _scatter_by_product(src: torch.Tensor, idx: torch.Tensor, V: int) -> torch.Tensor:
    """The same sum as a product with the one-hot matrix of ``idx`` (a GEMM: deterministic on a GPU)."""
    return torch.matmul(_one_hot(idx, V, src.dtype).T, src)  # [V, M] @ [K, M, ·]


def _scatter_pairs(d_scores: torch.Tensor, last: torch.Tensor, tok: torch.Tensor, V: int, scatter) -> torch.Tensor:
    """dL/dA [K, V, V] from the score gradients [K, N, T]: score (n, t) read A[last_n, tok_nt]."""
    K, N, T = d_scores.shape
    if scatter is _scatter_by_index:
        flat = torch.cat([last * V + tok[:, t] for t in range(T)])  # [T*N]
        src = d_scores.transpose(1, 2).reshape(K, T * N, 1)  # position-major, as ``flat``
        return _scatter_by_index(src, flat, V * V).view(K, V, V)
    cols = sum(d_scores[:, :, t : t + 1] * _one_hot(tok[:, t], V, d_scores.dtype) for t in range(T))  # [K, N, V]
    return _scatter_by_product(cols, last, V)

