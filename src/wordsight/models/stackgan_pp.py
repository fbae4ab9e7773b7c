"""StackGAN++ / StackGAN-v2 (Zhang et al., "StackGAN++: Realistic Image Synthesis with Stacked Generative
Adversarial Networks", TPAMI 2018; seed 004), laid out as the official code (hanzhanggit/StackGAN-v2,
``code/model.py``: G_NET, INIT_STAGE_G, NEXT_STAGE_G, GET_IMAGE_G, D_NET64/128/256).

A tree of generators sharing hidden features, trained end to end (no stage-by-stage training):

* conditioning augmentation with a gated linear unit (:class:`~wordsight.models.layers.ConditioningAugmentation`,
  ``activation="glu"``), c_dim 128;
* the first branch (INIT_STAGE_G, width 16 gf): Linear(z + c -> 16 gf x 4 x 4 x 2, no bias) + BN + GLU,
  then up-blocks (nearest x2, conv3x3 to twice the width, BN, GLU) halving the width up to ``base_size``;
* every later branch (NEXT_STAGE_G) takes the previous branch's hidden features h: c replicated
  spatially and concatenated, conv3x3 + BN + GLU (joint), ``r_num`` residual blocks (conv3x3, BN, GLU,
  conv3x3, BN, + x), and one up-block halving the width and doubling the size;
* each branch turns its h into an image by conv3x3 + Tanh (GET_IMAGE_G).

One discriminator per branch (:class:`StackGANPPDiscriminator`): the StackGAN image encoder down to 4x4 at
8 ndf, a conditional head (condition replicated at 4x4, conv3x3 + BN + LeakyReLU, conv4x4 -> logit) and an
unconditional one (conv4x4 -> logit on the image code alone); together they give the joint conditional
and unconditional loss of eqs. 11-12 (:mod:`wordsight.losses.multiscale`).

    g = StackGANPPGenerator(gf_dim=64, z_dim=100, sentence_dim=384, base_size=64, branch_num=3)
    x64, x128, x256 = g(g.sample_noise(4), sentence)
    d = StackGANPPDiscriminator(ndf=64, c_dim=128, image_size=256)
    cond_logit, uncond_logit = d(x256, mu)
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .layers import ConditioningAugmentation, GLUResBlock, gaussian_noise, glu_conv, glu_up_block
from .stackgan import StackGANDiscriminator, stackgan_init

__all__ = ["StackGANPPGenerator", "StackGANPPDiscriminator", "GLUResBlock"]


class _NextBranch(nn.Module):
    """NEXT_STAGE_G: (h [B, C, S, S], c) -> h' [B, C/2, 2S, 2S]."""

    def __init__(self, channels: int, c_dim: int, r_num: int):
        super().__init__()
        self.joint = nn.Sequential(*glu_conv(channels + c_dim, channels))
        self.residual = nn.Sequential(*[GLUResBlock(channels) for _ in range(r_num)])
        self.up = glu_up_block(channels, channels // 2)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        c = c.to(h.dtype)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.up(self.residual(self.joint(torch.cat((c, h), dim=1))))


@register_model("stackgan_pp_generator")
class StackGANPPGenerator(nn.Module):
    """z [B, z_dim] + sentence [B, sentence_dim] -> every branch's images, lowest resolution first."""

    text_inputs = ("sentence",)

    def __init__(self, gf_dim: int = 64, z_dim: int = 100, sentence_dim: int = 384, c_dim: int = 128,
                 base_size: int = 64, branch_num: int = 3, r_num: int = 2):
        super().__init__()
        if not isinstance(base_size, int) or base_size < 16 or base_size & (base_size - 1):
            raise InputError(f"StackGAN++ base_size must be a power of two >= 16 (64 is the paper's), got {base_size!r}")
        if not 1 <= branch_num <= 6:
            raise InputError(f"StackGAN++ branch_num must be in 1..6 (3 is the paper's), got {branch_num!r}")
        self.gf_dim, self.z_dim, self.sentence_dim, self.c_dim = gf_dim, z_dim, sentence_dim, c_dim
        self.base_size, self.branch_num = base_size, branch_num
        self.image_sizes = [base_size << k for k in range(branch_num)]
        self.image_size = self.image_sizes[-1]
        width = 16 * gf_dim  # INIT_STAGE_G's ngf = GF_DIM * 16 at 4x4
        ups = base_size.bit_length() - 3
        if width >> (ups + branch_num - 1) < 1:
            raise InputError(f"gf_dim {gf_dim} is too small for {branch_num} branches from {base_size} px: every branch halves the width")
        self.width = width
        self.ca = ConditioningAugmentation(sentence_dim, c_dim, activation="glu")
        self.fc = nn.Sequential(nn.Linear(z_dim + c_dim, width * 16 * 2, bias=False), nn.BatchNorm1d(width * 16 * 2), nn.GLU(dim=1))
        widths = [width >> i for i in range(ups + 1)]
        self.init_up = nn.Sequential(*[glu_up_block(a, b) for a, b in zip(widths[:-1], widths[1:])])
        w = widths[-1]
        branches, to_rgb = [], [nn.Sequential(nn.Conv2d(w, 3, 3, 1, 1, bias=False), nn.Tanh())]
        for _ in range(branch_num - 1):
            branches.append(_NextBranch(w, c_dim, r_num))
            w //= 2
            to_rgb.append(nn.Sequential(nn.Conv2d(w, 3, 3, 1, 1, bias=False), nn.Tanh()))
        self.branches = nn.ModuleList(branches)
        self.to_rgb = nn.ModuleList(to_rgb)
        stackgan_init(self)

    def sample_noise(self, n: int, generator: Optional[torch.Generator] = None, truncation: Optional[float] = None) -> torch.Tensor:
        """z ~ N(0, I) [n, z_dim]; ``truncation`` scales a (-2, 2)-truncated normal."""
        return gaussian_noise(n, self.z_dim, generator, truncation)

    def forward_with_codes(self, z: torch.Tensor, sentence: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """(every branch's images, mu, logvar of the conditioning augmentation)."""
        dims = check_shape("z", z, ["B", self.z_dim])
        check_shape("sentence", sentence, [dims["B"], self.sentence_dim])
        c, mu, logvar = self.ca(sentence.to(z.dtype))
        h = self.init_up(self.fc(torch.cat((z, c.to(z.dtype)), dim=1)).view(z.shape[0], self.width, 4, 4))
        images = [self.to_rgb[0](h)]
        for branch, to_rgb in zip(self.branches, self.to_rgb[1:]):
            h = branch(h, c)  # the hidden features, not the image, feed the next branch
            images.append(to_rgb(h))
        return images, mu, logvar

    def forward(self, z: torch.Tensor, sentence: torch.Tensor) -> list[torch.Tensor]:
        return self.forward_with_codes(z, sentence)[0]


@register_model("stackgan_pp_discriminator")
class StackGANPPDiscriminator(StackGANDiscriminator):
    """images [B, 3, S, S] + condition [B, c_dim] -> (conditional logit [B], unconditional logit [B]).

    The image encoder and the conditional head are StackGAN's (D_NET64/128/256 reach 4x4 at 8 ndf the same
    way); the unconditional head scores the image code alone."""

    def __init__(self, ndf: int = 64, c_dim: int = 128, image_size: int = 64):
        super().__init__(ndf=ndf, c_dim=c_dim, image_size=image_size)
        self.uncond_head = nn.Conv2d(self.width, 1, 4, 4)
        stackgan_init(self.uncond_head)

    def unconditional_logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.uncond_head(features).flatten()

    def forward(self, images: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(images)
        return self.logits(features, condition), self.unconditional_logits(features)


def downscaled(images: torch.Tensor, size: int) -> torch.Tensor:
    """Real images at one branch's size: box-filter downscaling (average pooling for power-of-two factors)."""
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="area")
