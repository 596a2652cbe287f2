"""Registries: one named table per kind of thing (task, model, scorer, experiment, executor).

Each entry registers itself where it is defined (``@MODELS.register``), and each package that
holds entries imports all of its modules once (:func:`import_modules`), so adding a model,
task, scorer or experiment is one new file. Lookups of unknown names fail with the valid
names listed, and CLI choices, help texts and validation read the names from here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> entry, in registration order. ``kind`` names the entries in error messages."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, entry: T | None = None, *, name: str | None = None) -> T | Callable[[T], T]:
        """Register ``entry`` under ``name`` (default: its ``name`` attribute); usable as a decorator."""

        def add(e: T) -> T:
            key = name or getattr(e, "name", None)
            if not isinstance(key, str) or not key:
                raise TypeError(f"a {self.kind} needs a non-empty string name; got {key!r}")
            if key in self._entries and self._entries[key] is not e:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            self._entries[key] = e
            return e

        return add if entry is None else add(entry)

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UserError(f"unknown {self.kind} {name!r}; valid {self.kind}s: {', '.join(self._entries)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def items(self):
        return self._entries.items()


def import_modules(package: str, path, first: tuple[str, ...] = ()) -> None:
    """Import every module of a package (its ``__name__`` and ``__path__``): each registers its
    entries. Modules named in ``first`` are imported first, in that order (registration order is
    the order of lists and help texts); the rest follow alphabetically."""
    for name in first:
        importlib.import_module(f"{package}.{name}")
    for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
