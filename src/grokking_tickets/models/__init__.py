"""Models as populations: parameters carry a leading member axis K (contract: models/base.py).

Every module here registers its model in :data:`MODELS`; adding a model is one new file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import import_modules
from .base import MODELS, Model, Params

if TYPE_CHECKING:
    from ..config import ModelConfig
    from ..tasks.base import Dataset

import_modules(__name__, __path__, first=("mlp", "transformer", "mnist_mlp"))  # the paper's, in its order


def build_model(cfg: ModelConfig, data: Dataset) -> Model:
    return MODELS[cfg.name].for_data(cfg, data)


__all__ = ["MODELS", "Model", "Params", "build_model"]
