"""Fourier entropy and periodicity of hidden neurons: a pure sinusoid against white noise."""

import math

import pytest
import torch

from grokking_tickets.analysis.fourier import dominant_frequencies, fourier_entropy, periodicity

P = 67  # tokens
F = P // 2  # non-DC frequencies


def _weights(rows: torch.Tensor) -> dict[str, torch.Tensor]:
    """Weights whose input table W_in · W_emb is ``rows`` [H, p]: W_emb the identity."""
    return {"W_emb": torch.eye(P, dtype=torch.float64), "W_in": rows.to(torch.float64)}


def test_a_pure_sinusoid_has_zero_entropy_and_white_noise_nearly_the_maximum():
    t = torch.arange(P, dtype=torch.float64)
    k = torch.tensor([3, 7, 20])
    sines = torch.cos(2 * math.pi * k[:, None] * t / P + 0.4)  # [3, p]
    noise = torch.randn(200, P, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    h_sine = fourier_entropy(_weights(sines))
    h_noise = fourier_entropy(_weights(noise))
    assert h_sine.abs().max() < 1e-9
    assert dominant_frequencies(_weights(sines)).tolist() == k.tolist()
    # white noise: the normalized spectrum of F i.i.d. exponential powers has entropy near
    # log F − (1 − γ) ≈ log F − 0.42, well above a sinusoid's and below the flat spectrum's log F
    assert math.log(F) - 0.7 < h_noise.mean() < math.log(F)
    per = periodicity(_weights(sines))
    assert per["top_share"] == pytest.approx(1.0) and per["entropy"] == pytest.approx(0.0, abs=1e-9)


def test_a_dead_neuron_has_no_entropy_and_is_left_out_of_the_mean():
    t = torch.arange(P, dtype=torch.float64)
    rows = torch.stack([torch.cos(2 * math.pi * 5 * t / P), torch.zeros(P), torch.ones(P)])  # live, pruned, DC only
    h = fourier_entropy(_weights(rows))
    assert h[0] == pytest.approx(0.0, abs=1e-9) and h[1:].isnan().all()
    assert periodicity(_weights(rows))["live_neurons"] == 1
