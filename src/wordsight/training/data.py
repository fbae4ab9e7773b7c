"""Batch sources whose batch at step s is a function of (seed, step), so a resumed run sees the same data.

The loop accepts three kinds of data and wraps them with :func:`as_batch_source`:

* an object with ``batch(step, rank, world_size) -> dict`` (used as is);
* a map-style dataset (``__len__`` + ``__getitem__`` returning a dict per sample): shuffled per epoch
  with a permutation seeded by (seed, epoch), each process taking its own slice of the global batch;
* any other iterable of batch dicts: consumed in order and restarted when exhausted; on resume the
  first ``step`` batches are skipped, which is exact only if the iterable is itself deterministic.

A sample that cannot be read (an :class:`InputError` such as a truncated image, or an ``OSError``) is a
:class:`DataReadError` naming the sample. With ``data_errors="skip"`` a map-style dataset instead replaces
it by the next index that reads (``i + 1``, ``i + 2``, ... modulo the length) and counts it in
``ShuffledBatches.skipped``: the replacement is a function of the index, so a resumed run draws the same
batches as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Iterable, Iterator, Protocol, runtime_checkable

import torch
from torch.utils.data import default_collate

from ..config import ConfigError
from ..utils.checks import InputError

__all__ = ["BatchSource", "DataReadError", "RandomCaptionData", "ShuffledBatches", "IterableBatches", "as_batch_source",
           "mix_seed"]

log = logging.getLogger(__name__)

READ_ERRORS = (InputError, OSError)  # what reading one sample may raise for a bad file (PIL's errors are OSErrors)
DATA_ERROR_MODES = ("stop", "skip")


class DataReadError(InputError):
    """A training sample or batch could not be read; ``index`` is the sample's (None for a whole batch)."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, InputError) else f"{type(exc).__name__}: {text}"


