"""The KL term of StackGAN's conditioning augmentation (Zhang et al., ICCV 2017, eq. 3 and 6; seed 003).

    D_KL(N(mu, diag(sigma^2)) || N(0, I)) = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)

averaged over the batch and the c_dim dimensions, as the official code (``KL_loss``: the mean of the
elements), and weighted in G's loss by lambda = 2.0 (``TRAIN.COEFF.KL``).
"""

from __future__ import annotations

import torch

from ..utils.checks import InputError

__all__ = ["kl_to_standard_normal"]


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over elements of the KL divergence of N(mu, exp(logvar)) from N(0, 1)."""
    if mu.shape != logvar.shape:
        raise InputError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have the same shape")
    return -0.5 * torch.mean(1.0 + logvar - mu.pow(2) - logvar.exp())
