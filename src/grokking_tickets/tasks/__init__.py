"""Tasks: each turns a TaskConfig into a :class:`Dataset` of tensors."""

from ..config import TaskConfig
from .base import Dataset
from .modular import modular_dataset


def build_dataset(cfg: TaskConfig) -> Dataset:
    if cfg.name == "mnist":
        from .mnist import mnist_dataset  # imported when used: it reads a 17 MB file

        return mnist_dataset(cfg)
    return modular_dataset(cfg)


__all__ = ["Dataset", "build_dataset"]
