"""The registry of saveable model classes: ``MODELS``, :func:`register_model` and :func:`model_class`.

It sits below ``hub`` (which saves and loads the registered classes) and below every package that
defines models, so that ``models/*.py`` and ``text/*.py`` can register their classes without ``hub``
having to import them (``wordsight.hub`` re-exports ``MODELS`` and ``register_model``).

A class is registered with :func:`register_model`; its ``__init__`` arguments are recorded as its config
(like diffusers' ``register_to_config``), so a saved folder rebuilds the same module:

    @register_model("dfgan_generator")
    class DFGenerator(nn.Module):
        def __init__(self, nf: int = 32, ...): ...

Finding a class by name (:func:`model_class`, used by ``hub.from_pretrained``) imports the packages of
:data:`MODEL_PACKAGES` the first time it is asked for a name nobody has registered yet: a saved folder
may name a class whose module the caller never imported. The import is by name, with importlib, at
call time (as diffusers resolves its ``_class_name``), not a module-level ``from .. import models``:
a static import would point upward from the lowest layers to ``models``/``text`` and make the two
import each other, since every model module imports this one to register itself.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from pathlib import Path
from typing import Any

from torch import nn

from .registry import Registry

__all__ = ["MODELS", "MODEL_PACKAGES", "model_class", "register_model"]

MODELS: Registry[type[nn.Module]] = Registry("model", base=nn.Module)

# Packages whose import registers every shipped model name (each imports all of its submodules).
MODEL_PACKAGES: tuple[str, ...] = ("wordsight.models", "wordsight.text")


def register_model(name: str):
    """Register an ``nn.Module`` subclass and record its ``__init__`` arguments in ``self.config``."""

    def deco(cls: type[nn.Module]) -> type[nn.Module]:
        init = cls.__init__
        sig = inspect.signature(init)

        @functools.wraps(init)
        def wrapped(self, *args, **kwargs):
            bound = sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            cfg = {k: v for k, v in bound.arguments.items() if k != "self"}
            for k, p in sig.parameters.items():
                if p.kind is inspect.Parameter.VAR_KEYWORD:
                    cfg.update(cfg.pop(k, {}))
            init(self, *args, **kwargs)
            # Set after init: a registered parent's wrapper runs inside ours and sets its own config
            # first, so the outermost (most derived) class always wins.
            object.__setattr__(self, "config", _jsonable(cfg))
            object.__setattr__(self, "model_type", name)

        cls.__init__ = wrapped
        MODELS.register(name, cls)
        return cls

    return deco


def model_class(name: str) -> type[nn.Module]:
    """The class registered as ``name``, importing :data:`MODEL_PACKAGES` first when it is unknown
    (a ``RegistryError`` listing the known names when it is still unknown after that)."""
    if name not in MODELS:
        for package in MODEL_PACKAGES:
            importlib.import_module(package)
    return MODELS.get(name)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"config value {obj!r} of type {type(obj).__name__} cannot be saved as JSON")
