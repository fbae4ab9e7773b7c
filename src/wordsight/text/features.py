"""The one output type of every text encoder."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..utils.checks import InputError, check_shape


@dataclass
class TextFeatures:
    """Word features, sentence features and a token mask for a batch of B captions.

    words:    float [B, T, D_word]  per-token features (zeros where ``mask`` is False)
    sentence: float [B, D_sent]     one vector per caption
    mask:     bool  [B, T]          True at real tokens, False at padding
    """

    words: torch.Tensor
    sentence: torch.Tensor
    mask: torch.Tensor

    def __post_init__(self) -> None:
        dims = check_shape("TextFeatures.words", self.words, ["B", "T", None])
        check_shape("TextFeatures.sentence", self.sentence, [dims["B"], None])
        check_shape("TextFeatures.mask", self.mask, [dims["B"], dims["T"]])
        if self.mask.dtype != torch.bool:
            raise InputError(f"TextFeatures.mask: expected dtype torch.bool, got {self.mask.dtype}")

    @property
    def batch_size(self) -> int:
        return int(self.words.shape[0])

    @property
    def lengths(self) -> torch.Tensor:
        """Number of real tokens per caption, LongTensor [B]."""
        return self.mask.sum(dim=1)

    def to(self, device: str | torch.device) -> "TextFeatures":
        return TextFeatures(self.words.to(device), self.sentence.to(device), self.mask.to(device))

    def detach(self) -> "TextFeatures":
        return TextFeatures(self.words.detach(), self.sentence.detach(), self.mask)
