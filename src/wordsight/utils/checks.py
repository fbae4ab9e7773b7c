"""Shape and value checks at module boundaries, with errors that name the tensor."""

from __future__ import annotations

from typing import Sequence

import torch


class InputError(ValueError):
    """Bad user input (shapes, NaNs, empty text, missing or corrupt files). The CLI exits non-zero."""


def check_shape(name: str, tensor: torch.Tensor, shape: Sequence[int | str | None]) -> dict[str, int]:
    """Check ``tensor`` against ``shape``; ints must match, strings bind symbolic sizes, None is free.

    Returns the bound symbols, e.g. ``check_shape("words", w, ["B", "T", 256])`` -> ``{"B": 4, "T": 18}``.
    """
    if not isinstance(tensor, torch.Tensor):
        raise InputError(f"{name}: expected a tensor, got {type(tensor).__name__}")
    if tensor.dim() != len(shape):
        raise InputError(f"{name}: expected {len(shape)} dims {tuple(shape)}, got shape {tuple(tensor.shape)}")
    bound: dict[str, int] = {}
    for axis, (want, got) in enumerate(zip(shape, tensor.shape)):
        if want is None:
            continue
        if isinstance(want, str):
            if want in bound and bound[want] != got:
                raise InputError(f"{name}: axis {axis} ({want}) is {got} but {want}={bound[want]} elsewhere")
            bound[want] = int(got)
        elif int(want) != got:
            raise InputError(f"{name}: axis {axis} should be {want}, got shape {tuple(tensor.shape)}")
    return bound


def check_finite(name: str, tensor: torch.Tensor) -> None:
    if not torch.isfinite(tensor).all():
        bad = (~torch.isfinite(tensor)).sum().item()
        raise InputError(f"{name}: contains {bad} non-finite values (NaN or inf)")


def check_captions(captions: Sequence[str], max_words: int | None = None) -> list[str]:
    """Reject empty or overlong captions with a message naming the caption."""
    if isinstance(captions, str):
        captions = [captions]
    out = []
    for i, cap in enumerate(captions):
        if not isinstance(cap, str):
            raise InputError(f"caption {i}: expected a string, got {type(cap).__name__}")
        text = cap.strip()
        if not text:
            raise InputError(f"caption {i} is empty")
        if max_words is not None:
            n = len(text.split())
            if n > max_words:
                raise InputError(f"caption {i} has {n} words; the limit is {max_words}: {text[:60]!r}...")
        out.append(text)
    if not out:
        raise InputError("no captions given")
    return out
