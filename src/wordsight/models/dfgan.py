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
import torch.nn.functional as F
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

    ``fused_affine`` (a speed option, docs/dfgan.md "Speed options"): compute the gamma and beta of every
    fusion layer from cond at once, the first layers of all their MLPs as one matmul and the second layers
    as one batched matmul per width, instead of 4 small MLPs per fusion block. The same parameters (same
    names, so any state dict loads either way) and the same function; only the rounding differs.
    """

    def __init__(self, nf: int = 32, z_dim: int = 100, sentence_dim: int = 256, image_size: int = 64, out_channels: int = 3,
                 fused_affine: bool = False):
        super().__init__()
        _check_size(image_size)
        self.nf, self.z_dim, self.sentence_dim, self.image_size = nf, z_dim, sentence_dim, image_size
        self.fused_affine = bool(fused_affine)
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
        if self.fused_affine:
            return self._forward_fused(h, cond)
        for block in self.blocks:
            h = block(h, cond)
        return self.to_rgb(h)

    def _affine_mlps(self) -> list[nn.Sequential]:
        """Every fusion MLP in forward order: per block fuse1, fuse2; per fusion affine0, affine1; gamma, beta."""
        return [mlp for block in self.blocks for fuse in (block.fuse1, block.fuse2)
                for affine in (fuse.affine0, fuse.affine1) for mlp in (affine.fc_gamma, affine.fc_beta)]

    def affine_params(self, cond: torch.Tensor) -> list[torch.Tensor]:
        """The output of every fusion MLP (:meth:`_affine_mlps` order), each [B, C], in one matmul for all
        first layers and one batched matmul per width for the second layers."""
        mlps = self._affine_mlps()
        widths = [m[0].out_features for m in mlps]
        order = sorted(range(len(mlps)), key=lambda i: -widths[i])  # group equal widths, stable
        w1 = torch.cat([mlps[i][0].weight for i in order])
        b1 = torch.cat([mlps[i][0].bias for i in order])
        hidden = F.relu(F.linear(cond, w1, b1))
        out: list[torch.Tensor | None] = [None] * len(mlps)
        start, j = 0, 0
        while j < len(order):
            width, k = widths[order[j]], j
            while k < len(order) and widths[order[k]] == width:
                k += 1
            group = order[j:k]
            h = hidden[:, start : start + width * len(group)].reshape(-1, len(group), width).transpose(0, 1)
            w2 = torch.stack([mlps[i][2].weight for i in group]).transpose(1, 2)  # [m, C_in, C_out]
            b2 = torch.stack([mlps[i][2].bias for i in group])[:, None, :]
            res = torch.baddbmm(b2, h, w2)  # [m, B, C]
            for n, i in enumerate(group):
                out[i] = res[n]
            start += width * len(group)
            j = k
        return out  # type: ignore[return-value]

    def _forward_fused(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        params = iter(self.affine_params(cond))

        def fuse(x: torch.Tensor) -> torch.Tensor:  # DFBlock: (affine -> LeakyReLU) twice
            for _ in range(2):
                gamma, beta = next(params), next(params)
                x = F.leaky_relu(torch.addcmul(beta[:, :, None, None], gamma[:, :, None, None], x), 0.2, inplace=True)
            return x

        for block in self.blocks:  # DFUpBlock.forward with the precomputed affines
            x = F.interpolate(h, scale_factor=2, mode="nearest") if block.upsample else h
            shortcut = block.c_sc(x) if block.c_sc is not None else x
            h = shortcut + block.c2(fuse(block.c1(fuse(x))))
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
