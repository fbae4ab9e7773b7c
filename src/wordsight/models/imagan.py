"""IMAGAN (seed 003): DF-GAN with Residual Dense Blocks in the generator and a U-Net discriminator.

Seed 003 changed DF-GAN's generator (Tao et al., CVPR 2022) by adding Residual Dense Blocks (Zhang et al.,
"Residual Dense Network for Image Super-Resolution", CVPR 2018) and tried a U-Net discriminator (Schonfeld
et al., "A U-Net Based Discriminator for Generative Adversarial Networks", CVPR 2020). Both are built here
on DF-GAN's own modules (``models/dfgan.py``, ``models/layers.py``) by import:

* :class:`RDBGenerator` is :class:`~wordsight.models.dfgan.DFGenerator` whose every up-block is followed
  by ``rdb_blocks`` :class:`ResidualDenseBlock` s at that block's width; the deep fusion (affine) layers,
  the 4x4 start and the RGB head are DF-GAN's.
* :class:`UNetDiscriminator` is :class:`~wordsight.models.dfgan.DFDiscriminator` (its encoder and its
  conditional 4x4 head give the global score) plus a decoder that upsamples the 4x4 features back to the
  image size with skip connections from the encoder and ends in a per-pixel real/fake logit map.

    g = RDBGenerator(nf=32, z_dim=100, sentence_dim=256, image_size=64, rdb_blocks=1, rdb_growth=16)
    d = UNetDiscriminator(nf=32, sentence_dim=256, image_size=64)
    images = g(z, sentence)                       # [B, 3, 64, 64] in [-1, 1]
    levels = d.encode(images)                     # encoder features, 64x64 down to 4x4
    score = d.logits(levels[-1], sentence)        # [B], the global conditional score (= d(images, sentence))
    pixels = d.decode(levels)                     # [B, 1, 64, 64] per-pixel logits (unconditional)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .dfgan import DFDiscriminator, DFGenerator
from .layers import DFUpBlock, ResidualDownBlock, pyramid_channels

__all__ = ["RDBGenerator", "RDBUpBlock", "ResidualDenseBlock", "UNetDiscriminator"]


class ResidualDenseBlock(nn.Module):
    """x [B, C, H, W] -> x + scale * LFF(cat(x, F_1, ..., F_L)), same shape (RDN, section 3.2).

    F_i = LeakyReLU_0.2(conv3x3(cat(x, F_1, ..., F_(i-1)))) has ``growth`` channels (the growth rate g), so
    conv i sees C + (i - 1) g channels: the contiguous memory of RDN eq. 3-4. LFF is the 1x1 local feature
    fusion back to C channels (eq. 5) and the block adds its input (local residual learning, eq. 6). The
    residual scaling ``scale`` (0.2, as ESRGAN's RRDB; RDN itself uses 1) keeps the block near the identity
    at initialisation. RDN uses ReLU; LeakyReLU(0.2) is DF-GAN's activation.
    """

    def __init__(self, channels: int, growth: int = 16, layers: int = 4, scale: float = 0.2):
        super().__init__()
        if channels < 1 or growth < 1 or layers < 1:
            raise InputError(f"ResidualDenseBlock: channels, growth and layers must be >= 1, got {channels}, {growth}, {layers}")
        self.channels, self.growth, self.layers, self.scale = channels, growth, layers, scale
        self.convs = nn.ModuleList(nn.Conv2d(channels + i * growth, growth, 3, 1, 1) for i in range(layers))
        self.fusion = nn.Conv2d(channels + layers * growth, channels, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape("x", x, [None, self.channels, None, None])
        features = [x]
        for conv in self.convs:
            features.append(F.leaky_relu(conv(torch.cat(features, dim=1)), 0.2))
        return x + self.scale * self.fusion(torch.cat(features, dim=1))


class RDBUpBlock(nn.Module):
    """A DF-GAN up-block (:class:`~wordsight.models.layers.DFUpBlock`: upsample, two deep fusion blocks and
    convs, shortcut) followed by ``num_rdb`` Residual Dense Blocks at its output width; (x, cond) -> h."""

    def __init__(self, up: DFUpBlock, num_rdb: int, growth: int, layers: int, scale: float):
        super().__init__()
        self.up = up
        width = up.c2.out_channels
        self.rdbs = nn.Sequential(*(ResidualDenseBlock(width, growth, layers, scale) for _ in range(num_rdb)))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.rdbs(self.up(x, cond))


@register_model("imagan_rdb_generator")
class RDBGenerator(DFGenerator):
    """DF-GAN's generator with ``rdb_blocks`` Residual Dense Blocks after each up-block (seed 003's IMAGAN).

    z [B, z_dim] + sentence [B, sentence_dim] -> images [B, 3, S, S] in [-1, 1], the text-to-image generator
    protocol of :class:`~wordsight.models.dfgan.DFGenerator` (``text_inputs``, ``sample_noise``), whose
    forward it uses unchanged. ``rdb_blocks=0`` is DF-GAN's generator with the same weights' layout under
    ``blocks.<i>.up``.
    """

    def __init__(self, nf: int = 32, z_dim: int = 100, sentence_dim: int = 256, image_size: int = 64, out_channels: int = 3,
                 rdb_blocks: int = 1, rdb_growth: int = 16, rdb_layers: int = 4, rdb_scale: float = 0.2):
        super().__init__(nf=nf, z_dim=z_dim, sentence_dim=sentence_dim, image_size=image_size, out_channels=out_channels)
        if rdb_blocks < 0:
            raise InputError(f"rdb_blocks must be >= 0, got {rdb_blocks}")
        self.rdb_blocks, self.rdb_growth, self.rdb_layers, self.rdb_scale = rdb_blocks, rdb_growth, rdb_layers, rdb_scale
        # wrap DF-GAN's up-blocks as built (same initialisation), each followed by its dense blocks
        self.blocks = nn.ModuleList(RDBUpBlock(block, rdb_blocks, rdb_growth, rdb_layers, rdb_scale) for block in self.blocks)


@register_model("imagan_unet_discriminator")
class UNetDiscriminator(DFDiscriminator):
    """DF-GAN's discriminator plus a U-Net decoder: a global conditional score and a per-pixel logit map.

    Encoder (:meth:`encode`): DF-GAN's conv3x3 and residual down-blocks; it returns every level's features,
    from S x S (width nf) down to 4 x 4. :meth:`logits` is DF-GAN's conditional head on the 4 x 4 level, so
    ``forward(images, sentence)`` is the same global score [B] as DF-GAN's. Decoder (:meth:`decode`): from
    4 x 4 up to S x S, each step nearest x2 upsampling, concatenation with the encoder level of that size
    (the U-Net skip) and a residual conv block (:class:`~wordsight.models.layers.ResidualDownBlock` without
    downsampling) to that level's width; then a 1x1 conv to one logit per pixel [B, 1, S, S]. The decoder is
    unconditional, as in Schonfeld et al. (its output says real or fake per pixel, not matching or not).
    ``decoder_gamma_init`` is the decoder blocks' residual scale at initialisation (1: open from the start;
    the encoder keeps DF-GAN's ``gamma_init``).
    """

    def __init__(self, nf: int = 32, sentence_dim: int = 256, image_size: int = 64, in_channels: int = 3,
                 gamma_init: float = 0.0, decoder_gamma_init: float = 1.0):
        super().__init__(nf=nf, sentence_dim=sentence_dim, image_size=image_size, in_channels=in_channels, gamma_init=gamma_init)
        channels = pyramid_channels(nf, image_size)  # width per level, S x S first, 4 x 4 last
        self.decoder = nn.ModuleList(
            ResidualDownBlock(channels[level + 1] + channels[level], channels[level], downsample=False, gamma_init=decoder_gamma_init)
            for level in reversed(range(len(channels) - 1))
        )
        self.to_pixels = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(channels[0], 1, 1, 1, 0))

    def encode(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Every encoder level's features: [conv_img(images) at S x S, block 1 at S/2, ..., 4 x 4]."""
        check_shape("images", images, [None, self.in_channels, self.image_size, self.image_size])
        levels = [self.conv_img(images)]
        for block in self.blocks:
            levels.append(block(levels[-1]))
        return levels

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.encode(images)[-1]

    def decode(self, levels: list[torch.Tensor]) -> torch.Tensor:
        """Per-pixel logits [B, 1, S, S] from :meth:`encode`'s levels (higher = real)."""
        if len(levels) != len(self.decoder) + 1:
            raise InputError(f"decode: expected {len(self.decoder) + 1} encoder levels, got {len(levels)}")
        h = levels[-1]
        for block, skip in zip(self.decoder, reversed(levels[:-1])):
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = block(torch.cat((h, skip.to(h.dtype)), dim=1))
        return self.to_pixels(h)

    def score_and_pixels(self, images: torch.Tensor, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(global conditional score [B], per-pixel logits [B, 1, S, S]) from one encoder pass."""
        levels = self.encode(images)
        return self.logits(levels[-1], sentence), self.decode(levels)
