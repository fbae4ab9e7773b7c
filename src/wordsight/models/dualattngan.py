"""DualAttnGAN (Cai et al., "Dual Attention Network for Text to Image Synthesis" / "DualAttn-GAN", 2019;
seed 001, whose partial code is mattrent/AttnGAN ``code/dualAttnModel.py``).

AttnGAN's generator (:mod:`wordsight.models.attngan`) with two changes:

* the initial stage uses ReLU where AttnGAN's F0 uses GLU (seed 001: "al posto dell'attivazione GLU viene
  utilizzata una ReLu");
* every later stage replaces AttnGAN's attention + joining with the **Dual Attention Module**:

  - textual attention (TAM): AttnGAN's word attention, a word context c per sub-region;
  - visual attention (VAM) = spatial attention after channel attention, SAM(CAM(h)):
    :class:`ChannelAttention` is sigma(MLP(AvgPool h) + MLP(MaxPool h)) * h (the paper's form), or, with
    ``compression``, seed 001's memory-saving version (pooling with kernel 3 and stride 4, a 1x1
    convolution to C/8 with stride 2, the shared MLP, a transposed convolution back, so the channel
    weights vary slowly over the image); :class:`SpatialAttention` is SAGAN's (Zhang et al. 2019: f, g, h
    1x1 convolutions, softmax over positions, gamma initialised to 0);
  - the attention embedding module (AEM): concat(h + c, h + VAM(h)), then the residual blocks and the
    up-block, as AttnGAN's joining is followed by them.

  ``inverted_residual`` swaps the GLU residual blocks for MobileNetV2 inverted residuals
  (:class:`InvertedResidual`, Sandler et al. 2018), the paper's layers that seed 001 left out.

SAGAN's attention is quadratic in the positions: a stage at S px holds a [B, S^2, S^2] matrix (64 px:
16.8 M floats per image), which is why seed 001 ran out of memory at the paper's 128 px stage.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..hub import register_model
from ..utils.checks import InputError
from .attngan import AttnGANGenerator
from .layers import GLUResBlock, WordAttention, glu_up_block

__all__ = ["ChannelAttention", "DualAttnGANGenerator", "DualAttentionStage", "InvertedResidual", "SpatialAttention"]


class ChannelAttention(nn.Module):
    """h [B, C, H, W] -> h * w, channel weights w = sigma(MLP(AvgPool h) + MLP(MaxPool h)) (one shared MLP,
    C -> C / reduction -> C). ``compression``: seed 001's variant (module docstring)."""

    def __init__(self, channels: int, reduction: int = 8, compression: bool = False):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.compression = compression
        if compression:
            squeezed = max(1, channels // 8)
            self.squeeze = nn.Conv2d(channels, squeezed, 1, stride=2)
            self.mlp = nn.Sequential(nn.Conv2d(squeezed, max(1, squeezed // reduction), 1), nn.ReLU(inplace=True),
                                     nn.Conv2d(max(1, squeezed // reduction), squeezed, 1))
            self.expand = nn.ConvTranspose2d(squeezed, channels, 2, stride=2)
        else:
            self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """The attention weights in (0, 1): [B, C, 1, 1], or [B, C, H, W] with compression."""
        if not self.compression:
            avg, mx = h.mean(dim=(2, 3)), h.amax(dim=(2, 3))
            return torch.sigmoid(self.mlp(avg) + self.mlp(mx))[:, :, None, None]
        pooled = [F.avg_pool2d(h, 3, 4, 1), F.max_pool2d(h, 3, 4, 1)]
        logits = sum(self.expand(self.mlp(self.squeeze(p))) for p in pooled)
        return torch.sigmoid(F.interpolate(logits, size=h.shape[2:], mode="nearest"))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h * self.weights(h)


class SpatialAttention(nn.Module):
    """SAGAN self-attention: x [B, C, H, W] -> gamma * o + x, o_j = sum_i softmax_i(f(x_i)^T g(x_j)) h(x_i).

    gamma starts at 0, so the block starts as the identity (SAGAN sec. 4)."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        inner = max(1, channels // reduction)
        self.f, self.g = nn.Conv2d(channels, inner, 1), nn.Conv2d(channels, inner, 1)
        self.h = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """[B, N, N] (N = H W): row j is the distribution over positions i that position j attends to."""
        f, g = self.f(x).flatten(2), self.g(x).flatten(2)  # [B, C', N]
        return torch.softmax(torch.bmm(g.transpose(1, 2), f).float(), dim=-1).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, height, width = x.shape
        o = torch.bmm(self.h(x).flatten(2), self.attention(x).transpose(1, 2))  # [B, C, N]
        return self.gamma * o.reshape(b, c, height, width) + x


class InvertedResidual(nn.Module):
    """MobileNetV2's inverted residual with a stride of 1: 1x1 expand (x ``expansion``) + BN + ReLU6,
    depthwise 3x3 + BN + ReLU6, 1x1 project + BN (linear bottleneck), + x."""

    def __init__(self, channels: int, expansion: int = 6):
        super().__init__()
        if expansion < 1:
            raise InputError(f"InvertedResidual expansion must be >= 1, got {expansion}")
        wide = channels * expansion
        self.block = nn.Sequential(
            nn.Conv2d(channels, wide, 1, bias=False), nn.BatchNorm2d(wide), nn.ReLU6(inplace=True),
            nn.Conv2d(wide, wide, 3, 1, 1, groups=wide, bias=False), nn.BatchNorm2d(wide), nn.ReLU6(inplace=True),
            nn.Conv2d(wide, channels, 1, bias=False), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + x


class DualAttentionStage(nn.Module):
    """A later stage: (h [B, gf, S, S], words, mask) -> (h' [B, gf, 2S, 2S], word attention [B, T, S, S])."""

    def __init__(self, channels: int, word_dim: int, r_num: int, compression: bool = False, inverted_residual: bool = False):
        super().__init__()
        self.textual = WordAttention(channels, word_dim)
        self.visual = nn.Sequential(ChannelAttention(channels, compression=compression), SpatialAttention(channels))
        block = InvertedResidual if inverted_residual else GLUResBlock
        self.residual = nn.Sequential(*[block(2 * channels) for _ in range(r_num)])
        self.up = glu_up_block(2 * channels, channels)

    def forward(self, h: torch.Tensor, words: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        context, attention = self.textual(h, words, mask)
        embedded = torch.cat((h + context, h + self.visual(h)), dim=1)  # the attention embedding module
        return self.up(self.residual(embedded)), attention


def _relu_up_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _ReLUInitStage(nn.Module):
    """AttnGAN's F0 with ReLU in place of GLU: (z, c) -> h [B, gf, base_size, base_size]."""

    def __init__(self, in_dim: int, width: int, ups: int):
        super().__init__()
        self.width = width
        self.fc = nn.Sequential(nn.Linear(in_dim, width * 16, bias=False), nn.BatchNorm1d(width * 16), nn.ReLU(inplace=True))
        widths = [width >> i for i in range(ups + 1)]
        self.up = nn.Sequential(*[_relu_up_block(a, b) for a, b in zip(widths[:-1], widths[1:])])

    def forward(self, zc: torch.Tensor) -> torch.Tensor:
        return self.up(self.fc(zc).view(zc.shape[0], self.width, 4, 4))


@register_model("dualattngan_generator")
class DualAttnGANGenerator(AttnGANGenerator):
    """AttnGAN's generator interface (``text_inputs``, ``forward_with_attention``) with DualAttnGAN's stages."""

    system_name = "DualAttnGAN"

    def __init__(self, gf_dim: int = 32, z_dim: int = 100, text_dim: int = 256, c_dim: int = 100,
                 base_size: int = 64, branch_num: int = 3, r_num: int = 2, compression: bool = False,
                 inverted_residual: bool = False):
        self.compression, self.inverted_residual = compression, inverted_residual  # read by next_stage
        super().__init__(gf_dim=gf_dim, z_dim=z_dim, text_dim=text_dim, c_dim=c_dim, base_size=base_size,
                         branch_num=branch_num, r_num=r_num)

    def init_stage(self, in_dim: int, width: int, ups: int) -> nn.Module:
        return _ReLUInitStage(in_dim, width, ups)

    def next_stage(self, channels: int, word_dim: int, r_num: int) -> nn.Module:
        return DualAttentionStage(channels, word_dim, r_num, self.compression, self.inverted_residual)
