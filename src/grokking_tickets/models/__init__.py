"""Models as populations: parameters carry a leading member axis K."""

from ..config import ModelConfig
from ..tasks.base import Dataset
from .mlp import ModularMLP


def build_model(cfg: ModelConfig, data: Dataset) -> ModularMLP:
    if cfg.name == "mlp":
        return ModularMLP(cfg, data.n_tokens, data.n_classes)
    raise ValueError(f"no model {cfg.name!r}")  # unreachable: ModelConfig validates


__all__ = ["ModularMLP", "build_model"]
