"""SalGAN (Pan et al., "SalGAN: Visual Saliency Prediction with Generative Adversarial Networks", 2017).

Layer for layer as the official Lasagne code (imatge-upc/salgan, ``scripts/models/generator.py`` and
``discriminator.py``):

- Generator: VGG-16 conv1_1..conv5_3 (no pool5), then a mirrored decoder: 3x conv 512, x2 nearest
  upsampling, 3x conv 512, up, 3x conv 256, up, 2x conv 128, up, 2x conv 64, and a 1x1 convolution with a
  sigmoid. Only the last two encoder blocks are trained (``frozen_blocks=3``). Input height and width
  must be multiples of 16 (the paper uses 192x256).
- Discriminator on the 4-channel stack [map, RGB] (the official order): 1x1 conv to 3 channels, conv 32,
  4x4 max pool, 2x conv 64, 2x2 pool, 2x conv 64 (weight-normalised), 2x2 pool, FC 100 (tanh), FC 2
  (tanh), FC 1. It returns the *logit*; the official sigmoid lives in the loss
  (``binary_cross_entropy_with_logits``) for numerical stability.
"""

from __future__ import annotations

import os
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .vgg import NORMALIZATIONS, VGG16Features, check_images, load_torchvision_vgg16, normalize_images, scaled_channels

__all__ = [
    "SALGAN_DECODER_SPEC",
    "ConvStack",
    "LearnedCenterPrior",
    "SalGANDecoder",
    "SalGANDiscriminator",
    "SalGANDiscriminatorNet",
    "SalGANGenerator",
    "check_maps",
    "check_multiple_of",
    "lasagne_init_",
    "size_pair",
    "tile_text",
]

# The decoder mirrors VGG-16: (layer name, output channels at width 1) or "up" for x2 upsampling.
SALGAN_DECODER_SPEC: tuple = (
    ("uconv5_3", 512), ("uconv5_2", 512), ("uconv5_1", 512), "up",
    ("uconv4_3", 512), ("uconv4_2", 512), ("uconv4_1", 512), "up",
    ("uconv3_3", 256), ("uconv3_2", 256), ("uconv3_1", 256), "up",
    ("uconv2_2", 128), ("uconv2_1", 128), "up",
    ("uconv1_2", 64), ("uconv1_1", 64),
)  # fmt: skip


def check_maps(name: str, maps: torch.Tensor, batch: int, height: int, width: int) -> None:
    """Saliency maps must be float [B, 1, H, W] matching the images."""
    check_shape(name, maps, [batch, 1, height, width])
    if not maps.is_floating_point():
        raise InputError(f"{name}: expected a float tensor in [0, 1], got dtype {maps.dtype}")


def check_multiple_of(name: str, height: int, width: int, factor: int) -> None:
    if height % factor or width % factor:
        raise InputError(f"{name}: height and width must be multiples of {factor}, got {height}x{width}")


