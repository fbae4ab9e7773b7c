"""GAN-INT-CLS (Reed et al., "Generative Adversarial Text to Image Synthesis", ICML 2016; seed 004).

A text-conditional DCGAN, laid out as the official Lua code (reedscot/icml2016, ``main_cls_int.lua``):

* the sentence vector phi(t) is compressed by Linear(sentence_dim, 128) + LeakyReLU(0.2) ("projection to
  128 dimensions", section 3) in both networks (D's adds a BatchNorm, below);
* G: cat(z, phi'(t)) -> ConvTranspose 4x4 -> BN, a residual bottleneck block at 4x4, a stride-2 transposed
  convolution -> BN and a second residual bottleneck block at 8x8, then stride-2 transposed convolutions
  (BN + ReLU) halving the width at each doubling, and Tanh at the image size;
* D, as main_cls_int.lua runs it (``layout="as_run"``, the default): stride-2 convolutions down to 4x4 (no
  BN on the first; BN + LeakyReLU(0.2) after the others except the 8x8 one, which has no activation); the
  4x4 residual bottleneck the Lua code builds is never connected (its ConcatTable gets the undefined
  ``skipD``, i.e. nothing, so the block is the identity); phi(t) goes through Linear -> BatchNorm ->
  LeakyReLU(0.2), is replicated spatially and depth-concatenated, then conv1x1 -> BN -> LeakyReLU -> conv4x4
  to one logit. ``layout="residual"`` is this module's earlier reading of the code: the bottleneck wired in, no
  text BN, an activation after every BN (D wins within minutes with it, docs/gan-int-cls.md). The
  Lua code ends in a Sigmoid; we return the logit and use BCE-with-logits, the same loss computed stably;
* the style encoder S (section 4.4, eq. 6): a D-like convolution stack regressing z from an image, so that
  G(S(x), phi(t)) keeps x's style (background, pose) and takes the content from the text.

Widths: official ngf 128, ndf 64 at 64 px; any power-of-two size >= 16 works (tests use 16 or 32 px).

    g = GANINTCLSGenerator(ngf=128, z_dim=100, sentence_dim=384, image_size=64)
    d = GANINTCLSDiscriminator(ndf=64, sentence_dim=384, image_size=64)
    s = StyleEncoder(nf=64, z_dim=100, image_size=64)
    images = g(g.sample_noise(4), sentence)          # [4, 3, 64, 64] in [-1, 1]
    logits = d(images, sentence)                      # [4]
    restyled = g(s(images), other_sentence)          # style of `images`, content of the other text
"""

from __future__ import annotations

from typing import ClassVar, Optional

import torch
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .layers import gaussian_noise

__all__ = ["GANINTCLSGenerator", "GANINTCLSDiscriminator", "StyleEncoder", "ResidualBottleneck"]

TEXT_PROJECTION_DIM = 128  # the Lua code's opt.nt


