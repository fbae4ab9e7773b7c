"""DF-GAN (Tao et al., "DF-GAN: A Simple and Effective Baseline for Text-to-Image Synthesis", CVPR 2022).

Faithful to the official 2022 code (tobran/DF-GAN, ``code/models/GAN.py``): a one-stage generator whose
up-blocks fuse the condition cat(z, sentence) through deep fusion blocks, and a discriminator made of
residual down-blocks plus a conditional head that joins the tiled sentence vector at 4x4. Pure
``nn.Module``s; sentence vectors come in as tensors (e.g. 256-d DAMSM, 384-d MiniLM).

    g = DFGenerator(nf=32, z_dim=100, sentence_dim=256, image_size=64)
    d = DFDiscriminator(nf=32, sentence_dim=256, image_size=64)
    z = truncated_noise(4, 100, truncation=0.88)
    images = g(z, sentence)                 # [4, 3, 64, 64] in [-1, 1]
    scores = d(images, sentence)            # [4]
"""

from __future__ import annotations

import torch
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .layers import DFUpBlock, ResidualDownBlock, pyramid_channels

__all__ = ["DFGenerator", "DFDiscriminator", "truncated_noise"]


def _check_size(image_size: int) -> None:
    if not isinstance(image_size, int) or image_size < 8 or image_size & (image_size - 1):
        raise InputError(f"DF-GAN image_size must be a power of two >= 8 (64, 128, 256), got {image_size!r}")


@register_model("dfgan_generator")
class DFGenerator(nn.Module):
    """z [B, z_dim] + sentence [B, sentence_dim] -> images [B, 3, S, S] in [-1, 1].

    Linear z -> C0 x 4 x 4, then log2(S) - 2 :class:`DFUpBlock` s with widths nf * [8, 8, 8, 8, 4, 2, 1]
    (the tail of that list that fits S), each fed cond = cat(z, sentence); LeakyReLU -> conv3x3 -> tanh.
    """

    def __init__(self, nf: int = 32, z_dim: int = 100, sentence_dim: int = 256, image_size: int = 64, out_channels: int = 3):
        super().__init__()
        _check_size(image_size)
        self.nf, self.z_dim, self.sentence_dim, self.image_size = nf, z_dim, sentence_dim, image_size
        channels = pyramid_channels(nf, image_size)[::-1]
        self.fc = nn.Linear(z_dim, channels[0] * 4 * 4)
        cond_dim = z_dim + sentence_dim
        self.blocks = nn.ModuleList(DFUpBlock(cond_dim, cin, cout) for cin, cout in zip(channels[:-1], channels[1:]))
        self.to_rgb = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(channels[-1], out_channels, 3, 1, 1), nn.Tanh())

    text_inputs = ("sentence",)  # the text-to-image generator protocol (models/generator.py)

    def sample_noise(self, n: int, generator: torch.Generator | None = None, truncation: float | None = None) -> torch.Tensor:
        return truncated_noise(n, self.z_dim, truncation=truncation, generator=generator)

    def forward(self, z: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        dims = check_shape("z", z, ["B", self.z_dim])
        check_shape("sentence", sentence, [dims["B"], self.sentence_dim])
        h = self.fc(z).reshape(z.shape[0], -1, 4, 4)
        cond = torch.cat((z, sentence.to(z.dtype)), dim=1)  # official order: cat(noise, sentence)
        for block in self.blocks:
            h = block(h, cond)
        return self.to_rgb(h)


@register_model("dfgan_discriminator")
class DFDiscriminator(nn.Module):
    """images [B, 3, S, S] + sentence [B, sentence_dim] -> score [B] (higher = real and matching).

    Split in two so one pass over the real images serves the matching, mismatched and MA-GP terms:
    :meth:`features` (conv3x3 then residual down-blocks to 4x4, official ``NetD``) and :meth:`logits`
    (tile the sentence to 4x4, concatenate, conv3x3 -> LeakyReLU -> conv4x4, official ``NetC``).
    """

    def __init__(self, nf: int = 32, sentence_dim: int = 256, image_size: int = 64, in_channels: int = 3,
                 gamma_init: float = 0.0):
        super().__init__()
        _check_size(image_size)
        self.nf, self.sentence_dim, self.image_size, self.in_channels = nf, sentence_dim, image_size, in_channels
        channels = pyramid_channels(nf, image_size)
        self.conv_img = nn.Conv2d(in_channels, channels[0], 3, 1, 1)
        self.blocks = nn.ModuleList(ResidualDownBlock(cin, cout, gamma_init=gamma_init) for cin, cout in zip(channels[:-1], channels[1:]))
        self.joint_conv = nn.Sequential(
            nn.Conv2d(channels[-1] + sentence_dim, nf * 2, 3, 1, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(nf * 2, 1, 4, 1, 0, bias=False),
        )

    def features(self, images: torch.Tensor) -> torch.Tensor:
        check_shape("images", images, [None, self.in_channels, self.image_size, self.image_size])
        h = self.conv_img(images)
        for block in self.blocks:
            h = block(h)
        return h

    def logits(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        dims = check_shape("features", features, ["B", None, 4, 4])
        check_shape("sentence", sentence, [dims["B"], self.sentence_dim])
        tiled = sentence.to(features.dtype)[:, :, None, None].expand(-1, -1, 4, 4)
        return self.joint_conv(torch.cat((features, tiled), dim=1)).reshape(-1)

    def forward(self, images: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(images), sentence)


def truncated_noise(
    batch_size: int,
    z_dim: int,
    truncation: float | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Noise for sampling: N(0, 1), or with ``truncation`` a normal truncated to (-2, 2) times
    ``truncation`` (official ``truncated_noise``: ``truncnorm.rvs(-2, 2) * 0.88`` at test time)."""
    if truncation is None:
        return torch.randn(batch_size, z_dim, generator=generator, device=device)
    if not 0.0 < truncation <= 1.0:
        raise InputError(f"truncation must be in (0, 1], got {truncation}")
    z = torch.empty(batch_size, z_dim, device=device)
    nn.init.trunc_normal_(z, 0.0, 1.0, -2.0, 2.0, generator=generator)
    return z * truncation
