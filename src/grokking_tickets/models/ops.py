"""Batched products whose every member is computed the same way at any population size K.

A population is only honest if member k computes exactly what run k computes alone. On a CPU,
``torch.bmm`` with a batch of one calls MKL's single GEMM and with a larger batch its batched
GEMM, and on AVX-512 machines the two can block the inner dimension differently: for
[67, 911] @ [911, 48] (the MLP's output-weight gradient, a sum over the 911 training pairs)
they differ in the last bits. Every batch size from two on gives each member the same bits
(the tests check it), so a batch of one is run as a batch of two (the member and a free
stride-0 copy of it) and the first result kept. This costs a solo run 15–40% on the MLP's
small products and up to 2x on the MNIST MLP's large ones; populations pay nothing.

Where every member multiplies the same input (the MLPs' first layer), the models fold the
members into the rows of one 2D GEMM instead ([K·H, d] @ [d, N]), which is faster for small K;
MKL computes those rows independently of the row count at the examples counts we train on
(checked by the member-equals-solo tests at the real shapes), though not for a handful of
columns (at N = 50 on AVX-512 it does not).
"""

from __future__ import annotations

import torch


def bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[K, n, k] @ [K, k, m] -> [K, n, m], member k's bits independent of K. Differentiable."""
    if a.shape[0] != 1:
        return torch.bmm(a, b)
    return torch.bmm(a.expand(2, -1, -1), b.expand(2, -1, -1))[:1]
