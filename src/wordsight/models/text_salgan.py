"""Text-aligned SalGAN (seed 000, Wu Shuwen, "Text Aligned SalGAN"): saliency conditioned on a sentence.

A sentence embedding [B, text_dim] (CLIP, MiniLM, ...; computed outside the model) is projected to
``text_channels`` by a linear layer, tiled over the spatial grid and concatenated with the image features
before chosen convolutions:

- Generator G1: text in two encoder and two decoder convolutions; G2: only in the two decoder ones.
- Discriminator D1: text concatenated with the image/map features; D2: no text (text is ignored).

Two architectures (``arch``):

- "full": the SalGAN generator and discriminator (``salgan.py``). G1's encoder text enters conv5_2 and
  conv5_3 of the VGG encoder, the decoder's in uconv5_3 and uconv5_2 (the bottleneck, where VGG features
  are most semantic); D1's text enters conv2_1 and conv3_1. For the VGG convolutions the text part is a
  separate zero-initialised branch (``TextBranch``) whose output is added to the pretrained convolution's
  pre-activation: a convolution over [features, text] equals conv_W(features) + conv_V(text), so this *is*
  the concatenation, with the pretrained weights W kept loadable and unchanged at initialisation.
- "small": the seed's simplified model that it reports results for (one pooling, one upsampling):
  3x conv 64, pool, 3x conv 128, bilinear x2, 2x conv 64, 1x1 conv + sigmoid, with batch norm as in the
  CLIP-SalGAN code the seed builds on. G1 puts text into the last two encoder convolutions (conv2_2,
  conv2_3) and both decoder convolutions; G2 into the decoder ones only. The small discriminator has two
  convolutions (the first reads [map, RGB]), a 2x2 pool and a linear layer; D1 concatenates text before
  the second convolution.

Seed 000's best setting is G1D2 (text in the generator, none in the discriminator).
"""

from __future__ import annotations

import os
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .salgan import ConvStack, SalGANDecoder, SalGANDiscriminatorNet, check_maps, check_multiple_of, size_pair, tile_text
from .vgg import NORMALIZATIONS, VGG16Features, check_images, load_torchvision_vgg16, normalize_images, scaled_channels

__all__ = ["TextBranch", "TextSalGANDiscriminator", "TextSalGANGenerator", "text_layers_for"]

ARCHS = ("full", "small")

SMALL_GENERATOR_SPEC: tuple = (
    ("conv1_1", 64), ("conv1_2", 64), ("conv1_3", 64), "pool",
    ("conv2_1", 128), ("conv2_2", 128), ("conv2_3", 128), "up",
    ("dconv1", 64), ("dconv2", 64),
)  # fmt: skip

# Which convolutions read the text, per architecture: (encoder layers for G1, decoder layers for G1/G2).
_GENERATOR_TEXT_LAYERS = {
    "full": (("conv5_2", "conv5_3"), ("uconv5_3", "uconv5_2")),
    "small": (("conv2_2", "conv2_3"), ("dconv1", "dconv2")),
}


def text_layers_for(arch: str, variant: str) -> tuple[str, ...]:
    """Names of the generator convolutions that read the text for ``arch`` and ``variant`` (G1/G2)."""
    encoder, decoder = _GENERATOR_TEXT_LAYERS[arch]
    return encoder + decoder if variant == "G1" else decoder


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {list(choices)}, got {value!r}")


def check_text(text: torch.Tensor | None, batch: int, text_dim: int, owner: str) -> torch.Tensor:
    if text is None:
        raise InputError(f"text: {owner} is conditioned on text; pass a sentence embedding [B, {text_dim}]")
    check_shape("text", text, [batch, text_dim])
    return text


