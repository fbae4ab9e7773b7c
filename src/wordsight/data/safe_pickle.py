"""Reading the AttnGAN/DF-GAN pickles (filenames, captions, class_info) without running code.

``pickle.load`` on a downloaded file can execute anything (a pickle may name ``os.system``). These files
only hold lists, dicts, strings and numbers, so ``RestrictedUnpickler.find_class`` allows just the few
globals such data needs and refuses everything else. Python 2 pickles (AttnGAN's are protocol 2,
written by Python 2) are read with ``encoding="bytes"`` and every ``bytes`` key or value is decoded to
``str`` (UTF-8, falling back to Latin-1).
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

from ..utils.checks import InputError

# (module, name) pairs a pickle of plain data may reference. Python 3 writes ``bytes`` in protocol <= 2
# as ``_codecs.encode(str, "latin1")``; sets and OrderedDicts are rebuilt through their classes; numpy
# scalars and arrays (ints in class_info.pickle) through numpy's reconstructors.
_ALLOWED_GLOBALS = {
    ("_codecs", "encode"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytes"),  # Python 3 writes b"" as bytes() in protocols 0-2
    ("__builtin__", "bytes"),
    ("builtins", "bytearray"),
    ("builtins", "complex"),
    ("__builtin__", "set"),
    ("__builtin__", "frozenset"),
    ("__builtin__", "bytearray"),
    ("__builtin__", "complex"),
    ("collections", "OrderedDict"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class RefusedPickleError(pickle.UnpicklingError):
    """The pickle names a global outside the allowed plain-data set."""


_SIZED = ("bytes", "bytearray")  # bytes(10**12) would allocate a terabyte: plain data never passes a size


def _without_size(factory: Any) -> Any:
    def build(*args: Any) -> Any:
        if args and isinstance(args[0], int):
            raise RefusedPickleError(f"refusing {factory.__name__}({args[0]!r}): a size, not data")
        return factory(*args)

    return build


def _latin1_encode(text: Any, encoding: str = "utf-8", *rest: Any) -> bytes:
    """``_codecs.encode`` as Python 3 pickles bytes (``encode(str, "latin1")``); any other codec (they are
    looked up, and may be imported, by name) is refused."""
    if encoding not in ("latin1", "latin-1") or rest or not isinstance(text, str):
        raise RefusedPickleError(f"refusing _codecs.encode(..., {encoding!r}) (only latin1 strings are bytes data)")
    return text.encode("latin-1")


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            if (module, name) == ("_codecs", "encode"):
                return _latin1_encode
            found = super().find_class(module, name)
            return _without_size(found) if name in _SIZED else found
        raise RefusedPickleError(f"refusing to load global {module}.{name} (only plain data is allowed)")


def _decode_bytes(obj: Any) -> Any:
    """Recursively turn bytes into str in containers (Python 2 ``str`` arrives as bytes)."""
    if isinstance(obj, bytes):
        try:
            return obj.decode("utf-8")
        except UnicodeDecodeError:
            return obj.decode("latin-1")
    if isinstance(obj, list):
        return [_decode_bytes(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_decode_bytes(v) for v in obj)
    if isinstance(obj, (set, frozenset)):
        return type(obj)(_decode_bytes(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((_decode_bytes(k), _decode_bytes(v)) for k, v in obj.items())
    return obj


def loads_restricted(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle plain data; bytes strings become str. Raises InputError naming ``source``."""
    last_exc: Exception | None = None
    for encoding in ("bytes", "latin1"):  # numpy arrays from Python 2 need latin1
        try:
            obj = RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()
            return _decode_bytes(obj)
        except RefusedPickleError as exc:
            raise InputError(f"unsafe pickle {source}: {exc}") from exc
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError,
                KeyError, LookupError, UnicodeError, OverflowError, RecursionError, MemoryError) as exc:
            last_exc = exc
    reason = " ".join(str(last_exc).split())  # one line (pickle's persistent-id message has a line break)
    raise InputError(f"corrupt pickle {source}: {last_exc.__class__.__name__}: {reason}") from last_exc


def load_pickle(path: str | os.PathLike) -> Any:
    """Load a pickle of plain data (lists, dicts, str, numbers) from ``path`` with the restricted unpickler."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"pickle not found: {path}")
    return loads_restricted(path.read_bytes(), source=str(path))


def dump_pickle(obj: Any, protocol: int = 2) -> bytes:
    """Pickle plain data with protocol 2 by default, as AttnGAN writes (readable by Python 2 and 3)."""
    return pickle.dumps(obj, protocol=protocol)
