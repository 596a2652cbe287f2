"""Models as populations: parameters carry a leading member axis K."""

from ..config import ModelConfig
from ..tasks.base import Dataset
from .mlp import ModularMLP
from .mnist_mlp import MnistMLP
from .transformer import ModularTransformer

MODELS = {"mlp": ModularMLP, "transformer": ModularTransformer}


def build_model(cfg: ModelConfig, data: Dataset):
    if cfg.name == "mnist-mlp":
        return MnistMLP(cfg, data.train_x.shape[1], data.n_classes)
    return MODELS[cfg.name](cfg, data.n_tokens, data.n_classes)


__all__ = ["MODELS", "MnistMLP", "ModularMLP", "ModularTransformer", "build_model"]
