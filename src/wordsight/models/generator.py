"""The text-to-image generator protocol: what pipelines and evaluation rely on, instead of one system.

A generator module

* has ``z_dim`` and ``sample_noise(n, generator=None, truncation=None) -> z [n, z_dim]`` (the noise it was
  trained with; ``truncation`` as its system defines it);
* names the text features its ``forward`` takes in ``text_inputs``, a tuple of
  :class:`~wordsight.text.features.TextFeatures` field names: ``("sentence",)`` for sentence-conditioned
  GANs, ``("sentence", "words", "mask")`` for word-attention models (AttnGAN);
* is called as ``generator(z, **{name: features.<name>})`` and returns images [B, 3, S, S] in [-1, 1], or,
  for multi-stage generators, a list of every stage's images, lowest resolution first (the last one is
  the result; pipelines keep the others for pictures).
"""

from __future__ import annotations

from typing import Any, Optional, Protocol, Sequence, runtime_checkable

import torch

from ..utils.checks import InputError

__all__ = ["TextToImageGenerator", "text_inputs_of", "split_stages", "text_kwargs"]


@runtime_checkable
class TextToImageGenerator(Protocol):
    z_dim: int
    text_inputs: tuple[str, ...]

    def sample_noise(self, n: int, generator: Optional[torch.Generator] = None, truncation: Optional[float] = None) -> torch.Tensor: ...

    def __call__(self, z: torch.Tensor, **text: torch.Tensor) -> Any: ...


def text_inputs_of(generator: Any) -> tuple[str, ...]:
    names = getattr(generator, "text_inputs", None)
    if not names or not callable(getattr(generator, "sample_noise", None)):
        raise InputError(f"{type(generator).__name__} does not follow the text-to-image generator protocol "
                         "(text_inputs and sample_noise, see wordsight.models.generator)")
    return tuple(names)


def text_kwargs(generator: Any, features: Any, index: slice | None = None) -> dict[str, torch.Tensor]:
    """The generator's text inputs taken from a TextFeatures-like object (optionally one slice of the batch)."""
    out = {}
    for name in text_inputs_of(generator):
        value = getattr(features, name)
        value = value.float() if value.is_floating_point() else value
        out[name] = value[index] if index is not None else value
    return out


def split_stages(output: torch.Tensor | Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(final images, every stage's images) of a generator's output."""
    if isinstance(output, torch.Tensor):
        return output, [output]
    stages = list(output)
    if not stages:
        raise InputError("the generator returned no images")
    return stages[-1], stages
