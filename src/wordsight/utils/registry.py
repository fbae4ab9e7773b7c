"""A small name -> object registry used for models, systems, metrics, encoders and data layouts.

Adding a published system means registering a name; nothing else in the code has to change.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class RegistryError(KeyError):
    """An unknown or duplicate name in a registry."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable.
        return str(self.args[0])


class Registry(Generic[T]):
    """Maps names to objects (classes or functions).

    >>> MODELS = Registry("model")
    >>> @MODELS.register("dfgan")
    ... class DFGAN: ...
    >>> MODELS.get("dfgan") is DFGAN
    True
    """

    def __init__(self, kind: str, base: type | None = None):
        self.kind = kind
        self.base = base
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        def _add(item: T) -> T:
            key = name.lower()
            if key in self._items and self._items[key] is not item:
                raise RegistryError(f"{self.kind} {name!r} is already registered")
            if self.base is not None and isinstance(item, type) and not issubclass(item, self.base):
                raise RegistryError(f"{self.kind} {name!r} must subclass {self.base.__name__}")
            self._items[key] = item
            return item

        return _add(obj) if obj is not None else _add

    def get(self, name: str) -> T:
        key = name.lower()
        if key not in self._items:
            known = ", ".join(sorted(self._items)) or "(none registered)"
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {known}")
        return self._items[key]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
