"""AttnGAN (Xu et al., "AttnGAN: Fine-Grained Text to Image Generation with Attentional Generative
Adversarial Networks", CVPR 2018; seeds 001 and 004), laid out as the official code (taoxugit/AttnGAN,
``code/model.py``: G_NET, INIT_STAGE_G, NEXT_STAGE_G, GET_IMAGE_G, GlobalAttentionGeneral, D_NET64/128/256).

A tree of generators conditioned on the sentence *and* the words of a caption (DAMSM text features):

* F0 (INIT_STAGE_G): conditioning augmentation with a GLU (``CA_NET``, c_dim 100) on the sentence vector,
  concatenated with z; Linear to 16 gf x 4 x 4 x 2 (no bias) + BN + GLU, then up-blocks (nearest x2,
  conv3x3, BN, GLU) halving the width down to gf at ``base_size`` (64 px and 4 up-blocks in the paper);
* F1, F2 ... (NEXT_STAGE_G): the attention model F_attn (:class:`~wordsight.models.layers.WordAttention`,
  eq. 2) gives a word-context vector per sub-region of the previous hidden features h; the joining
  concatenates [h, context], ``r_num`` residual blocks, one up-block back to gf channels at twice the size;
* G_i (GET_IMAGE_G): conv3x3 to RGB + Tanh on every stage's h.

:class:`AttnGANGenerator` builds its stages through :meth:`~AttnGANGenerator.init_stage` and
:meth:`~AttnGANGenerator.next_stage`, so that DualAttnGAN (``models/dualattngan.py``) changes only those.

The discriminators are StackGAN++'s (:class:`~wordsight.models.stackgan_pp.StackGANPPDiscriminator`): the
official D_NET64/128/256 of AttnGAN are the same image encoders with a conditional head (the sentence vector
replicated at 4x4, nef 256) and an unconditional head.

    g = AttnGANGenerator(gf_dim=32, z_dim=100, text_dim=256, base_size=64, branch_num=3)
    feats = damsm_text_encoder.encode(captions)
    x64, x128, x256 = g(g.sample_noise(len(captions)), feats.sentence, feats.words, feats.mask)
    images, attention, mu, logvar = g.forward_with_attention(z, feats.sentence, feats.words, feats.mask)
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .layers import ConditioningAugmentation, GLUResBlock, WordAttention, gaussian_noise, glu_conv, glu_up_block
from .stackgan import stackgan_init

__all__ = ["AttnGANGenerator", "AttnGANNextStage", "GeneratorOutput"]


class GeneratorOutput(tuple):
    """(images, attention, mu, logvar): every stage's images (lowest resolution first), every attention
    stage's word attention [B, T, H, W], and the conditioning augmentation's mean and log variance."""

    def __new__(cls, images: list[torch.Tensor], attention: list[torch.Tensor], mu: torch.Tensor, logvar: torch.Tensor):
        return super().__new__(cls, (images, attention, mu, logvar))

    images = property(lambda self: self[0])
    attention = property(lambda self: self[1])
    mu = property(lambda self: self[2])
    logvar = property(lambda self: self[3])


class AttnGANNextStage(nn.Module):
    """NEXT_STAGE_G: (h [B, gf, S, S], words, mask) -> (h' [B, gf, 2S, 2S], attention [B, T, S, S])."""

    def __init__(self, channels: int, word_dim: int, r_num: int):
        super().__init__()
        self.attention = WordAttention(channels, word_dim)
        self.residual = nn.Sequential(*[GLUResBlock(2 * channels) for _ in range(r_num)])
        self.up = glu_up_block(2 * channels, channels)

    def forward(self, h: torch.Tensor, words: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        context, attention = self.attention(h, words, mask)
        return self.up(self.residual(torch.cat((h, context), dim=1))), attention  # the joining: [h, c]


class _InitStage(nn.Module):
    """INIT_STAGE_G: (z, c) -> h [B, gf, base_size, base_size]."""

    def __init__(self, in_dim: int, width: int, ups: int):
        super().__init__()
        self.width = width
        self.fc = nn.Sequential(nn.Linear(in_dim, width * 16 * 2, bias=False), nn.BatchNorm1d(width * 16 * 2), nn.GLU(dim=1))
        widths = [width >> i for i in range(ups + 1)]
        self.up = nn.Sequential(*[glu_up_block(a, b) for a, b in zip(widths[:-1], widths[1:])])

    def forward(self, zc: torch.Tensor) -> torch.Tensor:
        return self.up(self.fc(zc).view(zc.shape[0], self.width, 4, 4))


def _check_base_size(base_size: int, branch_num: int, system: str) -> int:
    if not isinstance(base_size, int) or base_size < 16 or base_size & (base_size - 1):
        raise InputError(f"{system} base_size must be a power of two >= 16 (64 is the paper's), got {base_size!r}")
    if not 1 <= branch_num <= 6:
        raise InputError(f"{system} branch_num must be in 1..6 (3 is the paper's), got {branch_num!r}")
    return base_size.bit_length() - 3  # up-blocks from 4x4 to base_size


@register_model("attngan_generator")
class AttnGANGenerator(nn.Module):
    """z [B, z_dim] + sentence [B, text_dim] + words [B, T, text_dim] + mask [B, T] -> every stage's images.

    ``text_dim`` is the DAMSM embedding size (256): sentence and word features come from the same frozen
    DAMSM text encoder. The initial stage starts at 4x4 with ``gf_dim * 2 ** ups`` channels, ``ups`` the
    up-blocks to ``base_size`` (16 gf at 64 px, as the official code), so it ends at gf channels."""

    text_inputs = ("sentence", "words", "mask")
    system_name = "AttnGAN"

    def __init__(self, gf_dim: int = 32, z_dim: int = 100, text_dim: int = 256, c_dim: int = 100,
                 base_size: int = 64, branch_num: int = 3, r_num: int = 2):
        super().__init__()
        ups = _check_base_size(base_size, branch_num, self.system_name)
        if min(gf_dim, z_dim, text_dim, c_dim) < 1 or r_num < 0:
            raise InputError(f"{self.system_name}: gf_dim, z_dim, text_dim and c_dim must be >= 1 and r_num >= 0")
        self.gf_dim, self.z_dim, self.text_dim, self.c_dim = gf_dim, z_dim, text_dim, c_dim
        self.sentence_dim = self.word_dim = text_dim
        self.base_size, self.branch_num, self.r_num = base_size, branch_num, r_num
        self.image_sizes = [base_size << k for k in range(branch_num)]
        self.image_size = self.image_sizes[-1]
        self.ca = ConditioningAugmentation(text_dim, c_dim, activation="glu")
        self.init = self.init_stage(z_dim + c_dim, gf_dim << ups, ups)
        self.stages = nn.ModuleList(self.next_stage(gf_dim, text_dim, r_num) for _ in range(branch_num - 1))
        self.to_rgb = nn.ModuleList(nn.Sequential(nn.Conv2d(gf_dim, 3, 3, 1, 1, bias=False), nn.Tanh()) for _ in range(branch_num))
        stackgan_init(self)

    # the two parts DualAttnGAN replaces
    def init_stage(self, in_dim: int, width: int, ups: int) -> nn.Module:
        return _InitStage(in_dim, width, ups)

    def next_stage(self, channels: int, word_dim: int, r_num: int) -> nn.Module:
        return AttnGANNextStage(channels, word_dim, r_num)

    def sample_noise(self, n: int, generator: Optional[torch.Generator] = None, truncation: Optional[float] = None) -> torch.Tensor:
        """z ~ N(0, I) [n, z_dim]; ``truncation`` scales a (-2, 2)-truncated normal."""
        return gaussian_noise(n, self.z_dim, generator, truncation)

    def forward_with_attention(self, z: torch.Tensor, sentence: torch.Tensor, words: torch.Tensor,
                               mask: torch.Tensor) -> GeneratorOutput:
        dims = check_shape("z", z, ["B", self.z_dim])
        check_shape("sentence", sentence, [dims["B"], self.text_dim])
        check_shape("words", words, [dims["B"], "T", self.text_dim])
        c, mu, logvar = self.ca(sentence.to(z.dtype))
        h = self.init(torch.cat((z, c.to(z.dtype)), dim=1))
        images, maps = [self.to_rgb[0](h)], []
        for stage, to_rgb in zip(self.stages, self.to_rgb[1:]):
            h, attention = stage(h, words, mask)
            images.append(to_rgb(h))
            maps.append(attention)
        return GeneratorOutput(images, maps, mu, logvar)

    def forward(self, z: torch.Tensor, sentence: torch.Tensor, words: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        return self.forward_with_attention(z, sentence, words, mask).images
