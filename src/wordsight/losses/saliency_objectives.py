"""Training objectives of the saliency systems: ``d_step(batch)`` / ``g_step(batch)`` -> dict of losses.

The training loop owns optimisers and ``backward``; an objective only computes losses from modules it is
given. Batch keys: ``"images"`` [B, 3, H, W] RGB in [-1, 1], ``"maps"`` [B, 1, H, W] fixation densities
in [0, 1], ``"text"`` [B, D] sentence embeddings (text-aligned SalGAN only). Every returned dict has the
key ``"loss"`` (the tensor to back-propagate); other keys are detached values for logging.

Schedules (the loop asks the objective, so it needs no knowledge of the system):

- ``objective.set_epoch(epoch)``; ``objective.train_discriminator`` is False during the BCE-only warm-up
  (SalGAN: 15 epochs) and always False for SALICON.
- ``objective.updates_for(batch_index)`` -> the updates to run on that batch, in order: ("g",), ("d",)
  or ("d", "g"). After the warm-up SalGAN alternates, one batch for D, the next for G (official
  ``02-train.py``: "train generator with one batch and discriminator with next batch", starting with D);
  the text-aligned SalGAN updates D then G on every batch (the CLIP-SalGAN loop seed 000 builds on).

Note: ``g_step``'s loss also reaches D's parameters through D(I, S_hat); the loop must zero D's
gradients before a D update (or step only G's optimiser), as usual for GANs.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from ..utils.checks import InputError
from .saliency import (
    SALGAN_ALPHA,
    discriminator_loss,
    generator_adversarial_loss,
    salgan_content_loss,
    salgan_generator_loss,
    salicon_loss,
    salicon_target,
)

__all__ = ["SALICONObjective", "SaliencyGANObjective", "SalGANObjective", "TextSalGANObjective"]

Batch = Mapping[str, torch.Tensor]


def _require(batch: Batch, key: str, why: str) -> torch.Tensor:
    if key not in batch or batch[key] is None:
        raise InputError(f"batch has no {key!r} ({why}); keys present: {sorted(batch)}")
    return batch[key]


class SALICONObjective:
    """SALICON: sigmoid cross-entropy of the logits against the map resized to the logit size.

    No discriminator: ``d_step`` returns {} and ``train_discriminator`` is False.
    """

    train_discriminator = False

    def __init__(self, model: nn.Module, reduction: str = "mean"):
        self.model = model
        self.reduction = reduction

    def set_epoch(self, epoch: int) -> None:  # no schedule; kept so every objective has the same interface
        self.epoch = epoch

    def updates_for(self, batch_index: int) -> tuple[str, ...]:
        return ("g",)

    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {}

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        images = _require(batch, "images", "SALICON input")
        maps = _require(batch, "maps", "SALICON target")
        logits = self.model(images)
        target = salicon_target(maps.to(logits.dtype), tuple(logits.shape[-2:]))
        return {"loss": salicon_loss(logits, target, self.reduction)}


class SaliencyGANObjective:
    """SalGAN-style training: BCE-only warm-up, then alternating D and G updates.

    Args:
        generator: maps images (and text when ``generator.uses_text``) to probabilities [B, 1, H, W].
        discriminator: (images, maps[, text]) -> logits [B]; text is passed when ``uses_text``.
        alpha: weight of the content BCE in the generator loss (SalGAN eq. 5).
        warmup_epochs: epochs of content-only training before the adversarial phase.
        content_pool: average-pooling factor of the content BCE (SalGAN: 4; 1 = plain BCE).
        d_reduction: "mean" ((real + fake) / 2, SalGAN code) or "sum" (seed 000).
        alternate: True = one batch for D, the next for G (SalGAN); False = D then G on every batch.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        alpha: float = SALGAN_ALPHA,
        warmup_epochs: int = 15,
        content_pool: int = 4,
        d_reduction: str = "mean",
        alternate: bool = True,
    ):
        if d_reduction not in ("mean", "sum"):
            raise InputError(f"d_reduction must be 'mean' or 'sum', got {d_reduction!r}")
        self.alternate = alternate
        self.generator = generator
        self.discriminator = discriminator
        self.alpha = alpha
        self.warmup_epochs = warmup_epochs
        self.content_pool = content_pool
        self.d_reduction = d_reduction
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def train_discriminator(self) -> bool:
        return self.epoch >= self.warmup_epochs

    def updates_for(self, batch_index: int) -> tuple[str, ...]:
        if not self.train_discriminator:
            return ("g",)
        if not self.alternate:
            return ("d", "g")
        return ("d",) if batch_index % 2 == 0 else ("g",)

    def _generate(self, batch: Batch) -> torch.Tensor:
        images = _require(batch, "images", "generator input")
        if getattr(self.generator, "uses_text", False):
            return self.generator(images, _require(batch, "text", "the generator is text-conditioned"))
        return self.generator(images)

    def _discriminate(self, batch: Batch, maps: torch.Tensor) -> torch.Tensor:
        if getattr(self.discriminator, "uses_text", False):
            return self.discriminator(batch["images"], maps, _require(batch, "text", "the discriminator is text-conditioned"))
        return self.discriminator(batch["images"], maps)

    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        maps = _require(batch, "maps", "real saliency maps")
        with torch.no_grad():
            fake = self._generate(batch)
        real_logits = self._discriminate(batch, maps)
        fake_logits = self._discriminate(batch, fake)
        loss = discriminator_loss(real_logits, fake_logits, self.d_reduction)
        return {
            "loss": loss,
            "d_real": torch.sigmoid(real_logits).mean().detach(),
            "d_fake": torch.sigmoid(fake_logits).mean().detach(),
        }

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        maps = _require(batch, "maps", "saliency target")
        fake = self._generate(batch)
        content = salgan_content_loss(fake, maps.to(fake.dtype), self.content_pool)
        if not self.train_discriminator:
            return {"loss": content, "content": content.detach()}
        adversarial = generator_adversarial_loss(self._discriminate(batch, fake))
        loss = salgan_generator_loss(content, adversarial, self.alpha)
        return {"loss": loss, "content": content.detach(), "adversarial": adversarial.detach()}


class SalGANObjective(SaliencyGANObjective):
    """SalGAN defaults: alpha 1/20, 15 BCE-only epochs, content BCE on 4x4-pooled maps, D loss averaged."""


class TextSalGANObjective(SaliencyGANObjective):
    """Seed 000 defaults: plain BCE content loss (no pooling), L_D = real + fake, no warm-up, D and G
    updated on every batch.

    The seed does not state alpha; SalGAN's 0.05 is used.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        alpha: float = SALGAN_ALPHA,
        warmup_epochs: int = 0,
        content_pool: int = 1,
        d_reduction: str = "sum",
        alternate: bool = False,
    ):
        super().__init__(generator, discriminator, alpha, warmup_epochs, content_pool, d_reduction, alternate)
