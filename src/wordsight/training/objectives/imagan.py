"""IMAGAN training objective (seed 003): DF-GAN's losses, plus the U-Net discriminator's per-pixel terms.

One system, ``imagan``, with two switches (docs/imagan.md says why one system): ``model.generator`` =
``rdb`` (:class:`~wordsight.models.imagan.RDBGenerator`) or ``dfgan``, and ``model.discriminator`` =
``unet`` (:class:`~wordsight.models.imagan.UNetDiscriminator`) or ``dfgan``. Everything DF-GAN's objective
computes (hinge terms, mismatched pairs, hard negatives, MA-GP, the optional DAMSM terms) comes from
:class:`~wordsight.training.objectives.dfgan.DFGANObjective` unchanged. With the U-Net discriminator:

    L_D = L_D^DF-GAN + w_pix * (hinge_real(D_dec(x)) + hinge_fake(D_dec(G(z))))                 (per pixel)
          [+ w_mix * (hinge_fake(D_enc(x_mix, e)) + hinge_M(D_dec(x_mix)))                    (CutMix)
           + w_cons * ||D_dec(x_mix) - mix(D_dec(x), D_dec(G(z)), M)||^2]                     (consistency)
    L_G = L_G^DF-GAN - w_pix * mean(D_dec(G(z)))

with x_mix = mix(x, G(z), M) = M * x + (1 - M) * G(z) for a random CutMix box mask M (Schonfeld et al.,
CVPR 2020, section 3.2, eq. 4; the mixed image is fake for the encoder and M is the per-pixel target of
the decoder, as the official boschresearch/unetgan ``train_fns.py``). The paper's per-pixel terms are BCE;
these are hinge, as DF-GAN's. The decoder is unconditional, so it has no mismatched-pair term.

The encoder features the decoder needs are the ones DF-GAN's D step computes anyway: forward hooks on the
encoder record them during :meth:`DFGANObjective.d_step` / ``g_step`` (:func:`encoder_levels`), so the real
and fake images pass through the encoder once per step, as in DF-GAN.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ...config import Check, ConfigError, register_checks
from ...losses.adversarial import hinge_d_fake, hinge_d_real, hinge_g
from ...models.dfgan import DFDiscriminator, DFGenerator
from ...models.imagan import RDBGenerator, UNetDiscriminator
from ..objective import SYSTEMS, frozen_weights
from .dfgan import DFGANConfig, DFGANObjective

__all__ = ["IMAGANConfig", "IMAGANObjective", "cutmix_consistency", "cutmix_masks", "encoder_levels", "pixel_hinge_d"]

GENERATORS = ("rdb", "dfgan")
DISCRIMINATORS = ("unet", "dfgan")


@dataclass
class IMAGANConfig(DFGANConfig):
    """DF-GAN's options (sizes, MA-GP, DAMSM terms) plus the IMAGAN parts; defaults: the full IMAGAN."""

    generator: str = "rdb"  # rdb: Residual Dense Blocks after each up-block; dfgan: DF-GAN's generator
    discriminator: str = "unet"  # unet: U-Net discriminator with a per-pixel map; dfgan: DF-GAN's
    rdb_blocks: int = 1  # Residual Dense Blocks after each up-block
    rdb_growth: int = 16  # growth rate g: channels each dense conv adds
    rdb_layers: int = 4  # dense convs per block (RDN's C)
    rdb_scale: float = 0.2  # residual scaling of each block (ESRGAN; RDN uses 1)
    pixel_weight: float = 1.0  # weight of the per-pixel hinge terms (D and G); U-Net only
    cutmix: bool = False  # CutMix augmentation + consistency regularisation of the decoder; U-Net only
    cutmix_weight: float = 1.0  # weight of the CutMix augmentation terms (mixed image fake for the encoder, M for the decoder)
    consistency_weight: float = 1.0  # weight of the consistency term (eq. 4; 1 in the official code)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.discriminator != "unet" and self.cutmix:
            raise ConfigError("model.cutmix=true needs model.discriminator=unet (CutMix regularises the per-pixel decoder)")


