"""Adversarial losses: hinge and BCE terms, matching-aware pairs and the MA-GP penalty.

Every function takes discriminator outputs (logits, any shape) and returns a scalar tensor; only the
training loop calls ``backward``. Conventions: a logit is "real and matching" when high.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from ..utils.checks import InputError

__all__ = [
    "hinge_d_real",
    "hinge_d_fake",
    "hinge_g",
    "bce_d_real",
    "bce_d_fake",
    "bce_g",
    "mismatched",
    "ma_gp",
]


def hinge_d_real(logits: torch.Tensor) -> torch.Tensor:
    """mean(relu(1 - D(x))): the discriminator's hinge term for real (matching) pairs."""
    return F.relu(1.0 - logits.float()).mean()


def hinge_d_fake(logits: torch.Tensor) -> torch.Tensor:
    """mean(relu(1 + D(x))): the hinge term for generated or mismatched pairs."""
    return F.relu(1.0 + logits.float()).mean()


def hinge_g(logits: torch.Tensor) -> torch.Tensor:
    """-mean(D(G(z))): the generator's hinge loss (DF-GAN eq. 4)."""
    return -logits.float().mean()


def bce_d_real(logits: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(D(x)), averaged (the original GAN discriminator term for real pairs)."""
    return F.softplus(-logits.float()).mean()


def bce_d_fake(logits: torch.Tensor) -> torch.Tensor:
    """-log(1 - sigmoid(D(x))), averaged (fake or mismatched pairs)."""
    return F.softplus(logits.float()).mean()


def bce_g(logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -log sigmoid(D(G(z)))."""
    return F.softplus(-logits.float()).mean()


def mismatched(x: torch.Tensor, shift: int = 1) -> torch.Tensor:
    """Pair each item with its neighbour's: roll the batch by ``shift`` (the official DF-GAN pairs real
    image features with the next sample's sentence this way). Needs a batch of at least 2."""
    if x.shape[0] < 2:
        raise InputError(f"mismatched pairs need a batch of at least 2, got shape {tuple(x.shape)}")
    return torch.roll(x, shifts=-shift, dims=0)


def ma_gp(logits: torch.Tensor, inputs: Sequence[torch.Tensor], k: float = 2.0, p: float = 6.0) -> torch.Tensor:
    """Matching-aware zero-centred gradient penalty (DF-GAN eq. 3):

        L_MA-GP = k * E[ ||grad_{(x, e)} D(x, e)||_2 ^ p ]   over real images x and their sentences e,

    with the gradient of the summed logits taken jointly over all ``inputs`` (flattened and concatenated
    per sample); k = 2, p = 6 in the paper. ``create_graph`` keeps the penalty differentiable. Uses
    ``reshape`` (not ``.view``) so channels_last gradients work, and accumulates the norm in float32.
    """
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise InputError(f"ma_gp: input {i} (shape {tuple(t.shape)}) must require grad")
    grads = torch.autograd.grad(outputs=logits.sum(), inputs=list(inputs), create_graph=True)
    flat = torch.cat([g.reshape(g.shape[0], -1).float() for g in grads], dim=1)
    # ||g||^p as (||g||^2)^(p/2): the same value, but differentiable where the gradient is exactly 0
    # (sqrt's derivative there is infinite and would turn the penalty's gradient into NaN).
    return k * flat.pow(2).sum(dim=1).pow(p / 2).mean()
