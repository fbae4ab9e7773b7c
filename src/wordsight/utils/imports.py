"""Import every module of a package, so that a new file registers its names with no hand-kept list."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Iterable


def import_submodules(package: str, path: Iterable[str]) -> list[ModuleType]:
    """Import the modules and sub-packages directly in ``package`` (its ``__path__`` is ``path``), in
    name order, skipping names that start with ``_``. Call it from the package's ``__init__``:

        import_submodules(__name__, __path__)
    """
    return [importlib.import_module(f"{package}.{info.name}")
            for info in sorted(pkgutil.iter_modules(path), key=lambda info: info.name)
            if not info.name.startswith("_")]