def tile_text(text_features: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """[B, T] -> [B, T, H, W] repeated over the spatial grid of ``like`` (a view, no copy)."""
    return text_features[:, :, None, None].expand(-1, -1, like.shape[-2], like.shape[-1])


def lasagne_init_(module: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every conv/linear layer: Lasagne's defaults, which the
    official SalGAN code trains its decoder and discriminator from (PyTorch's default init shrinks the
    signal through the 13-layer decoder until gradients vanish)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class ConvStack(nn.Module):
    """3x3 conv + ReLU layers with "pool" / "up" steps, built from a spec like ``SALGAN_DECODER_SPEC``.

    Layers named in ``text_layers`` read [features, tiled text] (``text_channels`` extra input channels):
    the "concatenate text with image features" of the text-aligned SalGAN (seed 000).
    """

    def __init__(
        self,
        spec: Sequence,
        in_channels: int,
        width: float = 1.0,
        text_channels: int = 0,
        text_layers: Sequence[str] = (),
        batch_norm: bool = False,
        upsample: str = "nearest",
    ):
        super().__init__()
        names = [item[0] for item in spec if item not in ("up", "pool")]
        unknown = set(text_layers) - set(names)
        if unknown:
            raise InputError(f"text_layers {sorted(unknown)} are not layers of this stack; known: {names}")
        self.spec = [item if item in ("up", "pool") else item[0] for item in spec]
        self.text_layers = tuple(text_layers)
        self.upsample = upsample
        c_in = in_channels
        for item in spec:
            if item in ("up", "pool"):
                continue
            name, c = item
            c_out = scaled_channels(c, width)
            extra = text_channels if name in self.text_layers else 0
            conv = nn.Conv2d(c_in + extra, c_out, kernel_size=3, padding=1)
            self.add_module(name, nn.Sequential(conv, nn.BatchNorm2d(c_out)) if batch_norm else conv)
            c_in = c_out
        self.out_channels = c_in

    def forward(self, x: torch.Tensor, text_features: torch.Tensor | None = None) -> torch.Tensor:
        for step in self.spec:
            if step == "pool":
                x = F.max_pool2d(x, 2)
            elif step == "up":
                # Lasagne's Upscale2DLayer repeats pixels (nearest); the small text model uses bilinear.
                align = None if self.upsample == "nearest" else True
                x = F.interpolate(x, scale_factor=2, mode=self.upsample, align_corners=align)
            else:
                if step in self.text_layers:
                    x = torch.cat([x, tile_text(text_features, x)], dim=1)
                x = F.relu(getattr(self, step)(x))
        return x


class SalGANDecoder(nn.Module):
    """The mirrored VGG decoder of the SalGAN generator, ending in 1x1 conv + sigmoid."""

    def __init__(self, in_channels: int, width: float = 1.0, text_channels: int = 0, text_layers: Sequence[str] = ()):
        super().__init__()
        self.stack = ConvStack(SALGAN_DECODER_SPEC, in_channels, width, text_channels, text_layers)
        self.output = nn.Conv2d(self.stack.out_channels, 1, kernel_size=1)
        lasagne_init_(self)

    def logits(self, x: torch.Tensor, text_features: torch.Tensor | None = None) -> torch.Tensor:
        return self.output(self.stack(x, text_features))

    def forward(self, x: torch.Tensor, text_features: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.logits(x, text_features))


class LearnedCenterPrior(nn.Module):
    """``num_gaussians`` 2-D Gaussians with learned means, widths and weights, summed into one map that is
    added to the saliency logits (the learned priors of ML-Net, Cornia et al. 2016, and SAM, Cornia et al.
    2018). Why: human fixations have a strong, data-set-wide centre bias that a small network trained from
    scratch learns only slowly through its padding; an explicit prior learns it in a few steps and leaves
    the convolutions the image-dependent part, which is what carries over to photos from other data sets.
    Weights start at zero, so an untrained prior changes nothing.
    """

    def __init__(self, num_gaussians: int = 8):
        super().__init__()
        if num_gaussians < 1:
            raise InputError(f"center_prior needs >= 1 Gaussian, got {num_gaussians}")
        g = torch.Generator().manual_seed(0)
        # means spread around the centre in [0, 1] image coordinates (x, y); widths ~ a quarter of the side
        self.mean = nn.Parameter(0.5 + 0.2 * (torch.rand(num_gaussians, 2, generator=g) - 0.5))
        self.log_std = nn.Parameter(torch.full((num_gaussians, 2), float(torch.log(torch.tensor(0.25)))))
        self.weight = nn.Parameter(torch.zeros(num_gaussians))

    def forward(self, height: int, width: int) -> torch.Tensor:
        """The prior [1, 1, height, width] (logit offsets)."""
        ys = (torch.arange(height, dtype=self.mean.dtype, device=self.mean.device) + 0.5) / height
        xs = (torch.arange(width, dtype=self.mean.dtype, device=self.mean.device) + 0.5) / width
        std = self.log_std.exp().clamp_min(1e-3)
        gx = torch.exp(-0.5 * ((xs[None, :] - self.mean[:, :1]) / std[:, :1]) ** 2)  # [K, W]
        gy = torch.exp(-0.5 * ((ys[None, :] - self.mean[:, 1:]) / std[:, 1:]) ** 2)  # [K, H]
        return torch.einsum("k,kh,kw->hw", self.weight, gy, gx)[None, None]


@register_model("salgan_generator")
class SalGANGenerator(nn.Module):
    """VGG-16 encoder (no pool5) + mirrored decoder. ``forward(images)`` -> saliency [B, 1, H, W] in (0, 1).

    Args:
        width: channel multiplier (1.0 for pretrained VGG weights).
        frozen_blocks: encoder blocks without gradients (official: 3, only conv4 and conv5 are trained).
        normalization: input convention for the encoder (see ``vgg.NORMALIZATIONS``).
        center_prior: number of Gaussians of a ``LearnedCenterPrior`` added to the logits (0 = none, the
            paper's network).
    """

    uses_text = False

    def __init__(self, width: float = 1.0, frozen_blocks: int = 3, normalization: str = "torchvision",
                 center_prior: int = 0):
        super().__init__()
        if normalization not in NORMALIZATIONS:
            raise InputError(f"unknown normalization {normalization!r}; choose one of {sorted(NORMALIZATIONS)}")
        self.normalization = normalization
        self.encoder = VGG16Features(width=width, ceil_mode=False, include_pool5=False)
        self.encoder.freeze_blocks(frozen_blocks)
        self.decoder = SalGANDecoder(self.encoder.out_channels, width)
        self.prior = LearnedCenterPrior(center_prior) if center_prior else None

    def load_vgg16_weights(self, path: str | os.PathLike | None = None) -> "SalGANGenerator":
        load_torchvision_vgg16(path, self.encoder)
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        dims = check_images("images", images)
        check_multiple_of("images", dims["H"], dims["W"], 16)
        logits = self.decoder.logits(self.encoder(normalize_images(images, self.normalization)))
        if self.prior is not None:
            logits = logits + self.prior(dims["H"], dims["W"])
        return torch.sigmoid(logits)


class SalGANDiscriminatorNet(nn.Module):
    """The SalGAN discriminator layers; with ``text_channels`` > 0, tiled text is concatenated before
    conv2_1 and conv3_1 (the text-aligned D1 of seed 000). Returns logits [B]."""

    TEXT_LAYERS = ("conv2_1", "conv3_1")

    def __init__(self, input_size: tuple[int, int], width: float = 1.0, text_channels: int = 0):
        super().__init__()
        self.input_size = input_size
        c1, c2 = scaled_channels(32, width), scaled_channels(64, width)
        t = text_channels
        self.merge = nn.Conv2d(4, 3, kernel_size=1)
        self.conv1 = nn.Conv2d(3, c1, 3, padding=1)
        self.conv2_1 = nn.Conv2d(c1 + t, c2, 3, padding=1)
        self.conv2_2 = nn.Conv2d(c2, c2, 3, padding=1)
        self.conv3_1 = nn.Conv2d(c2 + t, c2, 3, padding=1)
        self.conv3_2 = nn.Conv2d(c2, c2, 3, padding=1)
        h, w = input_size[0] // 16, input_size[1] // 16  # pools of 4, 2, 2
        self.fc4 = nn.Linear(c2 * h * w, 100)
        self.fc5 = nn.Linear(100, 2)
        self.fc6 = nn.Linear(2, 1)
        self.text_channels = text_channels
        lasagne_init_(self)
        # The official conv3_1/conv3_2 are weight-normalised (Salimans & Kingma 2016): w = g * v / ||v||.
        nn.utils.parametrizations.weight_norm(self.conv3_1)
        nn.utils.parametrizations.weight_norm(self.conv3_2)

    def forward(self, images: torch.Tensor, maps: torch.Tensor, text_features: torch.Tensor | None = None) -> torch.Tensor:
        dims = check_images("images", images)
        if (dims["H"], dims["W"]) != self.input_size:
            raise InputError(f"images: discriminator built for {self.input_size}, got {dims['H']}x{dims['W']}")
        check_maps("maps", maps, dims["B"], dims["H"], dims["W"])

        def with_text(x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, tile_text(text_features, x)], dim=1) if self.text_channels else x

        x = F.relu(self.merge(torch.cat([maps, images], dim=1)))  # Lasagne's default nonlinearity is ReLU
        x = F.max_pool2d(F.relu(self.conv1(x)), 4)
        x = F.max_pool2d(F.relu(self.conv2_2(F.relu(self.conv2_1(with_text(x))))), 2)
        x = F.max_pool2d(F.relu(self.conv3_2(F.relu(self.conv3_1(with_text(x))))), 2)
        x = torch.tanh(self.fc4(x.flatten(1)))
        x = torch.tanh(self.fc5(x))
        return self.fc6(x).squeeze(1)


def size_pair(name: str, size: Sequence[int], factor: int) -> tuple[int, int]:
    """Validate a (height, width) pair of positive multiples of ``factor``."""
    if len(size) != 2 or any(int(s) != s or s < factor or s % factor for s in size):
        raise InputError(f"{name} must be two positive multiples of {factor} (height, width), got {size!r}")
    return int(size[0]), int(size[1])


@register_model("salgan_discriminator")
class SalGANDiscriminator(nn.Module):
    """SalGAN discriminator on [map, image]. ``forward(images, maps)`` -> logits [B].

    Args:
        input_size: (height, width) of images and maps (multiples of 16; the FC layers depend on it).
        width: channel multiplier of the convolutions (32 and 64 at 1.0); FC widths stay 100, 2, 1.
    """

    uses_text = False

    def __init__(self, input_size: Sequence[int] = (192, 256), width: float = 1.0):
        super().__init__()
        self.input_size = size_pair("SalGANDiscriminator input_size", input_size, 16)
        self.net = SalGANDiscriminatorNet(self.input_size, width)

    def forward(self, images: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        return self.net(images, maps)
