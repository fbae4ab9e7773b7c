"""Saliency preprocessing shared by training, inference and evaluation, so that all three see the same
inputs: image -> tensor at the model's size, texts -> sentence vectors (no text = zeros), fixation points
-> binary maps, and the ground-truth checks every record passes first.

    x = image_tensor(record.image, (64, 64))                 # float [3, 64, 64] in [-1, 1]
    text = encode_texts(encoder, ["a red circle", None])     # [2, D]; row 1 is zeros (no text shown)
    binary = points_to_binary(record.fixations, (600, 800), (64, 64))
    check_record(record)                                     # InputError on bad ground truth

``wordsight.pipelines.saliency`` and ``wordsight.pipelines.saliency_evaluation`` re-export these names.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from ..utils.checks import InputError
from ..utils.images import pil_to_tensor, to_rgb
from .records import Fixations, SaliencyRecord

__all__ = ["MAX_TEXT_WORDS", "check_record", "encode_texts", "image_tensor", "points_to_binary"]

MAX_TEXT_WORDS = 64


def image_tensor(image: Image.Image, size: Sequence[int]) -> torch.Tensor:
    """PIL image -> float [3, h, w] in [-1, 1] at ``size`` = (height, width) (bicubic resize).

    Training data goes through this same function, so inference sees exactly what training saw.
    """
    h, w = int(size[0]), int(size[1])
    rgb = to_rgb(image)
    if rgb.size != (w, h):
        rgb = rgb.resize((w, h), Image.BICUBIC)
    return pil_to_tensor(rgb)


@torch.no_grad()
def encode_texts(encoder, texts: Sequence[Optional[str]], dim: Optional[int] = None) -> torch.Tensor:
    """Sentence vectors [B, D] of ``encoder``; None or "" (no text shown, seed 000's ``none``) -> zeros.

    ``encoder`` is any object with ``encode(texts).sentence`` and ``sentence_dim`` (the
    ``wordsight.text`` encoders). Training data and inference both encode texts here, so the "no text"
    condition means the same.
    """
    given = [i for i, t in enumerate(texts) if t is not None and t.strip()]
    for i in given:
        if len(texts[i].split()) > MAX_TEXT_WORDS:
            raise InputError(f"text {i} has more than {MAX_TEXT_WORDS} words")
    vecs = encoder.encode([texts[i].strip() for i in given]).sentence.float().cpu() if given else None
    dim = dim if dim is not None else (vecs.shape[1] if vecs is not None else int(encoder.sentence_dim))
    if vecs is not None and vecs.shape[1] != dim:
        raise InputError(f"text encoder gives {vecs.shape[1]}-d vectors but the model expects {dim}-d")
    out = torch.zeros(len(texts), dim)
    if vecs is not None:
        out[given] = vecs
    return out


def check_record(record: SaliencyRecord) -> None:
    """Refuse records a metric would silently mis-score: a density map of the wrong size, negative or
    all zeros without fixations, fixations outside the image, or no gaze data at all."""
    h, w = record.image.height, record.image.width
    m = record.fixation_map
    if m is not None:
        m = np.asarray(m)
        if m.shape != (h, w):
            raise InputError(f"{record.key}: fixation map is {m.shape[1]}x{m.shape[0]} but the image is {w}x{h}")
        if not np.isfinite(m).all() or (m < 0).any():
            raise InputError(f"{record.key}: fixation map has negative or non-finite values")
    f = record.fixations
    if f is not None:
        outside = len(f) - len(f.inside(h, w))
        if outside:
            raise InputError(f"{record.key}: {outside} of {len(f)} fixations lie outside the {w}x{h} image")
    if (f is None or len(f) == 0) and (m is None or not m.any()):
        raise InputError(f"{record.key}: no fixations (no fixation points and the fixation map is all zeros)")


def points_to_binary(fix: Fixations, src: tuple[int, int], dst: tuple[int, int]) -> np.ndarray:
    """Binary map at ``dst`` (h, w) of fixations given in pixels of an image of size ``src`` (h, w)."""
    out = np.zeros(dst, dtype=bool)
    rows = np.clip(((fix.y + 0.5) * dst[0] / src[0]).astype(np.int64), 0, dst[0] - 1)
    cols = np.clip(((fix.x + 0.5) * dst[1] / src[1]).astype(np.int64), 0, dst[1] - 1)
    out[rows, cols] = True
    return out
