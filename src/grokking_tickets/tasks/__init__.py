"""Tasks: each turns a TaskConfig into a :class:`Dataset` of tensors."""

from ..config import TaskConfig
from .base import Dataset
from .modular import modular_dataset


def build_dataset(cfg: TaskConfig) -> Dataset:
    if cfg.name == "modular":
        return modular_dataset(cfg)
    raise ValueError(f"no dataset for task {cfg.name!r}")  # unreachable: TaskConfig validates


__all__ = ["Dataset", "build_dataset"]
