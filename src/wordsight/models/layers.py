"""Shared building blocks for the GAN generators and discriminators.

:class:`ConditioningAugmentation` is StackGAN's (Zhang et al., ICCV 2017, section 3.1; seed 003/004), shared
by StackGAN and StackGAN++; the gated-linear-unit blocks (:func:`glu_conv`, :func:`glu_up_block`,
:class:`GLUResBlock`) are StackGAN++'s and AttnGAN's (``Block3x3_relu``, ``upBlock``, ``ResBlock`` in both
official ``code/model.py``), and :class:`WordAttention` is AttnGAN's ``GlobalAttentionGeneral`` (Xu et al.,
CVPR 2018, eq. 2), shared by AttnGAN and DualAttnGAN. The DF-GAN blocks follow Tao et al., "DF-GAN: A Simple and Effective Baseline for Text-to-Image
Synthesis" (CVPR 2022), section 3.3 (deep text-image fusion block) and the official 2022 code
(tobran/DF-GAN, ``code/models/GAN.py``). Every block is memory-format agnostic (no ``.view`` on
feature maps), so models run unchanged under ``channels_last``.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.checks import InputError, check_shape

__all__ = ["Affine", "ConditioningAugmentation", "DFBlock", "DFUpBlock", "GLUResBlock", "PooledConvEncoder", "ResidualDownBlock", "WordAttention",
           "glu_conv", "glu_up_block", "pyramid_channels", "gaussian_noise"]


def gaussian_noise(n: int, z_dim: int, generator: torch.Generator | None = None, truncation: float | None = None) -> torch.Tensor:
    """z ~ N(0, I) [n, z_dim], the noise of the DCGAN-style generators (GAN-INT-CLS, StackGAN, StackGAN++);
    ``truncation`` in (0, 1] scales a normal clamped to (-2, 2)."""
    z = torch.randn(n, z_dim, generator=generator)
    if truncation is not None:
        if not 0 < truncation <= 1:
            raise InputError(f"truncation must be in (0, 1], got {truncation}")
        z = z.clamp(-2.0, 2.0) * truncation
    return z


def pyramid_channels(nf: int, image_size: int, max_multiplier: int = 8) -> list[int]:
    """Channel widths from the highest to the lowest resolution level: nf * min(2**i, 8).

    DF-GAN uses log2(size) - 1 levels, i.e. 4x4 up to ``image_size`` (``get_G_in_out_chs``): 64 px gives
    [1, 2, 4, 8, 8] * nf for the discriminator and the reverse for the generator.
    """
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    levels = int(image_size).bit_length() - 2  # log2(size) - 1
    return [nf * min(2**i, max_multiplier) for i in range(levels)]


class Affine(nn.Module):
    """Channel-wise affine transformation conditioned on a vector (DF-GAN eq. 1-2).

    gamma = MLP_gamma(c), beta = MLP_beta(c); out = gamma * x + beta, with each MLP
    Linear(cond_dim, C) - ReLU - Linear(C, C). The last layers start at gamma = 1, beta = 0 so the block
    is the identity at initialisation, as in the official code.
    """

    def __init__(self, cond_dim: int, num_features: int):
        super().__init__()
        self.fc_gamma = nn.Sequential(nn.Linear(cond_dim, num_features), nn.ReLU(inplace=True), nn.Linear(num_features, num_features))
        self.fc_beta = nn.Sequential(nn.Linear(cond_dim, num_features), nn.ReLU(inplace=True), nn.Linear(num_features, num_features))
        nn.init.zeros_(self.fc_gamma[2].weight)
        nn.init.ones_(self.fc_gamma[2].bias)
        nn.init.zeros_(self.fc_beta[2].weight)
        nn.init.zeros_(self.fc_beta[2].bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma = self.fc_gamma(cond)[:, :, None, None]
        beta = self.fc_beta(cond)[:, :, None, None]
        return torch.addcmul(beta, gamma, x)  # beta + gamma * x, one fused kernel


class DFBlock(nn.Module):
    """Deep fusion block: Affine -> LeakyReLU(0.2) -> Affine -> LeakyReLU(0.2) (DF-GAN fig. 4, ``DFBLK``)."""

    def __init__(self, cond_dim: int, num_features: int):
        super().__init__()
        self.affine0 = Affine(cond_dim, num_features)
        self.affine1 = Affine(cond_dim, num_features)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.affine0(x, cond), 0.2, inplace=True)
        return F.leaky_relu(self.affine1(h, cond), 0.2, inplace=True)


class DFUpBlock(nn.Module):
    """Generator block (``G_Block``): nearest x2 upsampling, then a residual branch
    DFBlock -> conv3x3 -> DFBlock -> conv3x3, plus a 1x1 shortcut conv when the width changes."""

    def __init__(self, cond_dim: int, in_ch: int, out_ch: int, upsample: bool = True):
        super().__init__()
        self.upsample = upsample
        self.fuse1 = DFBlock(cond_dim, in_ch)
        self.c1 = nn.Conv2d(in_ch, out_ch, 3, 1, 1)
        self.fuse2 = DFBlock(cond_dim, out_ch)
        self.c2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1)
        self.c_sc = nn.Conv2d(in_ch, out_ch, 1, 1, 0) if in_ch != out_ch else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        shortcut = self.c_sc(x) if self.c_sc is not None else x
        h = self.c1(self.fuse1(x, cond))
        h = self.c2(self.fuse2(h, cond))
        return shortcut + h


class ResidualDownBlock(nn.Module):
    """Discriminator block (``D_Block``): x -> avgpool(shortcut(x)) + gamma * residual(x).

    Residual branch: conv4x4 stride 2 (conv3x3 without downsampling) -> LeakyReLU(0.2) -> conv3x3 -> LeakyReLU(0.2), no biases. The scalar
    gamma starts at 0 (``gamma_init``, official), so at initialisation each block passes only its (pooled)
    shortcut and its residual weights get no gradient until gamma moves. The official code
    always builds the 1x1 shortcut conv but uses it only when widths differ; we build it only then, which
    leaves no unused parameters (important for gradient synchronisation across processes).
    """

    def __init__(self, in_ch: int, out_ch: int, downsample: bool = True, gamma_init: float = 0.0):
        super().__init__()
        self.downsample = downsample
        self.conv_r = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False) if downsample else nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.conv_s = nn.Conv2d(in_ch, out_ch, 1, 1, 0) if in_ch != out_ch else None
        self.gamma = nn.Parameter(torch.full((1,), float(gamma_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.conv_r(x)
        if self.conv_s is not None:
            x = self.conv_s(x)
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        return x + self.gamma * res


class ConditioningAugmentation(nn.Module):
    """sentence [B, D] -> (c, mu, logvar), each [B, c_dim]: StackGAN's conditioning augmentation.

    mu and log sigma^2 come from one linear layer on the text embedding; c = mu + sigma * eps with
    eps ~ N(0, I) (the reparameterisation, so gradients reach mu and sigma), and c = mu in eval mode, which
    gives deterministic samples for a fixed z. Train it with :func:`wordsight.losses.conditioning.kl_to_standard_normal`
    (StackGAN's KL term, coefficient 2.0). ``activation``: "relu" as StackGAN's official CA_NET, "glu" as
    StackGAN++'s (a linear layer to twice the width, halved by a gated linear unit).
    """

    def __init__(self, sentence_dim: int, c_dim: int = 128, activation: str = "relu"):
        super().__init__()
        if activation not in ("relu", "glu"):
            raise InputError(f"activation must be 'relu' or 'glu', got {activation!r}")
        self.sentence_dim, self.c_dim, self.activation = sentence_dim, c_dim, activation
        self.fc = nn.Linear(sentence_dim, c_dim * (4 if activation == "glu" else 2))

    def encode(self, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of the conditioning distribution."""
        h = self.fc(sentence)
        h = F.glu(h, dim=1) if self.activation == "glu" else F.relu(h)
        return h[:, : self.c_dim], h[:, self.c_dim:]

    def forward(self, sentence: torch.Tensor, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(sentence)
        if noise is None:
            if not self.training:
                return mu, mu, logvar
            noise = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * noise, mu, logvar


def glu_conv(cin: int, cout: int) -> list[nn.Module]:
    """conv3x3 to 2 cout (no bias), BN, GLU: the official Block3x3_relu of StackGAN++ and AttnGAN."""
    return [nn.Conv2d(cin, 2 * cout, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * cout), nn.GLU(dim=1)]


def glu_up_block(cin: int, cout: int) -> nn.Sequential:
    """The official upBlock of StackGAN++ and AttnGAN: nearest x2, conv3x3 to 2 cout, BN, GLU."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), *glu_conv(cin, cout))


class GLUResBlock(nn.Module):
    """The official ResBlock of StackGAN++ and AttnGAN: conv3x3 -> 2C, BN, GLU, conv3x3 -> C, BN, + x."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(*glu_conv(channels, channels), nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + x


class WordAttention(nn.Module):
    """AttnGAN's attention model F_attn (eq. 2; ``GlobalAttentionGeneral``): a word-context vector per
    image sub-region.

    h [B, C, H, W] (the image features, one query per sub-region), words [B, T, D] and mask bool [B, T]
    (True at real words) -> (context [B, C, H, W], attention [B, T, H, W]). The words are projected to the
    image feature space (e'_i = U e_i, a 1x1 convolution without bias in the official code); per
    sub-region j, beta_(j,i) = softmax_i(h_j^T e'_i) over the caption's real words (padding gets no
    weight), and c_j = sum_i beta_(j,i) e'_i. ``attention[:, :, y, x]`` sums to one over the real words.
    """

    def __init__(self, channels: int, word_dim: int):
        super().__init__()
        self.channels, self.word_dim = channels, word_dim
        self.project = nn.Linear(word_dim, channels, bias=False)

    def forward(self, h: torch.Tensor, words: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, height, width = h.shape
        if words.dim() != 3 or words.shape[0] != b or words.shape[2] != self.word_dim:
            raise InputError(f"words: expected [{b}, T, {self.word_dim}], got {list(words.shape)}")
        if mask.shape != words.shape[:2] or mask.dtype != torch.bool:
            raise InputError(f"mask: expected bool [{b}, {words.shape[1]}], got {mask.dtype} {list(mask.shape)}")
        if not mask.any(dim=1).all():
            raise InputError("mask: every caption needs at least one real word")
        source = self.project(words.to(h.dtype))  # e' [B, T, C]
        query = h.flatten(2)  # [B, C, HW]
        scores = torch.bmm(source, query)  # [B, T, HW]: h_j^T e'_i
        scores = scores.float().masked_fill(~mask[:, :, None], float("-inf"))
        attention = torch.softmax(scores, dim=1).to(h.dtype)  # over words, per sub-region
        context = torch.bmm(source.transpose(1, 2), attention)  # [B, C, HW]: c_j = sum_i beta_ji e'_i
        return context.reshape(b, c, height, width), attention.reshape(b, -1, height, width)


class PooledConvEncoder(nn.Module):
    """Images [B, 3, S, S] in [-1, 1] -> features [B, D]: TIRG's stand-in for its pretrained ResNet-18 and
    SISGAN's for the VGG-16 fc7 of its visual-semantic embedding (neither can be downloaded here).

    Each block is Conv3x3 stride 2 -> BatchNorm2d -> ReLU, halving the resolution; then global average
    pooling (the official replaces ResNet's avgpool by adaptive_avg_pool2d too) and Linear(C, D) (its
    ``img_model.fc``). Inputs of another size are resized bilinearly to ``image_size`` first.
    """

    def __init__(self, embed_dim: int, image_size: int, channels: Sequence[int], bias: bool = True):
        super().__init__()
        self.image_size = image_size
        blocks, c_in = [], 3
        for c in channels:
            blocks += [nn.Conv2d(c_in, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c_in, embed_dim, bias=bias)  # SISGAN's W has no bias

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_shape("images", images, ["B", 3, "H", "W"])
        if not images.is_floating_point():
            raise InputError(f"images: expected floats in [-1, 1], got dtype {images.dtype}")
        if tuple(images.shape[-2:]) != (self.image_size, self.image_size):
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        x = self.blocks(images)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
