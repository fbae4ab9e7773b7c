"""The bidirectional ranking loss of a visual-semantic embedding (Kiros et al. 2014; seed 004 eq. 4, the
SISGAN text encoder's training loss; official woozzu/dong_iccv_2017 ``pairwise_ranking_loss``):

    L = sum_x sum_k max(0, alpha - s(phi(x), psi(t)) + s(phi(x), psi(t_k)))
      + sum_t sum_k max(0, alpha - s(phi(x), psi(t)) + s(phi(x_k), psi(t))),

s the cosine similarity, (x, t) the matching pairs of a batch and t_k, x_k the batch's other texts and
images, divided by the batch size as the official code. The sum is over every negative (the "sum of hinges",
not VSE++'s hardest negative).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils.checks import InputError, check_shape

__all__ = ["bidirectional_ranking_loss"]


def bidirectional_ranking_loss(images: torch.Tensor, texts: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """images [B, D] and texts [B, D] (row i of each a matching pair; any scale: both are normalised) -> the
    scalar loss above (official margin 0.2)."""
    dims = check_shape("images", images, ["B", "D"])
    check_shape("texts", texts, [dims["B"], dims["D"]])
    if dims["B"] < 2:
        raise InputError(f"the ranking loss needs a batch of at least 2 pairs, got {dims['B']}")
    if not margin >= 0:
        raise InputError(f"margin must be >= 0, got {margin}")
    sims = F.normalize(images.float(), dim=1) @ F.normalize(texts.float(), dim=1).T  # [image, text]
    right = sims.diagonal()
    off = ~torch.eye(dims["B"], dtype=torch.bool, device=sims.device)
    texts_for_image = (margin - right[:, None] + sims).clamp_min(0)  # each image against the other texts
    images_for_text = (margin - right[None, :] + sims).clamp_min(0)  # each text against the other images
    return (texts_for_image[off].sum() + images_for_text[off].sum()) / dims["B"]
