"""MATLAB ``imresize(A, [rows cols])`` with the default bicubic kernel, in torch.

The MIT saliency benchmark resizes every saliency map to the fixation map's size with ``imresize``
before scoring, so results move with the resampling. MATLAB's rules (``imresize.m``, function
``contributions``):

* cubic kernel with a = -0.5 (Keys 1981);
* output pixel ``x`` (1-based) samples input position ``u = x / scale + 0.5 * (1 - 1 / scale)``;
* when shrinking (scale < 1) the kernel is widened by ``1 / scale`` and scaled by ``scale``
  (antialiasing, on by default);
* weights are normalised to sum to one; out-of-range taps are mirrored (``[1:n, n:-1:1]``, the edge
  pixel repeated), not clamped;
* the scale of each axis is ``output_size / input_size`` when a size is given.

Because resizing is separable and linear, it is two matrix products ``W_h @ X @ W_w.T`` with
weight matrices built once per (input length, output length) pair and kept in a bounded cache.

PIL's ``Image.resize(BICUBIC)`` and ``torch.nn.functional.interpolate(mode="bicubic",
antialias=True)`` use the same kernel, centres and widening but renormalise over the taps that fall
inside the image instead of mirroring, so they agree with MATLAB away from the borders only.
OpenCV's ``INTER_CUBIC`` uses a = -0.75 and no antialiasing and agrees nowhere in general.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from ...utils import InputError

_CUBIC_SUPPORT = 4.0  # kernel width of the a = -0.5 cubic, in input pixels at scale 1


def cubic_kernel(x: torch.Tensor) -> torch.Tensor:
    """Keys' cubic convolution kernel with a = -0.5, as in MATLAB ``imresize`` (``cubic``)."""
    ax = x.abs()
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


@lru_cache(maxsize=64)
def resize_weights(in_length: int, out_length: int, antialias: bool = True) -> torch.Tensor:
    """float64 [out_length, in_length] matrix M with ``resized = M @ signal`` along one axis.

    Cached (at most 64 size pairs); the returned tensor is shared, so never modify it in place.
    """
    if in_length < 1 or out_length < 1:
        raise InputError(f"resize_weights: lengths must be positive, got {in_length} -> {out_length}")
    scale = out_length / in_length
    widen = antialias and scale < 1
    kernel_width = _CUBIC_SUPPORT / scale if widen else _CUBIC_SUPPORT
    x = torch.arange(1, out_length + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # input position sampled by output pixel x (1-based)
    left = torch.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + torch.arange(taps, dtype=torch.float64)[None, :]
    distance = u[:, None] - indices
    weights = scale * cubic_kernel(scale * distance) if widen else cubic_kernel(distance)
    weights = weights / weights.sum(dim=1, keepdim=True)
    # Mirror out-of-range taps the way MATLAB does: aux = [1:n, n:-1:1], index = aux(mod(i - 1, 2n) + 1).
    mirror = torch.cat([torch.arange(in_length), torch.arange(in_length - 1, -1, -1)])
    zero_based = mirror[torch.remainder(indices.long() - 1, 2 * in_length)]
    matrix = torch.zeros(out_length, in_length, dtype=torch.float64)
    matrix.scatter_add_(1, zero_based, weights)
    return matrix


def imresize(maps: torch.Tensor, size: tuple[int, int], antialias: bool = True) -> torch.Tensor:
    """Resize [..., H, W] maps to ``size`` = (rows, cols) like MATLAB ``imresize(map, size)``.

    Works in float64 (maps are converted first, as the benchmark's ``double(...)`` calls intend;
    MATLAB itself resizes uint8 maps in uint8 and rounds, which this does not copy). Returns the
    input converted to float64 when the size already matches.
    """
    if maps.dim() < 2:
        raise InputError(f"imresize: expected [..., H, W], got shape {tuple(maps.shape)}")
    rows, cols = int(size[0]), int(size[1])
    if rows < 1 or cols < 1:
        raise InputError(f"imresize: output size must be positive, got {size}")
    maps = maps.to(torch.float64)
    in_rows, in_cols = maps.shape[-2:]
    if (in_rows, in_cols) == (rows, cols):
        return maps
    row_matrix = resize_weights(in_rows, rows, antialias).to(maps.device)
    col_matrix = resize_weights(in_cols, cols, antialias).to(maps.device)
    # MATLAB resizes the axis with the smaller scale first; only rounding depends on the order.
    if rows / in_rows <= cols / in_cols:
        return (row_matrix @ maps) @ col_matrix.T
    return row_matrix @ (maps @ col_matrix.T)
