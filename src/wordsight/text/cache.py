"""On-disk cache of caption embeddings, keyed by content (model id, max length, text).

Layout of a cache folder::

    index.json               {"format": ..., "version": 1, "entries": {key: shard file name}}
    shard-<hex>.safetensors  tensors "<key>.words" [T_i, D] and "<key>.sentence" [D] (float32)

Shards are written to a temporary file and renamed into place before the index names them, and the
index itself is replaced atomically, so a crash leaves either the old cache or the new one. Two
processes writing at once can each drop the other's newest index entries (their shards stay on disk
and the captions are simply encoded again); they never corrupt the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Iterable, Mapping

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..utils.checks import InputError
from ..utils.io import atomic_path, atomic_write_json

INDEX_NAME = "index.json"
_FORMAT = "wordsight-text-cache"
_VERSION = 1


def cache_key(model_id: str, text: str, max_length: int) -> str:
    """sha256 of the JSON triple (model id, max length, text): any change gives a new key."""
    payload = json.dumps([model_id, int(max_length), text], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Caption embeddings by key: ``get(keys)`` and ``put({key: (words [T, D], sentence [D])})``."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._entries: dict[str, str] = {}
        self._load_index()

    def _load_index(self) -> None:
        path = self.folder / INDEX_NAME
        if not path.exists():
            self._entries = {}
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"corrupt embedding-cache index {path}: {exc}; delete the folder to rebuild it") from exc
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("version") != _VERSION:
            raise InputError(f"{path} is not a wordsight text-cache index (format {_FORMAT!r}, version {_VERSION})")
        self._entries = dict(data.get("entries", {}))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys not in the cache (the index is re-read once, to see other processes' writes)."""
        absent = [k for k in keys if k not in self._entries]
        if absent:
            self._load_index()
            absent = [k for k in absent if k not in self._entries]
        return absent

    def get(self, keys: Iterable[str]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Read the cached (words, sentence) pairs of ``keys``; every key must be present."""
        keys = list(keys)
        absent = self.missing(keys)
        if absent:
            raise KeyError(f"{len(absent)} key(s) not in the embedding cache {self.folder}")
        by_shard: dict[str, list[str]] = {}
        for k in keys:
            by_shard.setdefault(self._entries[k], []).append(k)
        out = {}
        for shard, shard_keys in by_shard.items():
            path = self.folder / shard
            try:
                with safe_open(str(path), framework="pt", device="cpu") as fh:
                    for k in shard_keys:
                        out[k] = (fh.get_tensor(f"{k}.words"), fh.get_tensor(f"{k}.sentence"))
            except Exception as exc:  # safetensors raises its own error types
                raise InputError(f"cannot read embedding-cache shard {path}: {exc}") from exc
        return out

    def put(self, items: Mapping[str, tuple[torch.Tensor, torch.Tensor]], metadata: dict | None = None) -> None:
        """Write ``items`` as one new shard, then add them to the index."""
        if not items:
            return
        tensors = {}
        for k, (words, sentence) in items.items():
            tensors[f"{k}.words"] = words.detach().to("cpu", torch.float32).contiguous()
            tensors[f"{k}.sentence"] = sentence.detach().to("cpu", torch.float32).contiguous()
        shard = f"shard-{uuid.uuid4().hex}.safetensors"
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.folder / shard) as tmp:
            save_file(tensors, str(tmp), metadata={k: str(v) for k, v in (metadata or {}).items()})
        self._load_index()  # merge with entries other processes may have added
        self._entries.update({k: shard for k in items})
        atomic_write_json(
            self.folder / INDEX_NAME, {"format": _FORMAT, "version": _VERSION, "entries": self._entries}
        )
