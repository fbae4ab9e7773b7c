"""Caption tokenizer and word vocabulary, following AttnGAN's conventions.

AttnGAN (``code/datasets.py``, ``load_captions`` / ``build_dictionary`` / ``get_caption``):
- tokens are ``RegexpTokenizer(r'\\w+')`` over the lower-cased caption; each token is re-encoded to
  ASCII with ``errors='ignore'`` (non-ASCII characters are dropped, empty tokens removed);
- id 0 is ``'<end>'`` and doubles as padding;
- captions longer than the word limit (``TEXT.WORDS_NUM`` = 18) are randomly subsampled, keeping word
  order. Here the default is deterministic truncation (the first ``max_length`` words); the random,
  order-keeping subsample is available with ``truncation="random"`` and a ``torch.Generator``.

AttnGAN has no unknown-word token: words missing from the dictionary are dropped. A vocabulary built
here has ``'<unk>'`` at id 1 by default; one read from a ``captions.pickle`` has none (``unk_token=None``)
and drops unknown words, as AttnGAN does, so its ids match the released DAMSM weights.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from ..utils.checks import InputError
from ..utils.io import atomic_write_json

END_TOKEN = "<end>"
UNK_TOKEN = "<unk>"
END_ID = 0  # AttnGAN: ixtoword[0] = '<end>', also the padding id
TRUNCATIONS = ("head", "random")

_WORD_RE = re.compile(r"\w+")
_FORMAT = "wordsight-vocabulary"
_VERSION = 1


def tokenize(text: str) -> list[str]:
    """Lower-case ``\\w+`` tokens with non-ASCII characters dropped (AttnGAN ``load_captions``).

    >>> tokenize("A small, bright-red Bird; café!")
    ['a', 'small', 'bright', 'red', 'bird', 'caf']
    """
    if not isinstance(text, str):
        raise InputError(f"tokenize: expected a string, got {type(text).__name__}")
    # AttnGAN also replaces the mojibake pair "\ufffd\ufffd" by a space before tokenising.
    text = text.replace("\ufffd\ufffd", " ").lower()
    tokens = (t.encode("ascii", "ignore").decode("ascii") for t in _WORD_RE.findall(text))
    return [t for t in tokens if t]


def subsample_tokens(
    tokens: Sequence[Any], max_length: int, truncation: str = "head", generator: torch.Generator | None = None
) -> list[Any]:
    """Shorten ``tokens`` to ``max_length``: keep the first ones ("head") or a random subset in order.

    "random" is AttnGAN's ``get_caption``: shuffle the positions, keep ``max_length`` of them, sort.
    """
    if truncation not in TRUNCATIONS:
        raise InputError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
    if max_length < 1:
        raise InputError(f"max_length must be >= 1, got {max_length}")
    if len(tokens) <= max_length:
        return list(tokens)
    if truncation == "head":
        return list(tokens[:max_length])
    keep = torch.randperm(len(tokens), generator=generator)[:max_length].sort().values
    return [tokens[i] for i in keep.tolist()]


@dataclass(frozen=True)
class Vocabulary:
    """Word <-> id table. ``words[i]`` is the word with id ``i``; ``words[0]`` is always ``'<end>'``.

    ``unk_token``: the word unknown words map to (must be in ``words``), or None to drop unknown words.
    """

    words: tuple[str, ...]
    unk_token: str | None = UNK_TOKEN
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = tuple(self.words)
        object.__setattr__(self, "words", words)
        if not words or words[0] != END_TOKEN:
            raise InputError(f"vocabulary: id 0 must be {END_TOKEN!r}, got {words[:1]}")
        index: dict[str, int] = {}
        for i, w in enumerate(words):
            if not isinstance(w, str) or not w:
                raise InputError(f"vocabulary: word {i} must be a non-empty string, got {w!r}")
            if w in index:
                raise InputError(f"vocabulary: word {w!r} appears twice (ids {index[w]} and {i})")
            index[w] = i
        if self.unk_token is not None and self.unk_token not in index:
            raise InputError(f"vocabulary: unk_token {self.unk_token!r} is not one of the words")
        object.__setattr__(self, "_index", index)

    # ----------------------------------------------------------------- construction
    @classmethod
    def build(
        cls,
        captions: Iterable[str],
        min_count: int = 1,
        max_size: int | None = None,
        unk: bool = True,
    ) -> "Vocabulary":
        """Build from captions: words seen at least ``min_count`` times, most frequent first.

        Ties are broken alphabetically so the same captions always give the same ids. ``max_size``
        bounds the total size, special tokens included.
        """
        counts: Counter[str] = Counter()
        n = 0
        for i, cap in enumerate(captions):
            if not isinstance(cap, str):
                raise InputError(f"Vocabulary.build: caption {i} is {type(cap).__name__}, not a string")
            counts.update(tokenize(cap))
            n += 1
        if n == 0:
            raise InputError("Vocabulary.build: no captions given")
        specials = [END_TOKEN] + ([UNK_TOKEN] if unk else [])
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in specials), key=lambda w: (-counts[w], w))
        if max_size is not None:
            if max_size <= len(specials):
                raise InputError(f"Vocabulary.build: max_size {max_size} leaves no room for words")
            kept = kept[: max_size - len(specials)]
        if not kept:
            raise InputError(f"Vocabulary.build: no word occurs at least {min_count} times")
        return cls(tuple(specials + kept), UNK_TOKEN if unk else None)

    @classmethod
    def from_attngan(cls, captions_object: Any) -> "Vocabulary":
        """From an unpickled AttnGAN/DF-GAN ``captions.pickle``: ``[train_caps, test_caps, ixtoword, wordtoix]``.

        The ids are kept exactly, so the released DAMSM encoders' embedding rows still line up. AttnGAN
        has no unknown-word id, so ``unk_token`` is None (unknown words are dropped).
        """
        if not isinstance(captions_object, (list, tuple)) or len(captions_object) != 4:
            raise InputError("captions.pickle: expected [train_caps, test_caps, ixtoword, wordtoix] (4 items)")
        _, _, ixtoword, wordtoix = captions_object
        if not isinstance(ixtoword, dict) or not isinstance(wordtoix, dict):
            raise InputError("captions.pickle: ixtoword and wordtoix must be dicts")
        ids = sorted(ixtoword)
        if ids != list(range(len(ids))):
            raise InputError(f"captions.pickle: ixtoword ids are not 0..{len(ids) - 1} without gaps")
        words = tuple(ixtoword[i] for i in ids)
        for i, w in enumerate(words):
            if wordtoix.get(w) != i:
                raise InputError(f"captions.pickle: wordtoix[{w!r}] = {wordtoix.get(w)!r} but ixtoword[{i}] = {w!r}")
        return cls(words, unk_token=None)

    def to_attngan(self) -> tuple[dict[int, str], dict[str, int]]:
        """``(ixtoword, wordtoix)`` as AttnGAN's ``captions.pickle`` stores them."""
        return dict(enumerate(self.words)), dict(self._index)

    # ----------------------------------------------------------------- lookup
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self._index

    @property
    def end_id(self) -> int:
        return END_ID

    @property
    def pad_id(self) -> int:
        return END_ID

    @property
    def unk_id(self) -> int | None:
        return None if self.unk_token is None else self._index[self.unk_token]

    def id_of(self, word: str) -> int | None:
        """The id of ``word``; the unknown id (or None when unknown words are dropped) otherwise."""
        return self._index.get(word, self.unk_id)

    # ----------------------------------------------------------------- encoding
    def encode(
        self,
        text: str,
        max_length: int | None = None,
        strict: bool = False,
        truncation: str = "head",
        generator: torch.Generator | None = None,
    ) -> list[int]:
        """Caption -> word ids (no padding, no end token).

        Words longer than ``max_length`` are truncated (``truncation`` = "head" or "random", see
        :func:`subsample_tokens`), or raise ``InputError`` when ``strict``. A caption that has no known
        word left raises ``InputError``.
        """
        if not isinstance(text, str):
            raise InputError(f"caption: expected a string, got {type(text).__name__}")
        ids = [i for i in (self.id_of(t) for t in tokenize(text)) if i is not None]
        if not ids:
            raise InputError(f"caption {text[:60]!r} has no known words after tokenisation")
        if max_length is not None and len(ids) > max_length:
            if strict:
                raise InputError(f"caption has {len(ids)} words; the limit is {max_length}: {text[:60]!r}")
            ids = subsample_tokens(ids, max_length, truncation, generator)
        return ids

    def encode_batch(
        self,
        texts: Sequence[str],
        max_length: int | None = None,
        strict: bool = False,
        truncation: str = "head",
        generator: torch.Generator | None = None,
        pad_to: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Captions -> (ids LongTensor [B, T] padded with 0, lengths LongTensor [B]).

        T is the longest caption in the batch, or ``pad_to`` (AttnGAN pads every caption to WORDS_NUM).
        """
        if isinstance(texts, str) or not isinstance(texts, Sequence) or len(texts) == 0:
            raise InputError("encode_batch: expected a non-empty list of captions")
        encoded = []
        for i, t in enumerate(texts):
            try:
                encoded.append(self.encode(t, max_length, strict, truncation, generator))
            except InputError as exc:
                raise InputError(f"caption {i}: {exc}") from exc
        longest = max(len(e) for e in encoded)
        width = longest if pad_to is None else pad_to
        if width < longest:
            raise InputError(f"encode_batch: pad_to={pad_to} is shorter than the longest caption ({longest} words)")
        ids = torch.full((len(encoded), width), self.pad_id, dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = torch.tensor(e, dtype=torch.long)
        return ids, torch.tensor([len(e) for e in encoded], dtype=torch.long)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> words joined by spaces, stopping at the first ``'<end>'`` (padding)."""
        out = []
        for i in ids:
            i = int(i)
            if i == END_ID:
                break
            if not 0 <= i < len(self.words):
                raise InputError(f"decode: id {i} is outside the vocabulary (size {len(self.words)})")
            out.append(self.words[i])
        return " ".join(out)

    # ----------------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        return {"format": _FORMAT, "version": _VERSION, "unk_token": self.unk_token, "words": list(self.words)}

    @classmethod
    def from_dict(cls, data: Any, source: str = "vocabulary") -> "Vocabulary":
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise InputError(f"{source}: not a wordsight vocabulary (missing format={_FORMAT!r})")
        if data.get("version") != _VERSION:
            raise InputError(f"{source}: unsupported vocabulary version {data.get('version')!r}")
        if not isinstance(data.get("words"), list):
            raise InputError(f"{source}: 'words' must be a list")
        return cls(tuple(data["words"]), data.get("unk_token"))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as JSON (atomically)."""
        path = Path(path)
        atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        path = Path(path)
        if not path.exists():
            raise InputError(f"vocabulary file not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"corrupt vocabulary file {path}: {exc}") from exc
        return cls.from_dict(data, source=str(path))
