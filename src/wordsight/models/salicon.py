"""SALICON (Huang et al., ICCV 2015) as reimplemented by OpenSalicon (Thomas, 2016; seed 002).

Two VGG-16 streams with separate weights read the image at a fine (1200x1600) and a coarse (600x800)
scale. The coarse pool5 map is bilinearly upsampled to the fine pool5 size (38x50), the two are
concatenated (coarse first, as in OpenSalicon's ``finetune_salicon.prototxt``) and a 1x1 convolution
gives one channel of logits. Pooling rounds up (Caffe), which is what makes 1200x1600 -> 38x50.
Training uses a sigmoid cross-entropy against the fixation map at 38x50
(``wordsight.losses.saliency.salicon_loss``); conv1-conv2 are frozen (``lr_mult: 0`` in the prototxt).

Input sizes are arguments, so CPU runs can use e.g. fine 240x320 / coarse 120x160.
"""

from __future__ import annotations

import os
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError
from .vgg import NORMALIZATIONS, VGG16Features, check_images, load_torchvision_vgg16, normalize_images

__all__ = ["SALICON", "resize_images"]


def _size_pair(name: str, size: Sequence[int]) -> tuple[int, int]:
    if len(size) != 2 or any(int(s) != s or s < 32 for s in size):
        raise InputError(f"SALICON {name} must be two integers >= 32 (height, width), got {size!r}")
    return int(size[0]), int(size[1])


def resize_images(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize with anti-aliasing when shrinking; a no-op at the target size."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    shrinking = images.shape[-2] > size[0] or images.shape[-1] > size[1]
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=shrinking)


@register_model("salicon")
class SALICON(nn.Module):
    """Two-stream VGG-16 saliency network. ``forward`` -> logits [B, 1, h, w] at the fine pool5 size.

    Args:
        fine_size, coarse_size: (height, width) the image is resized to for each stream (paper setting
            via OpenSalicon: (1200, 1600) and (600, 800)).
        width: VGG channel multiplier (1.0 for pretrained weights; 1/16 in tests).
        frozen_blocks: VGG blocks without gradients in both streams (OpenSalicon: 2 = conv1, conv2).
        normalization: how [-1, 1] RGB input is converted (see ``vgg.NORMALIZATIONS``); "torchvision"
            suits torchvision's ImageNet weights, "opensalicon" reproduces OpenSalicon's Caffe feeding.
    """

    def __init__(
        self,
        fine_size: Sequence[int] = (1200, 1600),
        coarse_size: Sequence[int] = (600, 800),
        width: float = 1.0,
        frozen_blocks: int = 2,
        normalization: str = "torchvision",
    ):
        super().__init__()
        if normalization not in NORMALIZATIONS:
            raise InputError(f"unknown normalization {normalization!r}; choose one of {sorted(NORMALIZATIONS)}")
        self.fine_size = _size_pair("fine_size", fine_size)
        self.coarse_size = _size_pair("coarse_size", coarse_size)
        self.normalization = normalization
        self.fine = VGG16Features(width=width, ceil_mode=True, include_pool5=True)
        self.coarse = VGG16Features(width=width, ceil_mode=True, include_pool5=True)
        self.fine.freeze_blocks(frozen_blocks)
        self.coarse.freeze_blocks(frozen_blocks)
        self.saliency_map = nn.Conv2d(2 * self.fine.out_channels, 1, kernel_size=1)
        # OpenSalicon's prototxt fills this layer with constants 0 (weights and bias).
        nn.init.zeros_(self.saliency_map.weight)
        nn.init.zeros_(self.saliency_map.bias)

    @property
    def output_size(self) -> tuple[int, int]:
        """Logit map size: the fine stream's pool5 size (38x50 at 1200x1600)."""
        return self.fine.output_size(*self.fine_size)

    def load_vgg16_weights(self, path: str | os.PathLike | None = None) -> "SALICON":
        """Initialise both streams from torchvision's VGG-16 file (as OpenSalicon's untrained.caffemodel)."""
        load_torchvision_vgg16(path, self.fine)
        load_torchvision_vgg16(path, self.coarse)
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images("images", images)
        x = normalize_images(images, self.normalization)
        fine = self.fine(resize_images(x, self.fine_size))
        coarse = self.coarse(resize_images(x, self.coarse_size))
        # OpenSalicon's interpolation layer: scipy zoom, order 1, corners aligned.
        coarse = F.interpolate(coarse, size=fine.shape[-2:], mode="bilinear", align_corners=True)
        return self.saliency_map(torch.cat([coarse, fine], dim=1))

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Saliency probabilities (sigmoid of the logits) resized to the input size: [B, 1, H, W] in [0, 1]."""
        dims = check_images("images", images)
        probs = torch.sigmoid(self(images))
        return F.interpolate(probs, size=(dims["H"], dims["W"]), mode="bilinear", align_corners=True)
