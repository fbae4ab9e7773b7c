"""PCA whitening of frozen sentence vectors, fitted once on the training captions.

Why: MiniLM sentence vectors are unit-norm and the captions of one caption world differ little
(measured on 3,000 synthetic-world captions: per-dimension std 0.037, so the varying part has norm
~0.7 against ~10 for the 100-d noise z that DF-GAN concatenates with it). The generator's affine MLPs
and the discriminator's head then see the condition as a faint signal and learn to ignore it. Centring
the vectors and projecting them on their top-k principal directions, each scaled to unit variance,
keeps what distinguishes captions (nearest-class-mean colour and shape accuracy 1.00 at k = 64 on
training and held-out captions; ``benchmarks/bench_sentence_whitening.py``) and gives it the same
scale as z. The DAMSM BiLSTM of the official DF-GAN needs none of this: it is trained on the data and
its vectors are not normalised.

    whiten = SentenceWhitening.fit(train_sentences, output_dim=64)   # [N, 384] -> module
    encoder = WhitenedEncoder(MiniLMEncoder(), whiten)                # encode(...).sentence is [B, 64]
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .base import TextEncoder
from .features import TextFeatures

__all__ = ["WHITENING_FOLDER", "SentenceWhitening", "WhitenedEncoder", "with_whitening"]

WHITENING_FOLDER = "sentence_whitening"  # its folder in a run folder and in a pipeline folder


@register_model("sentence_whitening")
class SentenceWhitening(nn.Module):
    """x [B, input_dim] -> (x - mean) @ projection, [B, output_dim]; fitted with :meth:`fit`."""

    def __init__(self, input_dim: int = 384, output_dim: int = 64):
        super().__init__()
        if not 1 <= output_dim <= input_dim:
            raise InputError(f"whitening output_dim must be in [1, {input_dim}], got {output_dim}")
        self.input_dim, self.output_dim = input_dim, output_dim
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("projection", torch.eye(input_dim)[:, :output_dim].clone())

    @classmethod
    def fit(cls, sentences: torch.Tensor, output_dim: int = 64) -> "SentenceWhitening":
        """Fit on N sentence vectors [N, D] (N > output_dim). Deterministic: float64 SVD, and each
        component's sign is fixed so that its largest-magnitude loading is positive."""
        dims = check_shape("sentences", sentences, ["N", "D"])
        n, d = dims["N"], dims["D"]
        if n <= output_dim:
            raise InputError(f"whitening to {output_dim} dimensions needs more than {output_dim} sentence vectors, got {n}")
        x = sentences.detach().to(torch.float64)
        if not torch.isfinite(x).all():
            raise InputError("cannot fit whitening: the sentence vectors contain NaN or inf")
        mean = x.mean(0)
        _, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
        comps = vh[:output_dim]
        signs = torch.sign(comps.gather(1, comps.abs().argmax(1, keepdim=True)))
        comps = comps * signs
        std = s[:output_dim] / (n - 1) ** 0.5
        if (std <= 1e-5 * std[0]).any():  # float32 input: anything below this is rounding noise
            rank = int((s > 1e-5 * s[0]).sum())
            raise InputError(f"the sentence vectors span only {rank} dimensions; use output_dim <= {rank}")
        module = cls(input_dim=d, output_dim=output_dim)
        module.mean.copy_(mean.float())
        module.projection.copy_((comps.T / std).float())
        return module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape("sentence", x, [None, self.input_dim])
        return (x.float() - self.mean) @ self.projection


class WhitenedEncoder(TextEncoder):
    """A text encoder whose sentence vectors go through a fitted :class:`SentenceWhitening`
    (word features pass through unchanged)."""

    def __init__(self, base: TextEncoder, whitening: SentenceWhitening):
        if getattr(base, "sentence_dim", whitening.input_dim) != whitening.input_dim:
            raise InputError(f"whitening expects {whitening.input_dim}-d sentences, the encoder gives {base.sentence_dim}")
        self.base, self.whitening = base, whitening.eval()
        self.word_dim = getattr(base, "word_dim", None)
        self.sentence_dim = whitening.output_dim

    @torch.no_grad()
    def encode(self, texts: Sequence[str], strict: bool = False) -> TextFeatures:
        f = self.base.encode(texts, strict=strict)
        return TextFeatures(words=f.words, sentence=self.whitening(f.sentence), mask=f.mask)


def with_whitening(encoder: TextEncoder, spec: dict, whitening: SentenceWhitening | None) -> tuple[TextEncoder, dict]:
    """``(encoder, pipeline spec)`` with the whitening applied and recorded, or unchanged when None."""
    if whitening is None:
        return encoder, dict(spec)
    return WhitenedEncoder(encoder, whitening), {**spec, "whitening": WHITENING_FOLDER}