def _levels(image_size: int) -> int:
    """Number of resolution doublings from 4x4 to ``image_size``."""
    if not isinstance(image_size, int) or image_size < 16 or image_size & (image_size - 1):
        raise InputError(f"GAN-INT-CLS image_size must be a power of two >= 16 (64 is the paper's), got {image_size!r}")
    return image_size.bit_length() - 3  # log2(size) - 2


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation, as the Lua code's weights_init: conv weights N(0, 0.02), BN weights N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class ResidualBottleneck(nn.Module):
    """x + BN(conv3x3(act(BN(conv3x3(act(BN(conv1x1(x)))))))), then the activation: the Lua code's block at
    4x4 (width -> width/4 -> width/4 -> width)."""

    def __init__(self, channels: int, activation: nn.Module):
        super().__init__()
        mid = max(1, channels // 4)
        self.body = nn.Sequential(
            nn.Conv2d(channels, mid, 1, 1, 0, bias=False), nn.BatchNorm2d(mid), activation,
            nn.Conv2d(mid, mid, 3, 1, 1, bias=False), nn.BatchNorm2d(mid), activation,
            nn.Conv2d(mid, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels),
        )
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(x + self.body(x))


def _text_projection(sentence_dim: int, text_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(sentence_dim, text_dim), nn.LeakyReLU(0.2, inplace=True))


def _down_stack(in_channels: int, nf: int, levels: int, as_run: bool = False) -> tuple[nn.Sequential, int]:
    """Stride-2 conv4x4 layers from the image size to 4x4, widths nf * 2**i (capped at 8 nf). ``as_run``:
    no activation after the 8x8 layer's BN, as in main_cls_int.lua (its LeakyReLU at 4x4 comes after the
    residual join, which is the identity there)."""
    layers: list[nn.Module] = []
    cin = in_channels
    for i in range(levels):
        cout = nf * min(2**i, 8)
        layers.append(nn.Conv2d(cin, cout, 4, 2, 1, bias=False))
        if i > 0:  # DCGAN: no batch norm on the discriminator's first layer
            layers.append(nn.BatchNorm2d(cout))
        if not (as_run and i == levels - 2):
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        cin = cout
    return nn.Sequential(*layers), cin


D_LAYOUTS = ("as_run", "residual")


@register_model("gan_int_cls_generator")
class GANINTCLSGenerator(nn.Module):
    """z [B, z_dim] + sentence [B, sentence_dim] -> images [B, 3, S, S] in [-1, 1].

    The text-to-image generator protocol (:mod:`wordsight.models.generator`): ``text_inputs`` names the
    text features :meth:`forward` takes, :meth:`sample_noise` draws its z.
    """

    text_inputs: ClassVar[tuple[str, ...]] = ("sentence",)

    def __init__(self, ngf: int = 128, z_dim: int = 100, sentence_dim: int = 384, image_size: int = 64,
                 text_dim: int = TEXT_PROJECTION_DIM, out_channels: int = 3):
        super().__init__()
        levels = _levels(image_size)
        if min(ngf, z_dim, sentence_dim, text_dim) < 1:
            raise InputError(f"GAN-INT-CLS sizes must be >= 1, got ngf {ngf}, z_dim {z_dim}, sentence_dim {sentence_dim}, text_dim {text_dim}")
        self.ngf, self.z_dim, self.sentence_dim, self.image_size, self.text_dim = ngf, z_dim, sentence_dim, image_size, text_dim
        widths = [ngf * min(2 ** (levels - 1 - i), 8) for i in range(levels)]  # 64 px: 8, 4, 2, 1 x ngf
        self.project_text = _text_projection(sentence_dim, text_dim)
        self.stem = nn.Sequential(nn.ConvTranspose2d(z_dim + text_dim, widths[0], 4, 1, 0, bias=False), nn.BatchNorm2d(widths[0]))
        self.bottleneck = ResidualBottleneck(widths[0], nn.ReLU(inplace=True))
        # the Lua code's second residual block, at 8x8: the transposed conv and BN feed it without a ReLU
        # (the block applies it after the sum), as the stem feeds the first one
        self.up_8 = nn.Sequential(nn.ConvTranspose2d(widths[0], widths[1], 4, 2, 1, bias=False), nn.BatchNorm2d(widths[1]))
        self.bottleneck_8 = ResidualBottleneck(widths[1], nn.ReLU(inplace=True))
        ups: list[nn.Module] = []
        for cin, cout in zip(widths[1:-1], widths[2:]):
            ups += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        self.up = nn.Sequential(*ups)
        self.to_rgb = nn.Sequential(nn.ConvTranspose2d(widths[-1], out_channels, 4, 2, 1, bias=False), nn.Tanh())
        _dcgan_init(self)

    def sample_noise(self, n: int, generator: Optional[torch.Generator] = None, truncation: Optional[float] = None) -> torch.Tensor:
        """z ~ N(0, I) [n, z_dim] (the paper's noise); ``truncation`` scales a (-2, 2)-truncated normal."""
        return gaussian_noise(n, self.z_dim, generator, truncation)

    def forward(self, z: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        dims = check_shape("z", z, ["B", self.z_dim])
        check_shape("sentence", sentence, [dims["B"], self.sentence_dim])
        text = self.project_text(sentence.to(z.dtype))
        h = self.stem(torch.cat((z, text), dim=1)[:, :, None, None])
        h = self.bottleneck_8(self.up_8(self.bottleneck(h)))
        return self.to_rgb(self.up(h))


@register_model("gan_int_cls_discriminator")
class GANINTCLSDiscriminator(nn.Module):
    """images [B, 3, S, S] + sentence [B, sentence_dim] -> logit [B] (high = real image matching its text).

    Split in :meth:`features` (the image path to 4x4) and :meth:`logits` (text join and head), so one pass
    over the real images serves both the right-text and the wrong-text terms of GAN-CLS.
    """

    def __init__(self, ndf: int = 64, sentence_dim: int = 384, image_size: int = 64, text_dim: int = TEXT_PROJECTION_DIM,
                 in_channels: int = 3, layout: str = "as_run"):
        super().__init__()
        levels = _levels(image_size)
        if layout not in D_LAYOUTS:
            raise InputError(f"GAN-INT-CLS discriminator layout must be one of {D_LAYOUTS}, got {layout!r}")
        self.ndf, self.sentence_dim, self.image_size, self.text_dim, self.layout = ndf, sentence_dim, image_size, text_dim, layout
        as_run = layout == "as_run"
        self.down, width = _down_stack(in_channels, ndf, levels, as_run)
        # main_cls_int.lua builds the 4x4 bottleneck but adds the undefined ``skipD`` (nil) to its ConcatTable
        # instead of it, so the block the official D ran is the identity; "residual" wires the block in.
        self.bottleneck = nn.Identity() if as_run else ResidualBottleneck(width, nn.LeakyReLU(0.2, inplace=True))
        # main_cls_int.lua's fcD: Linear -> BatchNormalization -> LeakyReLU (G's fcG has no BN)
        self.project_text = (nn.Sequential(nn.Linear(sentence_dim, text_dim), nn.BatchNorm1d(text_dim), nn.LeakyReLU(0.2, inplace=True))
                             if as_run else _text_projection(sentence_dim, text_dim))
        self.head = nn.Sequential(
            nn.Conv2d(width + text_dim, width, 1, 1, 0, bias=False), nn.BatchNorm2d(width), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 1, 4, 1, 0, bias=False),
        )
        _dcgan_init(self)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        check_shape("images", images, ["B", None, self.image_size, self.image_size])
        return self.bottleneck(self.down(images))

    def logits(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        check_shape("sentence", sentence, [features.shape[0], self.sentence_dim])
        text = self.project_text(sentence.to(features.dtype))[:, :, None, None].expand(-1, -1, 4, 4)
        return self.head(torch.cat((features, text), dim=1)).reshape(-1)

    def forward(self, images: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(images), sentence)


@register_model("gan_int_cls_style_encoder")
class StyleEncoder(nn.Module):
    """images [B, 3, S, S] -> z [B, z_dim]: the inverse of G's noise input (seed 004 eq. 6).

    The discriminator's convolution stack without the text, then Linear to z_dim. BatchNorm would make a
    single image's code depend on its batch, so the stack uses instance-free plain convolutions with
    LeakyReLU and a final linear layer: S(x) is a function of x alone.
    """

    def __init__(self, nf: int = 64, z_dim: int = 100, image_size: int = 64, in_channels: int = 3):
        super().__init__()
        levels = _levels(image_size)
        self.nf, self.z_dim, self.image_size = nf, z_dim, image_size
        layers: list[nn.Module] = []
        cin = in_channels
        for i in range(levels):
            cout = nf * min(2**i, 8)
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        self.convs = nn.Sequential(*layers)
        self.to_z = nn.Linear(cin * 16, z_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_shape("images", images, ["B", None, self.image_size, self.image_size])
        return self.to_z(self.convs(images).flatten(1))
