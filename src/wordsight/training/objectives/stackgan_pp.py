"""StackGAN++ training objective (Zhang et al., TPAMI 2018; seed 004 eqs. 11-14), weighted as the official
code (hanzhanggit/StackGAN-v2 ``trainer.py``: train_Dnet, train_Gnet; ``cfg/birds_3stages.yml``):

    for every branch i:  L_Di = BCE(D_i(x_i, mu), 1) + BCE(D_i(x_i, mu_wrong), 0) + BCE(D_i(G_i, mu), 0)
                                + w_u (BCE(D_i(x_i), 1) + BCE(D_i(x_i, wrong text), 1) + BCE(D_i(G_i), 0))
    L_G = sum_i [BCE(D_i(G_i, mu), 1) + w_u BCE(D_i(G_i), 1)] + lambda KL + w_c sum_i CC(G_i, G_(i-1))

x_i is the batch's real image box-downscaled to branch i's size, mu G's CA mean, detached in both steps
(the official train_Dnet detaches it; its train_Gnet does not, a departure noted in docs/stackgan.md),
mu_wrong the neighbour's text; w_u = 1 (UNCOND_LOSS), lambda = 2 (KL), w_c the colour consistency weight
(COLOR_LOSS: 0 for text-conditioned birds, 50 in the unconditional configs; CC is eq. 14 with
lambda_1 = 1, lambda_2 = 5, the lower branch detached). The official code keeps one Adam per D; one Adam
over all Ds with the same settings is the same update (Adam is per parameter), so the D phase sums the
branches' losses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ...config import ConfigError
from ...losses.adversarial import mismatched
from ...losses.conditioning import kl_to_standard_normal
from ...losses.multiscale import colour_consistency, joint_d_loss, joint_g_loss
from ...models.stackgan_pp import StackGANPPDiscriminator, StackGANPPGenerator, downscaled
from ...utils.checks import check_shape
from ..objective import SYSTEMS, SentenceConditionedGAN, frozen_weights


@dataclass
class StackGANPPConfig:
    """Defaults: the official birds_3stages.yml (64/128/256, GF_DIM 64, DF_DIM 64, Z 100, R_NUM 2, CA 128)."""

    branch_num: int = 3
    base_size: int = 64
    gf_dim: int = 64
    df_dim: int = 64
    z_dim: int = 100
    sentence_dim: int = 384
    c_dim: int = 128
    r_num: int = 2
    kl_weight: float = 2.0
    uncond_weight: float = 1.0
    colour_weight: float = 0.0
    image_size: int | None = None  # derived: the last branch's size, base_size * 2 ** (branch_num - 1)
    truncation: float | None = None  # sampling only

    def __post_init__(self) -> None:
        if min(self.gf_dim, self.df_dim, self.z_dim, self.sentence_dim, self.c_dim, self.branch_num) < 1 or self.r_num < 0:
            raise ConfigError("model.gf_dim, df_dim, z_dim, sentence_dim, c_dim and branch_num must be >= 1 and r_num >= 0")
        for name in ("kl_weight", "uncond_weight", "colour_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"model.{name} must be >= 0, got {getattr(self, name)}")
        size = self.base_size * 2 ** (self.branch_num - 1)
        if self.image_size is None:
            self.image_size = size
        elif self.image_size != size:
            raise ConfigError(f"model.image_size is {self.image_size} but base_size {self.base_size} with {self.branch_num} branches "
                              f"ends at {size} px; leave image_size out (it follows from base_size and branch_num)")


@SYSTEMS.register("stackgan-pp")
class StackGANPPObjective(SentenceConditionedGAN):
    """StackGAN++ over batches {"images": [B, 3, S, S] at the last branch's size, "sentence": [B, Ds]}."""

    display_name = "StackGAN++"
    discriminator_attr, discriminator_key = "Ds", "discriminators"
    config_cls = StackGANPPConfig
    summary = "StackGAN++ (Zhang et al. 2018): a tree of generators, one D per scale, joint conditional + unconditional loss"

    def __init__(self, G: StackGANPPGenerator, Ds: nn.ModuleList, cfg: StackGANPPConfig):
        super().__init__()
        self.G, self.Ds, self.cfg = G, Ds, cfg
        self._fakes: list[tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]] = []

    @classmethod
    def from_config(cls, cfg: StackGANPPConfig) -> "StackGANPPObjective":
        G = StackGANPPGenerator(gf_dim=cfg.gf_dim, z_dim=cfg.z_dim, sentence_dim=cfg.sentence_dim, c_dim=cfg.c_dim,
                                base_size=cfg.base_size, branch_num=cfg.branch_num, r_num=cfg.r_num)
        Ds = nn.ModuleList(StackGANPPDiscriminator(ndf=cfg.df_dim, c_dim=cfg.c_dim, image_size=s) for s in G.image_sizes)
        return cls(G, Ds, cfg)




    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        return generator(noise, conditions["sentence"].float())[-1]


    def _generate(self, sentence: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        z = torch.randn(sentence.shape[0], self.cfg.z_dim, device=sentence.device)
        return self.G.forward_with_codes(z, sentence)

    def d_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, sentence = self._unpack(batch)
        fakes, mu, logvar = self._generate(sentence)
        self._fakes.append((fakes, mu, logvar))
        cond = mu.detach()
        hard = batch.get("mismatch_sentence")
        if hard is not None:  # the one-word-changed caption: its CA mean is the wrong condition
            check_shape("batch['mismatch_sentence']", hard, list(sentence.shape))
            with torch.no_grad():
                wrong_cond = self.G.ca.encode(hard.float())[0]
        else:
            wrong_cond = mismatched(cond)
        w = self.cfg.uncond_weight
        out: dict[str, torch.Tensor] = {}
        total = 0.0
        for i, (D, fake) in enumerate(zip(self.Ds, fakes)):
            real_features = D.features(downscaled(images, D.image_size))
            real = (D.logits(real_features, cond), D.unconditional_logits(real_features) if w > 0 else None)
            # a real image with a wrong text is still real to the unconditional head: the same logits as `real`
            wrong = (D.logits(real_features, wrong_cond), real[1])
            fake_features = D.features(fake.detach())
            fake_pair = (D.logits(fake_features, cond), D.unconditional_logits(fake_features) if w > 0 else None)
            terms = joint_d_loss(real, wrong, fake_pair, w)
            total = total + terms["loss"]
            out[f"d{i}"] = terms["loss"].detach()
            for k in ("d_real", "d_wrong", "d_fake"):
                out[f"{k}{i}"] = terms[k].detach()
        out["loss"] = total
        return out

    def g_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if self._fakes:  # the D step's fakes of this micro-batch
            fakes, mu, logvar = self._fakes.pop(0)
        else:
            _, sentence = self._unpack(batch)
            fakes, mu, logvar = self._generate(sentence)
        cond = mu.detach()
        w = self.cfg.uncond_weight
        out: dict[str, torch.Tensor] = {}
        adversarial = 0.0
        with frozen_weights(self.Ds):
            for i, (D, fake) in enumerate(zip(self.Ds, fakes)):
                features = D.features(fake)
                term = joint_g_loss((D.logits(features, cond), D.unconditional_logits(features) if w > 0 else None), w)
                adversarial = adversarial + term
                out[f"g{i}"] = term.detach()
        kl = kl_to_standard_normal(mu.float(), logvar.float())
        loss = adversarial + self.cfg.kl_weight * kl
        if self.cfg.colour_weight > 0 and len(fakes) > 1:
            colour = sum(colour_consistency(high, low.detach(), 1.0, 5.0) for low, high in zip(fakes[:-1], fakes[1:]))
            loss = loss + self.cfg.colour_weight * colour
            out["colour"] = colour.detach()
        out.update({"loss": loss, "g_adversarial": adversarial.detach(), "kl": kl.detach()})
        return out
