"""Trainable word-embedding RNN caption encoders: the text encoders the manipulation systems train with
their networks (TAGAN's bidirectional GRU with the two directions averaged, woozzu/tagan ``model.py``;
SISGAN's GRU, woozzu/dong_iccv_2017; TIRG's LSTM, google/tirg ``text_model.py``).

:class:`RNNTextEncoder` owns its vocabulary (kept in its saved config, so a saved encoder tokenises on its
own) and gives :class:`~wordsight.text.features.TextFeatures`: per-word outputs (zero at padding) and a
sentence vector (the last hidden state; both directions merged as ``merge`` says).

The papers start from fixed fastText (TAGAN) or word2vec vectors; nothing can be downloaded here, so the
embeddings start random unless :func:`load_word_vectors` reads a local ``.vec`` text file (fastText's
format: a header line "count dim", then "word v1 ... vdim" per line) into them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .base import ENCODERS, TextEncoder, validate_texts
from .features import TextFeatures
from .tokenizer import TRUNCATIONS, UNK_TOKEN, Vocabulary

__all__ = ["RNNTextEncoder", "load_word_vectors"]

RNN_TYPES = ("gru", "lstm")
MERGES = ("concat", "mean")


@ENCODERS.register("rnn")
@register_model("rnn_text_encoder")
class RNNTextEncoder(nn.Module, TextEncoder):
    """Embedding -> (bi)GRU/LSTM caption encoder, trained with the model that uses it.

    Args:
        words, unk_token: the vocabulary in id order (``Vocabulary.words``) and its unknown-word token.
        embedding_dim: word-embedding size (fastText 300).
        hidden_dim: the output size of ``words`` and ``sentence``: with ``merge="concat"`` each direction has
            hidden_dim / 2 units; with ``merge="mean"`` (TAGAN) each has hidden_dim and they are averaged.
        rnn: "gru" or "lstm"; bidirectional: two directions or one.
        max_length: word limit of :meth:`encode`; truncation: "head" or "random" (as the DAMSM encoder).
        freeze_embeddings: keep the word vectors fixed (TAGAN keeps fastText fixed).
    """

    def __init__(self, words: Sequence[str], unk_token: str | None = UNK_TOKEN, embedding_dim: int = 300,
                 hidden_dim: int = 512, rnn: str = "gru", bidirectional: bool = True, merge: str = "mean",
                 max_length: int = 32, truncation: str = "head", freeze_embeddings: bool = False):
        super().__init__()
        if rnn not in RNN_TYPES:
            raise InputError(f"rnn must be one of {RNN_TYPES}, got {rnn!r}")
        if merge not in MERGES:
            raise InputError(f"merge must be one of {MERGES}, got {merge!r}")
        if truncation not in TRUNCATIONS:
            raise InputError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
        if min(embedding_dim, hidden_dim, max_length) < 1:
            raise InputError("embedding_dim, hidden_dim and max_length must be >= 1")
        if bidirectional and merge == "concat" and hidden_dim % 2:
            raise InputError(f"hidden_dim must be even to concatenate two directions, got {hidden_dim}")
        self.vocabulary = Vocabulary(tuple(words), unk_token)
        self.max_length, self.truncation = max_length, truncation
        self.bidirectional, self.merge, self.rnn_type = bidirectional, merge, rnn
        self.word_dim = self.sentence_dim = hidden_dim
        units = hidden_dim // 2 if bidirectional and merge == "concat" else hidden_dim
        self.embedding = nn.Embedding(len(self.vocabulary), embedding_dim, padding_idx=0)
        self.embedding.weight.requires_grad_(not freeze_embeddings)
        self.rnn = (nn.GRU if rnn == "gru" else nn.LSTM)(embedding_dim, units, batch_first=True, bidirectional=bidirectional)

    def _merge(self, x: torch.Tensor) -> torch.Tensor:
        """[..., 2 units] of two directions -> [..., hidden_dim]."""
        if not self.bidirectional or self.merge == "concat":
            return x
        forward, backward = x.chunk(2, dim=-1)
        return (forward + backward) / 2

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> TextFeatures:
        """Padded ids long [B, T] (0 = padding) and lengths [B] (>= 1) -> TextFeatures (packed: padding
        never reaches the RNN, so a caption's features do not depend on its batch)."""
        dims = check_shape("token_ids", token_ids, ["B", "T"])
        check_shape("lengths", lengths, [dims["B"]])
        lengths_cpu = lengths.detach().to("cpu", torch.long)
        if (lengths_cpu < 1).any() or (lengths_cpu > dims["T"]).any():
            raise InputError(f"lengths must lie in [1, {dims['T']}], got {lengths_cpu.tolist()}")
        packed = pack_padded_sequence(self.embedding(token_ids), lengths_cpu, batch_first=True, enforce_sorted=False)
        output, hidden = self.rnn(packed)
        h_n = hidden[0] if isinstance(hidden, tuple) else hidden  # LSTM: (h, c)
        words, _ = pad_packed_sequence(output, batch_first=True, total_length=dims["T"])
        last = torch.cat([h_n[-2], h_n[-1]], dim=-1) if self.bidirectional else h_n[-1]
        mask = torch.arange(dims["T"], device=token_ids.device)[None, :] < lengths_cpu.to(token_ids.device)[:, None]
        return TextFeatures(words=self._merge(words) * mask[..., None], sentence=self._merge(last), mask=mask)

    def tokenize(self, texts: Sequence[str], strict: bool = False,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Captions -> (ids [B, T], lengths [B]) on this module's device. A caption with no known word
        (only unknown words and no unk token) is an InputError naming it."""
        texts = validate_texts(texts)
        ids, lengths = self.vocabulary.encode_batch(texts, self.max_length, strict, self.truncation, generator)
        if (lengths < 1).any():
            bad = int((lengths < 1).nonzero()[0])
            raise InputError(f"caption {bad} ({texts[bad]!r}) has no word this encoder knows")
        device = self.embedding.weight.device
        return ids.to(device), lengths.to(device)

    def encode(self, texts: Sequence[str], strict: bool = False, generator: torch.Generator | None = None) -> TextFeatures:
        ids, lengths = self.tokenize(texts, strict, generator)
        return self(ids, lengths)


def load_word_vectors(encoder: RNNTextEncoder, path: str | os.PathLike) -> int:
    """Copy the vectors of a fastText/word2vec ``.vec`` text file into ``encoder``'s embedding rows for the
    words it has; returns how many words were found. The vector size must equal ``embedding_dim``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"word vectors file not found: {path}")
    index = {w: i for i, w in enumerate(encoder.vocabulary.words)}
    dim = encoder.embedding.embedding_dim
    found = 0
    with path.open(encoding="utf-8", errors="replace") as f, torch.no_grad():
        for n, line in enumerate(f):
            parts = line.rstrip().split(" ")
            if n == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                if int(parts[1]) != dim:
                    raise InputError(f"{path}: vectors have {parts[1]} dimensions, the encoder's embeddings {dim}")
                continue
            if parts[0] not in index:
                continue
            if len(parts) != dim + 1:
                raise InputError(f"{path} line {n + 1}: expected a word and {dim} numbers, got {len(parts) - 1} numbers")
            try:
                vector = torch.tensor([float(x) for x in parts[1:]])
            except ValueError:
                raise InputError(f"{path} line {n + 1}: not a number in the vector of {parts[0]!r}") from None
            encoder.embedding.weight[index[parts[0]]] = vector
            found += 1
    return found