class TextBranch(nn.Module):
    """The text part of a convolution over [features, tiled text], added to the image part's output.

    Zero-initialised, so a pretrained convolution behaves exactly as before training starts.
    """

    def __init__(self, text_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(text_channels, out_channels, kernel_size=3, padding=1, bias=False)
        nn.init.zeros_(self.conv.weight)

    def forward(self, pre_activation: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        return pre_activation + self.conv(tile_text(text_features, pre_activation))


@register_model("text_salgan_generator")
class TextSalGANGenerator(nn.Module):
    """``forward(images, text)`` -> saliency [B, 1, H, W] in (0, 1).

    Args:
        text_dim: size of the sentence embedding (CLIP ViT-B/32: 512, MiniLM: 384).
        variant: "G1" (text in encoder and decoder) or "G2" (decoder only).
        arch: "full" (SalGAN, H and W multiples of 16) or "small" (seed's model, multiples of 2).
        width: channel multiplier.
        text_channels: width of the projected text that is tiled and concatenated.
        frozen_blocks: VGG blocks without gradients ("full" only; SalGAN: 3).
        normalization: input convention for the encoder (see ``vgg.NORMALIZATIONS``).
    """

    uses_text = True

    def __init__(
        self,
        text_dim: int = 512,
        variant: str = "G1",
        arch: str = "full",
        width: float = 1.0,
        text_channels: int = 64,
        frozen_blocks: int = 3,
        normalization: str = "torchvision",
    ):
        super().__init__()
        _check_choice("variant", variant, ("G1", "G2"))
        _check_choice("arch", arch, ARCHS)
        _check_choice("normalization", normalization, sorted(NORMALIZATIONS))
        self.text_dim, self.variant, self.arch, self.normalization = text_dim, variant, arch, normalization
        self.text_layers = text_layers_for(arch, variant)
        self.text_proj = nn.Linear(text_dim, text_channels)
        if arch == "full":
            self.encoder = VGG16Features(width=width, ceil_mode=False, include_pool5=False)
            self.encoder.freeze_blocks(frozen_blocks)
            enc_layers = [n for n in self.text_layers if n in self.encoder.conv_names]
            self.encoder_text = nn.ModuleDict(
                {n: TextBranch(text_channels, getattr(self.encoder, n).out_channels) for n in enc_layers}
            )
            dec_layers = [n for n in self.text_layers if n not in enc_layers]
            self.decoder = SalGANDecoder(self.encoder.out_channels, width, text_channels, dec_layers)
        else:
            self.body = ConvStack(
                SMALL_GENERATOR_SPEC, 3, width, text_channels, self.text_layers, batch_norm=True, upsample="bilinear"
            )
            self.output = nn.Conv2d(self.body.out_channels, 1, kernel_size=1)

    def load_vgg16_weights(self, path: str | os.PathLike | None = None) -> "TextSalGANGenerator":
        if self.arch != "full":
            raise InputError("the 'small' text SalGAN has no VGG-16 encoder to load weights into")
        load_torchvision_vgg16(path, self.encoder)
        return self

    def forward(self, images: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        dims = check_images("images", images)
        check_multiple_of("images", dims["H"], dims["W"], 16 if self.arch == "full" else 2)
        t = self.text_proj(check_text(text, dims["B"], self.text_dim, "TextSalGANGenerator"))
        x = normalize_images(images, self.normalization)
        if self.arch == "small":
            return torch.sigmoid(self.output(self.body(x, t)))
        edits = {name: (lambda h, branch=branch: branch(h, t)) for name, branch in self.encoder_text.items()}
        return self.decoder(self.encoder(x, edits), t)


@register_model("text_salgan_discriminator")
class TextSalGANDiscriminator(nn.Module):
    """``forward(images, maps, text=None)`` -> logits [B]; D2 ignores ``text``.

    Args:
        text_dim: size of the sentence embedding.
        variant: "D1" (text concatenated with the features) or "D2" (no text).
        arch: "full" (SalGAN discriminator) or "small" (seed's two-conv discriminator).
        input_size: (height, width) of images and maps (the linear layers depend on it).
        width: channel multiplier; text_channels: width of the projected text.
    """

    def __init__(
        self,
        text_dim: int = 512,
        variant: str = "D1",
        arch: str = "full",
        input_size: Sequence[int] = (192, 256),
        width: float = 1.0,
        text_channels: int = 64,
    ):
        super().__init__()
        _check_choice("variant", variant, ("D1", "D2"))
        _check_choice("arch", arch, ARCHS)
        self.text_dim, self.variant, self.arch = text_dim, variant, arch
        self.input_size = size_pair("TextSalGANDiscriminator input_size", input_size, 16 if arch == "full" else 2)
        t = text_channels if self.uses_text else 0
        self.text_proj = nn.Linear(text_dim, text_channels) if self.uses_text else None
        if arch == "full":
            self.net = SalGANDiscriminatorNet(self.input_size, width, text_channels=t)
        else:
            c1, c2 = scaled_channels(64, width), scaled_channels(128, width)
            self.conv1 = nn.Conv2d(4, c1, 3, padding=1)
            self.conv2 = nn.Conv2d(c1 + t, c2, 3, padding=1)
            self.fc = nn.Linear(c2 * (self.input_size[0] // 2) * (self.input_size[1] // 2), 1)

    @property
    def uses_text(self) -> bool:
        return self.variant == "D1"

    def forward(self, images: torch.Tensor, maps: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        dims = check_images("images", images)
        t = None
        if self.uses_text:
            t = self.text_proj(check_text(text, dims["B"], self.text_dim, "TextSalGANDiscriminator D1"))
        if self.arch == "full":
            return self.net(images, maps, t)
        if (dims["H"], dims["W"]) != self.input_size:
            raise InputError(f"images: discriminator built for {self.input_size}, got {dims['H']}x{dims['W']}")
        check_maps("maps", maps, dims["B"], dims["H"], dims["W"])
        x = F.max_pool2d(F.leaky_relu(self.conv1(torch.cat([maps, images], dim=1)), 0.2), 2)
        if t is not None:
            x = torch.cat([x, tile_text(t, x)], dim=1)
        x = F.leaky_relu(self.conv2(x), 0.2)
        return self.fc(x.flatten(1)).squeeze(1)
