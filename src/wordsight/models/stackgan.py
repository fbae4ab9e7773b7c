"""StackGAN (Zhang et al., "StackGAN: Text to Photo-realistic Image Synthesis with Stacked Generative
Adversarial Networks", ICCV 2017; seeds 003 and 004), laid out as the official code
(hanzhanggit/StackGAN-Pytorch, ``code/model.py``).

* Conditioning augmentation (:class:`~wordsight.models.layers.ConditioningAugmentation`, ReLU as CA_NET):
  the text embedding gives mu and log sigma^2, c = mu + sigma * eps (eq. 3), c_dim 128.
* Stage-I G (STAGE1_G): Linear(z + c -> 8 ngf * 4 * 4, no bias) + BN1d + ReLU, then up-blocks (nearest x2,
  conv3x3, BN, ReLU) halving the width at each doubling, conv3x3 + Tanh at the Stage-I size (64 px
  official, any power of two >= 16 here).
* Stage-II G (STAGE2_G): the (detached) Stage-I image is encoded by conv3x3 + ReLU and two stride-2
  conv4x4 + BN + ReLU (to 4 ngf at a quarter of its size), joined with its own CA code replicated
  spatially by conv3x3 + BN + ReLU, refined by ``r_num`` residual blocks (conv3x3, BN, ReLU, conv3x3,
  BN, + x, ReLU) and decoded by up-blocks to ``upscale`` times the Stage-I size (4 official: 64 -> 256).
* D (STAGE1_D / STAGE2_D): stride-2 conv4x4 (BN + LeakyReLU(0.2), no BN on the first) doubling the width
  down to 4x4 (from ndf at 64 px; images under 64 px start wider so as to end at 8 ndf too); beyond 8 ndf (Stage-II's deeper stack), conv3x3 + BN + LeakyReLU halve it back to 8 ndf.
  The conditional head replicates the condition (G's CA mean, detached) at 4x4, concatenates, conv3x3 +
  BN + LeakyReLU, and a conv4x4 to one logit (the official code ends in a Sigmoid; we return the logit
  and use BCE-with-logits).

:class:`StackGANGenerator` holds Stage-I alone (``stages=1``) or Stage-I and Stage-II (``stages=2``); its
forward returns every stage's images, lowest resolution first (the generator protocol of
:mod:`wordsight.models.generator`). With ``stages=2`` Stage-I is frozen and kept in eval mode, as the
paper trains Stage-II "with Stage-I fixed".

    g1 = StackGANGenerator(ngf=128, z_dim=100, sentence_dim=1024, stage1_size=64)
    d1 = StackGANDiscriminator(ndf=64, c_dim=128, image_size=64)
    [x1] = g1(g1.sample_noise(4), sentence)
    g2 = StackGANGenerator(ngf=128, z_dim=100, sentence_dim=1024, stage1_size=64, stages=2, upscale=4)
    g2.stage1.load_state_dict(g1.stage1.state_dict())
    x1, x2 = g2(z, sentence)                                 # [4, 3, 64, 64], [4, 3, 256, 256]
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from .layers import ConditioningAugmentation, gaussian_noise

__all__ = ["StackGANGenerator", "StackGANDiscriminator", "StageIGenerator", "StageIIGenerator", "StackGANResBlock"]


def _doublings(size: int, what: str) -> int:
    """Number of resolution doublings from 4x4 to ``size``."""
    if not isinstance(size, int) or size < 16 or size & (size - 1):
        raise InputError(f"StackGAN {what} must be a power of two >= 16 (64 and 256 are the paper's), got {size!r}")
    return size.bit_length() - 3


def _up_block(cin: int, cout: int) -> nn.Sequential:
    """The official upBlock: nearest-neighbour x2, conv3x3 (no bias), BN, ReLU."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def stackgan_init(module: nn.Module) -> None:
    """The official weights_init: conv N(0, 0.02), BN weight N(1, 0.02), linear N(0, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class StackGANResBlock(nn.Module):
    """The official ResBlock: conv3x3, BN, ReLU, conv3x3, BN, + x, ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.block(x) + x)


