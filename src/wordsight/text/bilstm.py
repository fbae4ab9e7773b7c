"""The DAMSM text encoder of AttnGAN (``RNN_ENCODER`` in taoxugit/AttnGAN ``code/model.py``).

Embedding (300-d, initialised U(-0.1, 0.1)) -> dropout 0.5 -> bidirectional LSTM with 128 hidden units
per direction. Word features are the per-token LSTM outputs (256-d), the sentence feature is the final
hidden state of both directions, concatenated (256-d). AttnGAN returns words as [B, 256, T]; here they
are [B, T, 256] like every wordsight encoder.

The submodules keep AttnGAN's names (``encoder``, ``drop``, ``rnn``), so a released
``text_encoder*.pth`` state dict loads with ``load_state_dict`` when the vocabulary comes from the same
``captions.pickle`` (:meth:`Vocabulary.from_attngan`).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .base import ENCODERS, TextEncoder, validate_texts
from .features import TextFeatures
from .tokenizer import TRUNCATIONS, UNK_TOKEN, Vocabulary

ATTNGAN_WORDS_NUM = 18  # cfg.TEXT.WORDS_NUM in AttnGAN's bird and COCO configs


@ENCODERS.register("bilstm")
@register_model("damsm_text_encoder")
class DAMSMTextEncoder(nn.Module, TextEncoder):
    """Trainable BiLSTM caption encoder (AttnGAN DAMSM).

    Args:
        words: the vocabulary, id order (``Vocabulary.words``); kept in the saved config so that a
            saved encoder can tokenise on its own.
        unk_token: the vocabulary's unknown-word token, or None to drop unknown words (AttnGAN).
        embedding_dim: word-embedding size (AttnGAN 300).
        hidden_dim: output size of both directions together (AttnGAN ``TEXT.EMBEDDING_DIM`` = 256).
        num_layers: LSTM layers (AttnGAN 1).
        dropout: dropout on the embeddings (and between LSTM layers when there are several); 0.5.
        max_length: word limit of :meth:`encode` (AttnGAN ``WORDS_NUM`` = 18).
        truncation: "head" (keep the first words, deterministic) or "random" (AttnGAN's order-keeping
            random subsample) for captions over ``max_length``.
    """

    def __init__(
        self,
        words: Sequence[str],
        unk_token: str | None = UNK_TOKEN,
        embedding_dim: int = 300,
        hidden_dim: int = 256,
        num_layers: int = 1,
        dropout: float = 0.5,
        max_length: int = ATTNGAN_WORDS_NUM,
        truncation: str = "head",
    ):
        super().__init__()
        if hidden_dim % 2:
            raise InputError(f"hidden_dim must be even (two directions), got {hidden_dim}")
        if truncation not in TRUNCATIONS:
            raise InputError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
        if max_length < 1:
            raise InputError(f"max_length must be >= 1, got {max_length}")
        self.vocabulary = Vocabulary(tuple(words), unk_token)
        self.max_length = max_length
        self.truncation = truncation
        self.word_dim = self.sentence_dim = hidden_dim
        self.encoder = nn.Embedding(len(self.vocabulary), embedding_dim)
        self.drop = nn.Dropout(dropout)
        # AttnGAN passes dropout to a 1-layer LSTM, where PyTorch ignores it (with a warning).
        self.rnn = nn.LSTM(
            embedding_dim,
            hidden_dim // 2,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=True,
        )
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)  # AttnGAN init_weights

    @classmethod
    def from_vocabulary(cls, vocabulary: Vocabulary, **kwargs) -> "DAMSMTextEncoder":
        return cls(words=list(vocabulary.words), unk_token=vocabulary.unk_token, **kwargs)

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> TextFeatures:
        """Encode padded id sequences: ``token_ids`` long [B, T] (0 = padding), ``lengths`` [B] (>= 1).

        The sequence is packed, so padding never reaches the LSTM: the sentence vector of a caption is
        the same alone or in a padded batch. Padded word positions are zero.
        """
        dims = check_shape("token_ids", token_ids, ["B", "T"])
        check_shape("lengths", lengths, [dims["B"]])
        lengths_cpu = lengths.detach().to("cpu", torch.long)
        if (lengths_cpu < 1).any() or (lengths_cpu > dims["T"]).any():
            raise InputError(f"lengths must lie in [1, {dims['T']}], got {lengths_cpu.tolist()}")
        if token_ids.dtype != torch.long:
            raise InputError(f"token_ids: expected dtype torch.long, got {token_ids.dtype}")
        emb = self.drop(self.encoder(token_ids))
        packed = pack_padded_sequence(emb, lengths_cpu, batch_first=True, enforce_sorted=False)
        output, (h_n, _) = self.rnn(packed)
        words, _ = pad_packed_sequence(output, batch_first=True, total_length=dims["T"])
        # h_n: [layers * 2, B, H]; the last layer's forward and backward states (AttnGAN sent_emb).
        sentence = torch.cat([h_n[-2], h_n[-1]], dim=-1)
        mask = torch.arange(dims["T"], device=token_ids.device)[None, :] < lengths_cpu.to(token_ids.device)[:, None]
        return TextFeatures(words=words, sentence=sentence, mask=mask)

    def tokenize(
        self, texts: Sequence[str], strict: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Captions -> (ids [B, T], lengths [B]) on this module's device, using its vocabulary."""
        texts = validate_texts(texts)
        ids, lengths = self.vocabulary.encode_batch(texts, self.max_length, strict, self.truncation, generator)
        device = self.encoder.weight.device
        return ids.to(device), lengths.to(device)

    def encode(
        self, texts: Sequence[str], strict: bool = False, generator: torch.Generator | None = None
    ) -> TextFeatures:
        """Tokenise and encode captions. Gradients and dropout follow the caller (``torch.no_grad()``,
        ``.eval()``); ``generator`` drives the "random" truncation."""
        ids, lengths = self.tokenize(texts, strict, generator)
        return self(ids, lengths)
