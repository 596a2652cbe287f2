"""Periodicity of hidden neurons in the input token (claim C10; Pearce et al. 2023).

For the modular MLP, neuron j's input weight as a function of token t is P[j, t] with
P = W_in · W_emb ([H, p]). Its DFT over t gives a power spectrum per neuron. A neuron that
has learned a "clock" concentrates its power in one frequency (and its mirror, which the real
DFT folds in). We report, per checkpoint, the mean over live neurons of
  - top-k share: the fraction of non-DC power in the neuron's k strongest frequencies;
  - spectral entropy: the entropy (nats) of the normalized non-DC power spectrum.
Random weights spread power evenly (share ≈ k / (p // 2), entropy ≈ log(p // 2)).
"""

from __future__ import annotations

import math

import torch

from ..models.mlp import ModularMLP

Params = dict[str, torch.Tensor]


def neuron_spectra(weights: Params) -> torch.Tensor:
    """[H, F] non-DC power per neuron and frequency (F = p // 2), float64."""
    P = ModularMLP.input_table(weights, torch.float64)  # [H, p]
    power = torch.fft.rfft(P, dim=1).abs().square()  # [H, p//2 + 1]
    return power[:, 1:]


def _live(power: torch.Tensor) -> torch.Tensor:
    """[H] neurons with a spectrum (a fully pruned neuron, or a constant row, has none)."""
    total = power.sum(1)
    return total > 1e-12 * total.max().clamp_min(1e-300)


def spectral_entropy(power: torch.Tensor) -> torch.Tensor:
    """[H, F] power -> [H] entropy (nats) of each row's normalized power spectrum.
    0 for all power in one frequency, log F for a flat spectrum."""
    p = power / power.sum(1, keepdim=True)
    return -(p * p.clamp_min(1e-300).log()).sum(1)


def fourier_entropy(weights: Params) -> torch.Tensor:
    """[H] the Fourier entropy of each hidden neuron's input weights (rows of W_in · W_emb, v3's
    measure), NaN for a neuron without a spectrum."""
    power = neuron_spectra(weights)
    out = torch.full((power.shape[0],), torch.nan, dtype=power.dtype)
    live = _live(power)
    out[live] = spectral_entropy(power[live])
    return out


def periodicity(weights: Params, top_k: int = 1) -> dict[str, float]:
    power = neuron_spectra(weights)
    live = _live(power)
    power = power[live]
    total = power.sum(1)
    share = power.topk(top_k, dim=1).values.sum(1) / total
    entropy = spectral_entropy(power)
    F = power.shape[1]
    return {
        "top_share": float(share.mean()),
        "entropy": float(entropy.mean()),
        "uniform_share": top_k / F,
        "uniform_entropy": math.log(F),
        "live_neurons": int(live.sum()),
    }


def dominant_frequencies(weights: Params) -> torch.Tensor:
    """[H] the strongest non-DC frequency (1..p//2) of each neuron."""
    return neuron_spectra(weights).argmax(1) + 1
