"""Ground-truth density maps (MIT ``antonioGaussian``) and a centre-bias baseline map.

``antonioGaussian(img, fc)`` (A. Torralba 1999, edited by D. Berga 2017; cvzoya/saliency
``code_forMetrics/antonioGaussian.m``) blurs a fixation map with a Gaussian transfer function
``exp(-(fx^2 + fy^2) / s^2)``, ``s = fc / sqrt(log 2)``, applied in the Fourier domain:

* ``n`` = the larger image side, made even, rounded up to a power of two;
* the image is zero-padded into a ``2n x 2n`` square at offset ``(n, n)``;
* the transfer function is sampled for frequencies ``-n/2 .. n/2 - 1`` (cycles per ``2n`` pixels,
  hence ``s`` doubled), zero elsewhere; the output is ``real(ifft2(fft2(pad) .* H))`` cropped back.

The transfer function is separable, so the whole operation is ``Re(A X B^T)`` with ``A``/``B`` the
cropped blocks of two 1-D circulant matrices (the inverse FFT of the 1-D transfer function). That is
exactly the MATLAB result (no approximation of the truncation or of the padding) and costs two
small matrix products per map instead of a ``2n x 2n`` FFT. The blocks are cached per size.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from ...utils import InputError

MIT_CUTOFF_CYCLES = 8.0  # fc used for the MIT benchmark ground truth: about one degree of visual angle


def _padded_size(height: int, width: int) -> int:
    """MATLAB: n = max(sn, sm); n = n + mod(n, 2); n = 2^ceil(log2(n))."""
    n = max(height, width)
    n = n + n % 2
    return 2 ** int(math.ceil(math.log2(n)))


@lru_cache(maxsize=32)
def _circulant_block(length: int, n: int, cutoff: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary parts of the [length, length] block of the 1-D blur circulant on 2n points."""
    period = 2 * n
    width = 2.0 * cutoff / math.sqrt(math.log(2.0))  # round(n2 / n) * fc / sqrt(log 2), n2 = 2n
    signed = torch.fft.fftfreq(period, d=1.0 / period, dtype=torch.float64)  # 0, 1, ..., -1 (cycles)
    transfer = torch.exp(-(signed**2) / width**2) * ((signed >= -n / 2) & (signed <= n / 2 - 1))
    kernel = torch.fft.ifft(transfer.to(torch.complex128))  # circulant column: c[(a - b) mod 2n]
    offsets = torch.remainder(torch.arange(length)[:, None] - torch.arange(length)[None, :], period)
    block = kernel[offsets]
    return block.real.contiguous(), block.imag.contiguous()


def fixation_density(
    fixations: torch.Tensor, cutoff: float = MIT_CUTOFF_CYCLES, clip_negative: bool = True
) -> torch.Tensor:
    """Blur binary fixation maps [B, H, W] (or [H, W]) into float64 density maps, as ``antonioGaussian``.

    Args:
        fixations: bool or numeric maps; True / non-zero marks a fixated pixel (its value is used).
        cutoff: ``fc``, the -6 dB cut-off in cycles per image (8 in the MIT benchmark). The spatial
            Gaussian has sigma = n * sqrt(log 2) / (sqrt(2) * pi * fc) pixels, n as above.
        clip_negative: set values below zero to zero. The MATLAB output dips below zero by rounding
            (about 1e-17) and, on small images where the truncated transfer function rings, by more;
            KLD and SIM need a non-negative density. False returns the raw MATLAB values.

    Returns:
        float64 maps of the same shape, not normalised (the MIT code does not normalise them either;
        CC, KLD and SIM are invariant to the scale).

    >>> import torch
    >>> fix = torch.zeros(32, 48, dtype=torch.bool); fix[10, 20] = True
    >>> dens = fixation_density(fix)
    >>> tuple(dens.shape), bool(dens.argmax() == 10 * 48 + 20)
    ((32, 48), True)
    """
    if not isinstance(fixations, torch.Tensor) or fixations.dim() not in (2, 3):
        shape = tuple(fixations.shape) if isinstance(fixations, torch.Tensor) else type(fixations).__name__
        raise InputError(f"fixations: expected [B, H, W] or [H, W] tensor, got {shape}")
    if not cutoff > 0:
        raise InputError(f"fixation_density: cutoff must be positive, got {cutoff}")
    maps = fixations.to(torch.float64)
    height, width = maps.shape[-2:]
    n = _padded_size(height, width)
    rows_re, rows_im = (t.to(maps.device) for t in _circulant_block(height, n, float(cutoff)))
    cols_re, cols_im = (t.to(maps.device) for t in _circulant_block(width, n, float(cutoff)))
    blurred = rows_re @ maps @ cols_re.T
    if rows_im.abs().max() > 0 and cols_im.abs().max() > 0:
        blurred = blurred - rows_im @ maps @ cols_im.T  # Re((Ar + iAi) X (Br + iBi)^T)
    return blurred.clamp_min(0.0) if clip_negative else blurred


def center_bias_map(height: int, width: int, sigma: float = 0.25, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A centred Gaussian [H, W] stretched to the image's aspect ratio (the default IG baseline).

    ``sigma`` is a fraction of each side (0.25: a quarter of the height vertically, of the width
    horizontally). This is our choice of baseline, not one the MIT code fixes: ``InfoGain.m`` takes
    any baseline map, and the benchmark's own baseline is a centre prior of this kind.
    """
    if height < 1 or width < 1 or not sigma > 0:
        raise InputError(f"center_bias_map: need positive size and sigma, got {height}x{width}, sigma={sigma}")
    ys = (torch.arange(height, dtype=torch.float64) - (height - 1) / 2) / (sigma * height)
    xs = (torch.arange(width, dtype=torch.float64) - (width - 1) / 2) / (sigma * width)
    return torch.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2)).to(dtype)
