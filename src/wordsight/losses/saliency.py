"""Saliency losses: SALICON's sigmoid cross-entropy and SalGAN's content and adversarial terms.

All functions are pure and return scalar tensors; only the training loop calls ``backward``.

- SALICON (OpenSalicon, seed 002): the network's 1-channel logits at the pool5 size (38x50) against the
  fixation map at that size, scaled to [0, 1] (OpenSalicon reads 38x50 fixation JPEGs and divides by
  255), with Caffe's ``SigmoidCrossEntropyLoss``.
- SalGAN (Pan et al. 2017, eq. 4-5; official ``model_salgan.py``): content loss = BCE between the 4x4
  average-pooled predicted and ground-truth maps; generator loss = alpha * content + BCE(D(I, S_hat), 1)
  (= -log D), alpha = 1/20; discriminator loss = BCE(D(I, S), 1) and BCE(D(I, S_hat), 0) averaged over
  the 2B decisions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils.checks import InputError, check_shape

__all__ = [
    "SALGAN_ALPHA",
    "discriminator_loss",
    "generator_adversarial_loss",
    "salgan_content_loss",
    "salgan_generator_loss",
    "salicon_loss",
    "salicon_target",
]

# SalGAN code: ``alpha=1 / 20.`` in ModelSALGAN (the paper's alpha = 0.05), the weight of the content term.
SALGAN_ALPHA = 0.05

# Keeps log() finite when predicted probabilities reach exactly 0 or 1 (Lasagne's BCE had no clamp; a
# sigmoid output saturates in float32).
_PROB_EPS = 1e-7


def _check_pair(pred_name: str, pred: torch.Tensor, target: torch.Tensor) -> None:
    dims = check_shape(pred_name, pred, ["B", 1, "H", "W"])
    check_shape("target", target, [dims["B"], 1, dims["H"], dims["W"]])


def salicon_target(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Fixation density maps [B, 1, H, W] -> SALICON targets [B, 1, h, w] in [0, 1].

    Resized (bilinear, anti-aliased when shrinking) to the network's output size and divided by each map's
    maximum, like OpenSalicon's 38x50 fixation images divided by 255. All-zero maps stay zero.
    """
    check_shape("maps", maps, [None, 1, None, None])
    if (maps < 0).any():
        raise InputError("maps: fixation density maps must be non-negative")
    shrinking = maps.shape[-2] > size[0] or maps.shape[-1] > size[1]
    small = F.interpolate(maps.float(), size=tuple(size), mode="bilinear", align_corners=False, antialias=shrinking)
    peak = small.amax(dim=(-2, -1), keepdim=True)
    return torch.where(peak > 0, small / peak.clamp_min(1e-12), torch.zeros_like(small)).clamp(0, 1)


def salicon_loss(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Sigmoid cross-entropy of SALICON logits [B, 1, h, w] against targets in [0, 1] of the same size.

    ``reduction="mean"`` averages over all elements (Caffe's current default normalisation, VALID);
    ``"caffe2015"`` sums over pixels and divides by the batch size, as the Caffe of OpenSalicon's time did.
    """
    _check_pair("logits", logits, target)
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    if reduction == "mean":
        return per_pixel.mean()
    if reduction == "caffe2015":
        return per_pixel.sum() / logits.shape[0]
    raise InputError(f"unknown reduction {reduction!r}; choose 'mean' or 'caffe2015'")


def salgan_content_loss(pred: torch.Tensor, target: torch.Tensor, pool: int = 4) -> torch.Tensor:
    """BCE between ``pool`` x ``pool`` average-pooled predicted and true maps (SalGAN eq. 4, official pool 4).

    ``pred`` holds probabilities (the generator's sigmoid output), ``target`` densities in [0, 1]. The
    pooling drops incomplete border windows (Theano's ``ignore_border=True``). ``pool=1`` is plain BCE
    (seed 000's L_B).
    """
    _check_pair("pred", pred, target)
    if pool < 1:
        raise InputError(f"pool must be >= 1, got {pool}")
    if pool > 1:
        pred, target = F.avg_pool2d(pred, pool), F.avg_pool2d(target, pool)
    return F.binary_cross_entropy(pred.clamp(_PROB_EPS, 1 - _PROB_EPS), target.clamp(0, 1))


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(I, S_hat), i.e. BCE of the discriminator's decision on generated maps against "real"."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def salgan_generator_loss(content: torch.Tensor, adversarial: torch.Tensor, alpha: float = SALGAN_ALPHA) -> torch.Tensor:
    """SalGAN eq. 5: alpha * L_BCE + L(D(I, S_hat), 1)."""
    return alpha * content + adversarial


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """BCE(D(I, S), 1) and BCE(D(I, S_hat), 0).

    ``"mean"`` averages over the 2B decisions (= (real + fake) / 2, the SalGAN code); ``"sum"`` adds the
    two batch means (seed 000: L_D = L(D(I, S), 1) + L(D(I, S_hat), 0)).
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    if reduction == "mean":
        return 0.5 * (real + fake)
    if reduction == "sum":
        return real + fake
    raise InputError(f"unknown reduction {reduction!r}; choose 'mean' or 'sum'")