register_checks(IMAGANConfig, {
    "generator": Check(choices=GENERATORS), "discriminator": Check(choices=DISCRIMINATORS),
    "rdb_blocks": Check(ge=0, note="0 = DF-GAN's up-blocks"), "rdb_growth": Check(ge=1), "rdb_layers": Check(ge=1),
    "rdb_scale": Check(gt=0), "pixel_weight": Check(ge=0), "cutmix_weight": Check(ge=0), "consistency_weight": Check(ge=0),
})


# ---- the per-pixel terms (pure functions of logits and masks) -----------------------------------------
def pixel_hinge_d(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean(M * relu(1 - D) + (1 - M) * relu(1 + D)) over every pixel: the discriminator's hinge loss with
    a per-pixel target M in {0, 1} (1 = real), broadcast to the logits' shape. M = 1 everywhere is
    :func:`hinge_d_real`, M = 0 :func:`hinge_d_fake`."""
    logits = logits.float()
    target = target.to(logits.dtype).expand_as(logits)
    return (target * F.relu(1.0 - logits) + (1.0 - target) * F.relu(1.0 + logits)).mean()


def cutmix_masks(n: int, size: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> torch.Tensor:
    """n CutMix masks [n, 1, size, size] in {0, 1}, 1 where the mixed image shows the real one.

    As the official ``mixup.CutMix``: lambda ~ U(0, 1) (Beta(1, 1)), a box of side size * sqrt(1 - lambda)
    around a uniform centre, clipped to the image, set to 0; then the mask is inverted with probability 1/2.
    One mask per sample (the official code draws one per batch)."""
    masks = torch.ones(n, 1, size, size, device=device)
    lam = torch.rand(n, generator=generator)
    centre = torch.randint(0, size, (n, 2), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    for i in range(n):
        half = int(size * float(torch.sqrt(1.0 - lam[i]))) // 2
        y, x = int(centre[i, 0]), int(centre[i, 1])
        masks[i, :, max(y - half, 0):min(y + half, size), max(x - half, 0):min(x + half, size)] = 0.0
        if flip[i]:
            masks[i] = 1.0 - masks[i]
    return masks


def cutmix_consistency(mixed_logits: torch.Tensor, real_logits: torch.Tensor, fake_logits: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
    """||D_dec(mix(x, G(z), M)) - mix(D_dec(x), D_dec(G(z)), M)||^2, averaged over pixels (Schonfeld et al.
    eq. 4; ``F.mse_loss`` as the official code), with mix(a, b, M) = M * a + (1 - M) * b. Both sides are
    discriminator outputs and both get gradients, as in the official code."""
    mask = mask.float()
    target = mask * real_logits.float() + (1.0 - mask) * fake_logits.float()
    return F.mse_loss(mixed_logits.float(), target)


@contextlib.contextmanager
def encoder_levels(D: UNetDiscriminator) -> Iterator[list[list[torch.Tensor]]]:
    """Inside the block, every pass of images through ``D``'s encoder appends its levels (the outputs of
    ``conv_img`` and of each down-block, as :meth:`UNetDiscriminator.encode` returns them) to the yielded
    list, one list per pass, in call order; the hooks are removed on exit."""
    passes: list[list[torch.Tensor]] = []

    def first(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        passes.append([output])

    def later(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        passes[-1].append(output)

    handles = [D.conv_img.register_forward_hook(first)] + [block.register_forward_hook(later) for block in D.blocks]
    try:
        yield passes
    finally:
        for handle in handles:
            handle.remove()


@SYSTEMS.register("imagan")
class IMAGANObjective(DFGANObjective):
    """DF-GAN's objective on IMAGAN's networks; with the U-Net discriminator, the per-pixel hinge terms and
    (``cutmix``) the CutMix augmentation and consistency terms are added to DF-GAN's D and G losses."""

    config_cls = IMAGANConfig
    summary = ("IMAGAN (seed 003): DF-GAN with Residual Dense Blocks in G (model.generator=rdb) and a U-Net D "
               "with per-pixel hinge and CutMix consistency (model.discriminator=unet)")

    @classmethod
    def from_config(cls, cfg: IMAGANConfig) -> "IMAGANObjective":
        sizes = {"nf": cfg.nf, "sentence_dim": cfg.sentence_dim, "image_size": cfg.image_size}
        if cfg.generator == "rdb":
            G = RDBGenerator(z_dim=cfg.z_dim, rdb_blocks=cfg.rdb_blocks, rdb_growth=cfg.rdb_growth,
                             rdb_layers=cfg.rdb_layers, rdb_scale=cfg.rdb_scale, **sizes)
        else:
            G = DFGenerator(z_dim=cfg.z_dim, **sizes)
        D_cls = UNetDiscriminator if cfg.discriminator == "unet" else DFDiscriminator
        return cls(G, D_cls(gamma_init=cfg.d_gamma_init, **sizes), cfg)

    @property
    def unet(self) -> bool:
        return isinstance(self.D, UNetDiscriminator)

    def d_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if not self.unet:
            return super().d_step(batch)
        with encoder_levels(self.D) as passes:
            out = super().d_step(batch)
        # DFGANObjective.d_step encodes the real images, then the (detached) fakes: one pass each
        if len(passes) != 2:
            raise RuntimeError(f"IMAGAN expected DF-GAN's D step to encode real and fake images once each, saw {len(passes)} passes")
        real_pixels, fake_pixels = self.D.decode(passes[0]), self.D.decode(passes[1])
        w = self.cfg.pixel_weight
        terms = {"d_pixel_real": hinge_d_real(real_pixels), "d_pixel_fake": hinge_d_fake(fake_pixels)}
        loss = out["loss"] + w * (terms["d_pixel_real"] + terms["d_pixel_fake"])
        if self.cfg.cutmix:
            mix_terms = self._cutmix_terms(batch, real_pixels, fake_pixels)
            terms.update(mix_terms)
            loss = (loss + self.cfg.cutmix_weight * (mix_terms["d_cutmix_global"] + mix_terms["d_cutmix_pixel"])
                    + self.cfg.consistency_weight * mix_terms["d_cutmix_consistency"])
        return {**out, **terms, "loss": loss}

    def _cutmix_terms(self, batch: dict[str, Any], real_pixels: torch.Tensor, fake_pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        images, sentence = self._unpack(batch)
        fake = self._fakes[-1][0].detach()  # this D step's fakes (DFGANObjective keeps them for the G step)
        mask = cutmix_masks(images.shape[0], self.cfg.image_size, device=images.device)
        mixed = mask * images + (1.0 - mask) * fake.to(images.dtype)
        levels = self.D.encode(mixed)
        mixed_pixels = self.D.decode(levels)
        return {
            "d_cutmix_global": hinge_d_fake(self.D.logits(levels[-1], sentence)),  # globally fake
            "d_cutmix_pixel": pixel_hinge_d(mixed_pixels, mask),  # real where M = 1
            "d_cutmix_consistency": cutmix_consistency(mixed_pixels, real_pixels, fake_pixels, mask),
        }

    def g_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if not self.unet:
            return super().g_step(batch)
        with encoder_levels(self.D) as passes:
            out = super().g_step(batch)
        if len(passes) != 1:
            raise RuntimeError(f"IMAGAN expected DF-GAN's G step to encode the fakes once, saw {len(passes)} passes")
        with frozen_weights(self.D):  # gradients reach G through the recorded encoder features, not D's weights
            pixels = self.D.decode(passes[0])
        g_pixel = hinge_g(pixels)
        adversarial = out.get("g_adversarial", out["loss"])
        return {**out, "g_adversarial": adversarial, "g_pixel": g_pixel, "loss": out["loss"] + self.cfg.pixel_weight * g_pixel}

