"""DualAttnGAN training objective (Cai et al. 2019; seed 001): AttnGAN's losses, discriminators, DAMSM
terms and settings (``objectives/attngan.py``) on DualAttnGAN's generator (``models/dualattngan.py``).
Seed 001 trained it with the AttnGAN code's trainer and bird_attn2.yml, changing only the generator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...models.dualattngan import DualAttnGANGenerator
from ..objective import SYSTEMS
from .attngan import AttnGANConfig, AttnGANObjective


@dataclass
class DualAttnGANConfig(AttnGANConfig):
    """AttnGAN's options plus the Dual Attention Module's: ``compression`` (seed 001's memory-saving channel
    attention) and ``inverted_residual`` (MobileNetV2 inverted residuals in place of the GLU residual blocks,
    the paper's layers that seed 001 left out)."""

    compression: bool = False
    inverted_residual: bool = False

    def generator_kwargs(self) -> dict[str, Any]:
        return {**super().generator_kwargs(), "compression": self.compression, "inverted_residual": self.inverted_residual}


@SYSTEMS.register("dualattngan")
class DualAttnGANObjective(AttnGANObjective):
    display_name = "DualAttnGAN"
    config_cls = DualAttnGANConfig
    generator_cls = DualAttnGANGenerator
    summary = "DualAttnGAN (Cai et al. 2019): AttnGAN with textual + visual (channel, spatial) attention in later stages"
