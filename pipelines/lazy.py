"""A package's names imported from their submodules on first use (PEP 562).

A package whose ``__init__`` imports its own submodules closes an import cycle (importing
``pkg.sub`` first imports ``pkg``), and threads importing the package and a submodule at once
could get a half-loaded module: a preset failed once in ~45 window starts with "cannot import
name 'ProviderReport' from partially initialized module" (tests/test_import_cycles.py). Such a
package names what it offers and where, and asks :func:`lazy_names` for its ``__getattr__``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str,
    submodule_of: Mapping[str, str],
    made: Mapping[str, Callable[[], Any]] | None = None,
) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: a name of ``submodule_of`` is imported from
    its submodule on first use (or made by ``made``'s function, a registry that first imports
    its registering modules) and kept in the package, so later look-ups skip this."""
    namespace = sys.modules[package].__dict__
    makers = dict(made or {})

    def __getattr__(name: str) -> Any:
        submodule = submodule_of.get(name)
        if submodule is None:
            # Also how ``from package import sub`` finds a submodule not yet loaded.
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        make = makers.get(name)
        value = make() if make is not None else getattr(importlib.import_module(submodule), name)
        namespace[name] = value
        return value

    return __getattr__
