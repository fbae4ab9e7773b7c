"""Tiny image sets and extractors shared by the metric tests (no downloaded weights), as fixtures."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset


class TinyExtractorNet(nn.Module):
    """Randomly initialised conv net: uint8 [B,3,H,W] -> {"features": [B,16], "logits": [B,10]}."""

    calls: list[int] = []  # class-level, so copies made by the extractor wrapper still report here

    def __init__(self, seed: int = 0, width: int = 16):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.head = nn.Linear(width, 10)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 1.5)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        TinyExtractorNet.calls.append(images.shape[0])
        x = images.float() / 127.5 - 1.0
        feats = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return {"features": feats, "logits": self.head(feats)}


class UInt8Images(Dataset):
    """A map-style Dataset of uint8 [3,H,W] tensors, as torch-fidelity expects."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def random_images(n: int, size: int = 16, seed: int = 0, brightness: float = 0.0) -> torch.Tensor:
    """uint8 [n,3,size,size]: smooth random blobs (so features vary) shifted by ``brightness``."""
    gen = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=gen)
    up = nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    noise = torch.rand(n, 3, size, size, generator=gen) * 0.2
    return ((up * 0.8 + noise + brightness).clamp(0, 1) * 255).round().to(torch.uint8)


@pytest.fixture(scope="session")
def tiny_net_cls():
    return TinyExtractorNet


@pytest.fixture(scope="session")
def uint8_dataset_cls():
    return UInt8Images


@pytest.fixture(scope="session")
def make_images():
    return random_images