class StageIGenerator(nn.Module):
    """(z, sentence) -> (Stage-I image [B, 3, S1, S1], mu, logvar)."""

    def __init__(self, ngf: int, z_dim: int, sentence_dim: int, c_dim: int, image_size: int):
        super().__init__()
        levels = _doublings(image_size, "stage1_size")
        self.image_size = image_size
        self.ca = ConditioningAugmentation(sentence_dim, c_dim, activation="relu")
        width = 8 * ngf  # the official gf_dim = GF_DIM * 8 at 4x4
        self.width = width
        self.fc = nn.Sequential(nn.Linear(z_dim + c_dim, width * 16, bias=False), nn.BatchNorm1d(width * 16), nn.ReLU(inplace=True))
        widths = [max(width >> i, 1) for i in range(levels + 1)]
        self.up = nn.Sequential(*[_up_block(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.to_rgb = nn.Sequential(nn.Conv2d(widths[-1], 3, 3, 1, 1, bias=False), nn.Tanh())

    def forward(self, z: torch.Tensor, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c, mu, logvar = self.ca(sentence)
        h = self.fc(torch.cat((z, c.to(z.dtype)), dim=1)).view(z.shape[0], self.width, 4, 4)
        return self.to_rgb(self.up(h)), mu, logvar


class StageIIGenerator(nn.Module):
    """(Stage-I image, sentence) -> (Stage-II image [B, 3, upscale S1, upscale S1], mu, logvar)."""

    def __init__(self, ngf: int, sentence_dim: int, c_dim: int, stage1_size: int, upscale: int = 4, r_num: int = 2):
        super().__init__()
        if upscale < 2 or upscale & (upscale - 1):
            raise InputError(f"StackGAN upscale must be a power of two >= 2 (4 is the paper's 64 -> 256), got {upscale!r}")
        _doublings(stage1_size, "stage1_size")
        self.ca = ConditioningAugmentation(sentence_dim, c_dim, activation="relu")
        self.encoder = nn.Sequential(
            nn.Conv2d(3, ngf, 3, 1, 1, bias=False), nn.ReLU(inplace=True),
            nn.Conv2d(ngf, 2 * ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ngf), nn.ReLU(inplace=True),
            nn.Conv2d(2 * ngf, 4 * ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * ngf), nn.ReLU(inplace=True),
        )
        self.joint = nn.Sequential(nn.Conv2d(4 * ngf + c_dim, 4 * ngf, 3, 1, 1, bias=False), nn.BatchNorm2d(4 * ngf), nn.ReLU(inplace=True))
        self.residual = nn.Sequential(*[StackGANResBlock(4 * ngf) for _ in range(r_num)])
        ups = (4 * upscale).bit_length() - 1  # from a quarter of the Stage-I size to upscale times it
        widths = [max((4 * ngf) >> i, 1) for i in range(ups + 1)]
        self.up = nn.Sequential(*[_up_block(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.to_rgb = nn.Sequential(nn.Conv2d(widths[-1], 3, 3, 1, 1, bias=False), nn.Tanh())

    def forward(self, stage1_image: torch.Tensor, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c, mu, logvar = self.ca(sentence)
        h = self.encoder(stage1_image)
        c = c.to(h.dtype)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        h = self.residual(self.joint(torch.cat((h, c), dim=1)))
        return self.to_rgb(self.up(h)), mu, logvar


@register_model("stackgan_generator")
class StackGANGenerator(nn.Module):
    """z [B, z_dim] + sentence [B, sentence_dim] -> [Stage-I images] or [Stage-I, Stage-II images]."""

    text_inputs = ("sentence",)

    def __init__(self, ngf: int = 128, z_dim: int = 100, sentence_dim: int = 1024, c_dim: int = 128,
                 stage1_size: int = 64, stages: int = 1, upscale: int = 4, r_num: int = 2):
        super().__init__()
        if stages not in (1, 2):
            raise InputError(f"StackGAN stages must be 1 or 2, got {stages!r}")
        self.ngf, self.z_dim, self.sentence_dim, self.c_dim = ngf, z_dim, sentence_dim, c_dim
        self.stage1_size, self.stages, self.upscale = stage1_size, stages, upscale
        self.image_size = stage1_size * (upscale if stages == 2 else 1)
        self.stage1 = StageIGenerator(ngf, z_dim, sentence_dim, c_dim, stage1_size)
        self.stage2 = StageIIGenerator(ngf, sentence_dim, c_dim, stage1_size, upscale, r_num) if stages == 2 else None
        stackgan_init(self)
        if self.stage2 is not None:
            self.stage1.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> "StackGANGenerator":
        super().train(mode)
        if self.stage2 is not None:
            self.stage1.eval()  # Stage-I is fixed while Stage-II trains: its BN keeps its running statistics
        return self

    def trained_parameters(self) -> list[nn.Parameter]:
        """The parameters this stage trains: Stage-I's for stages=1, Stage-II's for stages=2."""
        return list((self.stage2 or self.stage1).parameters())

    def sample_noise(self, n: int, generator: Optional[torch.Generator] = None, truncation: Optional[float] = None) -> torch.Tensor:
        """z ~ N(0, I) [n, z_dim]; ``truncation`` scales a (-2, 2)-truncated normal."""
        return gaussian_noise(n, self.z_dim, generator, truncation)

    def forward_with_codes(self, z: torch.Tensor, sentence: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """(every stage's images, mu, logvar of the last stage's conditioning augmentation)."""
        dims = check_shape("z", z, ["B", self.z_dim])
        check_shape("sentence", sentence, [dims["B"], self.sentence_dim])
        sentence = sentence.to(z.dtype)
        if self.stage2 is None:
            image, mu, logvar = self.stage1(z, sentence)
            return [image], mu, logvar
        with torch.no_grad():
            low, _, _ = self.stage1(z, sentence)
        high, mu, logvar = self.stage2(low, sentence)
        return [low, high], mu, logvar

    def forward(self, z: torch.Tensor, sentence: torch.Tensor) -> list[torch.Tensor]:
        return self.forward_with_codes(z, sentence)[0]


@register_model("stackgan_discriminator")
class StackGANDiscriminator(nn.Module):
    """images [B, 3, S, S] + condition [B, c_dim] (G's CA mean) -> logit [B] (high = real and matching).

    Split in :meth:`features` and :meth:`logits`, so one pass over the real images serves both the
    right-text and the wrong-text terms.
    """

    def __init__(self, ndf: int = 64, c_dim: int = 128, image_size: int = 64):
        super().__init__()
        levels = _doublings(image_size, "image_size")
        self.ndf, self.c_dim, self.image_size = ndf, c_dim, image_size
        # 64 px (STAGE1_D): ndf, 2, 4, 8 ndf at 4x4; a smaller image starts wider so that it still ends at 8 ndf
        width = ndf * 2 ** max(0, 4 - levels)
        layers: list[nn.Module] = [nn.Conv2d(3, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(levels - 1):
            layers += [nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2, inplace=True)]
            width *= 2
        while width > 8 * ndf:  # STAGE2_D: conv3x3_BN_LReLU back to 8 ndf
            layers += [nn.Conv2d(width, width // 2, 3, 1, 1, bias=False), nn.BatchNorm2d(width // 2), nn.LeakyReLU(0.2, inplace=True)]
            width //= 2
        self.width = width
        self.encode = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Conv2d(width + c_dim, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 1, 4, 4),
        )
        stackgan_init(self)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        check_shape("images", images, ["B", 3, self.image_size, self.image_size])
        return self.encode(images)

    def logits(self, features: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        check_shape("condition", condition, [features.shape[0], self.c_dim])
        c = condition.to(features.dtype)[:, :, None, None].expand(-1, -1, 4, 4)
        return self.head(torch.cat((features, c), dim=1)).flatten()

    def forward(self, images: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(images), condition)