def mix_seed(*parts: int | str) -> int:
    """A 63-bit seed from several integers/strings (stable across processes and Python versions)."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


@runtime_checkable
class BatchSource(Protocol):
    def batch(self, step: int, rank: int = 0, world_size: int = 1) -> dict[str, Any]: ...


class RandomCaptionData(torch.utils.data.Dataset):
    """A map-style dataset of random pairs for tests and speed checks: sample i is
    {"images": [3, S, S] uniform in [-1, 1], "sentence": [Ds] N(0, 1)}, a pure function of (seed, i)."""

    name = "random"

    def __init__(self, num_samples: int = 64, image_size: int = 16, sentence_dim: int = 16, seed: int = 0):
        if num_samples < 1:
            raise InputError(f"RandomCaptionData: num_samples must be >= 1, got {num_samples}")
        self.num_samples, self.image_size, self.sentence_dim, self.seed = num_samples, image_size, sentence_dim, seed

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.num_samples:
            raise IndexError(f"RandomCaptionData index {index} out of range [0, {self.num_samples})")
        gen = torch.Generator().manual_seed(mix_seed("random-caption", self.seed, index))
        image = torch.rand(3, self.image_size, self.image_size, generator=gen) * 2 - 1
        sentence = torch.randn(self.sentence_dim, generator=gen)
        return {"images": image, "sentence": sentence}


class ShuffledBatches:
    """Batches from a map-style dataset: epoch e uses randperm(N) seeded by (seed, e); global position
    p = step * global_batch + rank * batch_size + i maps to sample perm_{p // N}[p % N]."""

    def __init__(self, dataset: Any, batch_size: int, seed: int = 0, data_errors: str = "stop"):
        if len(dataset) < 1:
            raise InputError("the training dataset is empty")
        if data_errors not in DATA_ERROR_MODES:
            raise InputError(f"data_errors must be one of {list(DATA_ERROR_MODES)}, got {data_errors!r}")
        self.dataset, self.batch_size, self.seed, self.data_errors = dataset, batch_size, seed, data_errors
        self._perm_epoch, self._perm = -1, torch.empty(0, dtype=torch.long)
        self.skipped = 0  # reads that failed and were replaced by the next index (data_errors="skip")
        self._reported: set[int] = set()  # indices already warned about (a bad file fails again every epoch)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._perm_epoch:
            gen = torch.Generator().manual_seed(mix_seed("shuffle", self.seed, epoch))
            self._perm, self._perm_epoch = torch.randperm(len(self.dataset), generator=gen), epoch
        return self._perm

    def indices(self, step: int, rank: int = 0, world_size: int = 1) -> list[int]:
        n = len(self.dataset)
        start = (step * world_size + rank) * self.batch_size
        return [int(self._permutation(p // n)[p % n]) for p in range(start, start + self.batch_size)]

    def batch(self, step: int, rank: int = 0, world_size: int = 1) -> dict[str, Any]:
        return default_collate([self.read(i) for i in self.indices(step, rank, world_size)])

    def read(self, index: int) -> dict[str, Any]:
        """Sample ``index``, or with ``data_errors="skip"`` the first of ``index + 1, index + 2, ...``
        (modulo the length) that reads; raises :class:`DataReadError` naming the sample otherwise."""
        n = len(self.dataset)
        for offset in range(n):
            i = (index + offset) % n
            try:
                return self.dataset[i]
            except READ_ERRORS as exc:
                if self.data_errors != "skip":
                    raise DataReadError(f"cannot read training sample {i}: {_one_line(exc)}", index=i) from exc
                self.skipped += 1
                if i not in self._reported:
                    self._reported.add(i)
                    log.warning("skipping unreadable training sample %d (data_errors=skip): %s", i, _one_line(exc))
        raise DataReadError(f"none of the {n} training samples could be read (data_errors=skip)")


class IterableBatches:
    """Batches from an iterable of batch dicts, in order; for step s in process r it returns item
    s * world_size + r of the endless repetition of the iterable."""

    def __init__(self, iterable: Iterable[dict[str, Any]]):
        self.iterable = iterable
        self._iter: Iterator[dict[str, Any]] | None = None
        self._next = 0  # absolute index of the item self._iter yields next
        self._pass_start = 0  # absolute index of the current pass's first item

    def _new_pass(self, start: int) -> None:
        self._iter, self._next, self._pass_start = iter(self.iterable), start, start

    def batch(self, step: int, rank: int = 0, world_size: int = 1) -> dict[str, Any]:
        target = step * world_size + rank
        if self._iter is None or target < self._next:
            self._new_pass(0)
        while True:
            try:
                item = next(self._iter)
            except StopIteration:
                if self._next == self._pass_start:
                    raise InputError("the training data iterable yielded no batches") from None
                self._new_pass(self._next)
                continue
            self._next += 1
            if self._next - 1 == target:
                if not isinstance(item, dict):
                    raise InputError(f"training batches must be dicts, got {type(item).__name__}")
                return item


def as_batch_source(data: Any, batch_size: int, seed: int, data_errors: str = "stop") -> BatchSource:
    """Wrap whatever the caller passed as training data (see the module docstring). ``data_errors="skip"``
    needs a map-style dataset: the other kinds hand over whole batches, so no single sample can be replaced."""
    is_map = hasattr(data, "__len__") and hasattr(data, "__getitem__") and not isinstance(data, (dict, str))
    if data_errors == "skip" and (isinstance(data, BatchSource) or not is_map):
        raise ConfigError(f"data_errors=skip needs a map-style dataset (len + getitem, one sample per index); "
                         f"{type(data).__name__} yields whole batches, so unreadable samples cannot be skipped")
    if isinstance(data, BatchSource):
        return data
    if is_map:
        return ShuffledBatches(data, batch_size, seed, data_errors)
    if hasattr(data, "__iter__"):
        return IterableBatches(data)
    raise InputError(f"training data must be a dataset, an iterable of batch dicts or have .batch(step); got {type(data).__name__}")
