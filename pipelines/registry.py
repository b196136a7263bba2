"""A small name → factory registry, shared by sources, outputs, stages, models and backends.

Registries replace if/elif chains: adding a backend is one ``@REGISTRY.register("name")``
line next to its class, and listing what exists (for ``camfx devices``, the GUI pickers and
error messages) is ``REGISTRY.names()``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(item: T) -> T:
            self.add(name, item)
            return item

        return decorator

    def add(self, name: str, item: T) -> None:
        if name in self._items and self._items[name] is not item:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def name_of(self, item: object) -> str | None:
        """The name ``item`` is registered under, None when it is not registered."""
        return next((n for n, i in self._items.items() if i is item), None)

    def split_spec(self, spec: str) -> tuple[str, str] | None:
        """``NAME``, ``NAME:ARG`` or a path whose suffix a registered class claims (in its
        ``suffixes``) → (name, argument); None when nothing matches. A one-letter prefix is a
        Windows drive ("C:\\clip.mp4"), never a name."""
        name, sep, arg = spec.partition(":")
        if sep and len(name) > 1 and name in self._items:
            return name, arg
        if spec in self._items:
            return spec, ""
        suffix = os.path.splitext(spec)[1].lower()
        if suffix:
            for item_name, item in self._items.items():
                if suffix in getattr(item, "suffixes", ()):
                    return item_name, spec
        return None

    def names(self) -> list[str]:
        return list(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(list(self._items.items()))
