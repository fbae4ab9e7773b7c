"""Losses of StackGAN++'s tree of generators (Zhang et al., TPAMI 2018; seed 004): the joint conditional and
unconditional discriminator loss of each scale (eqs. 11-12) and the colour-consistency regulariser across
scales (eqs. 13-14).

The weights are the official code's (hanzhanggit/StackGAN-v2, ``trainer.py``): with an unconditional
branch (``uncond_weight`` > 0, TRAIN.COEFF.UNCOND_LOSS = 1.0),

    L_D = BCE(D_c(x, c), 1) + BCE(D_c(x_w, c), 0) + BCE(D_c(G, c), 0)
          + w_u (BCE(D_u(x), 1) + BCE(D_u(x_w), 1) + BCE(D_u(G), 0)),

where x_w is a real image paired with a wrong text (real to the unconditional head), and without one the
matching-aware loss of StackGAN-I, BCE(real) + (BCE(wrong) + BCE(fake)) / 2. G's loss at each scale is
BCE(D_c(G, c), 1) + w_u BCE(D_u(G), 1).
"""

from __future__ import annotations

import torch

from .adversarial import bce_d_fake, bce_d_real, bce_g

__all__ = ["joint_d_loss", "joint_g_loss", "mean_and_covariance", "colour_consistency"]


def joint_d_loss(real: tuple[torch.Tensor, torch.Tensor | None], wrong: tuple[torch.Tensor, torch.Tensor | None],
                 fake: tuple[torch.Tensor, torch.Tensor | None], uncond_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Each argument: (conditional logits, unconditional logits or None) of one scale's discriminator."""
    terms = {"d_real": bce_d_real(real[0]), "d_wrong": bce_d_fake(wrong[0]), "d_fake": bce_d_fake(fake[0])}
    if uncond_weight > 0 and real[1] is not None:
        terms["d_real_uncond"] = uncond_weight * bce_d_real(real[1])
        terms["d_wrong_uncond"] = uncond_weight * bce_d_real(wrong[1])  # a real image, whatever its text
        terms["d_fake_uncond"] = uncond_weight * bce_d_fake(fake[1])
        loss = sum(terms.values())
    else:
        loss = terms["d_real"] + 0.5 * (terms["d_wrong"] + terms["d_fake"])
    return {"loss": loss, **terms}


def joint_g_loss(fake: tuple[torch.Tensor, torch.Tensor | None], uncond_weight: float = 1.0) -> torch.Tensor:
    """G's term for one scale: fool the conditional head and (weighted) the unconditional one."""
    loss = bce_g(fake[0])
    if uncond_weight > 0 and fake[1] is not None:
        loss = loss + uncond_weight * bce_g(fake[1])
    return loss


def mean_and_covariance(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, the mean pixel [B, C] and the pixel covariance [B, C, C] (eq. 13: over the N pixels)."""
    b, c = images.shape[:2]
    flat = images.float().reshape(b, c, -1)
    mu = flat.mean(dim=2)
    centred = flat - mu[:, :, None]
    return mu, centred @ centred.transpose(1, 2) / flat.shape[2]


def colour_consistency(images: torch.Tensor, lower: torch.Tensor, lambda_mean: float = 1.0,
                       lambda_cov: float = 5.0) -> torch.Tensor:
    """Eq. 14 for one pair of adjacent scales: lambda_1 ||mu_s - mu_(s-1)||^2 + lambda_2 ||C_s - C_(s-1)||_F^2,
    each as a mean squared error over the batch's elements (the official code's MSELoss). ``lower``, the
    smaller scale's images, is a target: pass it detached, as the official code does."""
    mu, cov = mean_and_covariance(images)
    mu_low, cov_low = mean_and_covariance(lower)
    return lambda_mean * (mu - mu_low).pow(2).mean() + lambda_cov * (cov - cov_low).pow(2).mean()
