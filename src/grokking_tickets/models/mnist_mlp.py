"""The MNIST MLP of the paper (after Omnigrok): 784-200-200-10, ReLU, no biases (an option),
initialized with κ = 8 (large weights are what make MNIST grok), trained with MSE.

It is the dense-input MLP (dense_mlp.py) with two hidden layers of ``model.d_hidden``; it keeps
its own name and settings so that the preset and every stored run id stay as they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import MODELS
from .dense_mlp import DenseMLP

if TYPE_CHECKING:
    from ..config import ModelConfig


@MODELS.register
class MnistMLP(DenseMLP):
    name = "mnist-mlp"
    config_fields = ("d_hidden", "bias", "init_scale")
    fold_first_layer = True  # exact at its shape (200 rows, 784 inputs; tests/unit/test_trajectory.py)

    def __init__(self, cfg: ModelConfig, n_inputs: int = 784, n_classes: int = 10):
        super().__init__(cfg, n_inputs, n_classes)

    @staticmethod
    def hidden_widths(cfg: ModelConfig) -> tuple[int, ...]:
        return (cfg.d_hidden, cfg.d_hidden)
