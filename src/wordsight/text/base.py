"""The text-encoder interface, its registry and the shared caption checks."""

from __future__ import annotations

import abc
import inspect
from typing import Any, Sequence

from ..config import ConfigError
from ..utils.checks import InputError
from ..utils.registry import Registry
from .features import TextFeatures


class TextEncoder(abc.ABC):
    """Every encoder maps a list of captions to :class:`TextFeatures`.

    Subclasses set ``word_dim`` and ``sentence_dim`` and implement :meth:`encode`.
    """

    word_dim: int
    sentence_dim: int

    @abc.abstractmethod
    def encode(self, texts: Sequence[str], strict: bool = False) -> TextFeatures:
        """Encode B captions. ``strict``: an overlong caption raises InputError instead of being truncated."""


ENCODERS: Registry[type[TextEncoder]] = Registry("text encoder", base=TextEncoder)


def build_text_encoder(name: str, **kwargs: Any) -> TextEncoder:
    """Build a registered encoder by name, e.g. ``build_text_encoder("minilm", cache_dir="cache/")``.

    A misspelled option is a ConfigError that lists the valid ones.
    """
    cls = ENCODERS.get(name)
    params = inspect.signature(cls.__init__).parameters
    valid = [p for p in params if p != "self"]
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ConfigError(f"text encoder {name!r}: unknown option(s) {unknown}; valid: {valid}")
    return cls(**kwargs)


def validate_texts(texts: Any) -> list[str]:
    """A non-empty list of non-empty strings (stripped); anything else is an InputError naming the caption."""
    if isinstance(texts, str):
        raise InputError("expected a list of captions, got a single string; wrap it in a list")
    if not isinstance(texts, Sequence):
        raise InputError(f"expected a list of captions, got {type(texts).__name__}")
    if len(texts) == 0:
        raise InputError("no captions given (empty list)")
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"caption {i}: expected a string, got {type(text).__name__}")
        text = text.strip()
        if not text:
            raise InputError(f"caption {i} is empty")
        out.append(text)
    return out
