"""Models as populations: parameters carry a leading member axis K."""

from ..config import ModelConfig
from ..tasks.base import Dataset
from .mlp import ModularMLP
from .transformer import ModularTransformer

MODELS = {"mlp": ModularMLP, "transformer": ModularTransformer}


def build_model(cfg: ModelConfig, data: Dataset):
    return MODELS[cfg.name](cfg, data.n_tokens, data.n_classes)


__all__ = ["MODELS", "ModularMLP", "ModularTransformer", "build_model"]
