"""AttnGAN training objective (Xu et al., CVPR 2018; seed 004 eqs. 9-14), weighted as the official code
(taoxugit/AttnGAN ``code/trainer.py`` and ``code/miscc/losses.py``; ``cfg/bird_attn2.yml``):

    for every stage i:
      L_Di = (BCE(D_i(x_i), 1) + BCE(D_i(x_i, e), 1)) / 2
             + (BCE(D_i(G_i), 0) + BCE(D_i(G_i, e), 0) + BCE(D_i(x_i, e_wrong), 0)) / 3      (discriminator_loss)
    L_G = sum_i [BCE(D_i(G_i), 1) + BCE(D_i(G_i, e), 1)]
          + lambda (L1^w + L2^w + L1^s + L2^s)(final image, words, e) + w_kl KL(N(mu, sigma) || N(0, I))

e is the caption's DAMSM sentence vector (not the CA code: the official D sees sent_emb), e_wrong the
neighbour's, x_i the real image box-downscaled to stage i's size; the DAMSM terms (eq. 14: word-level eqs.
9-10 and sentence-level, both directions, eqs. 11-13) come from the frozen DAMSM image encoder on the last
stage's images against the caption's words and sentence, with same-class pairs left out when the batch has
labels (AttnGAN's class ids). lambda = 5 (birds; COCO 50), gamma1 4, gamma2 5, gamma3 10, KL weight 1.

Words and sentence come from the frozen DAMSM text encoder of ``model.damsm_path`` on the batch's
captions, as in the official trainer (it runs text_encoder on every batch). The run's data must be
conditioned by that same encoder (``data.text_encoder=bilstm``, ``data.text_encoder_path=<same folder>``),
so that the exported pipeline encodes captions as training did; :meth:`AttnGANObjective.check_data` says so.
With hard negatives in the batch (``mismatch_sentence``) the wrong-text term is the mean of the in-batch
and hard-negative terms, as in our other systems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ...config import ConfigError
from ...losses.adversarial import bce_d_fake, bce_d_real, bce_g, mismatched
from ...losses.conditioning import kl_to_standard_normal
from ...losses.damsm import GAMMA1, GAMMA2, GAMMA3, sentence_loss, words_loss
from ...models.attngan import AttnGANGenerator
from ...models.damsm import load_damsm_pair
from ...models.stackgan_pp import StackGANPPDiscriminator, downscaled
from ...text.bilstm import ATTNGAN_WORDS_NUM
from ...utils.checks import InputError, check_shape
from ..objective import SYSTEMS, SentenceConditionedGAN, frozen_weights


@dataclass
class AttnGANConfig:
    """Defaults: the official bird_attn2.yml (64/128/256, GF_DIM 32, DF_DIM 64, Z 100, R_NUM 2, CA 100,
    DAMSM embedding 256, LAMBDA 5, gamma 4/5/10, 18 words)."""

    damsm_path: str = ""  # the `wordsight train damsm` folder (text_encoder/ + image_encoder/); required
    branch_num: int = 3
    base_size: int = 64
    gf_dim: int = 32
    df_dim: int = 64
    z_dim: int = 100
    sentence_dim: int = 256  # the DAMSM embedding size (words and sentence)
    c_dim: int = 100
    r_num: int = 2
    words_num: int = ATTNGAN_WORDS_NUM  # word features are padded/truncated to this many (cfg.TEXT.WORDS_NUM)
    damsm_weight: float = 5.0  # TRAIN.SMOOTH.LAMBDA
    gamma1: float = GAMMA1
    gamma2: float = GAMMA2
    gamma3: float = GAMMA3
    kl_weight: float = 1.0
    image_size: int | None = None  # derived: base_size * 2 ** (branch_num - 1)
    truncation: float | None = None  # sampling only

    def __post_init__(self) -> None:
        if not self.damsm_path:
            raise ConfigError("AttnGAN needs model.damsm_path=<a folder written by 'wordsight train damsm'>: its text encoder "
                              "gives the word features and its image encoder the DAMSM loss")
        if min(self.gf_dim, self.df_dim, self.z_dim, self.sentence_dim, self.c_dim, self.branch_num, self.words_num) < 1 or self.r_num < 0:
            raise ConfigError("model.gf_dim, df_dim, z_dim, sentence_dim, c_dim, branch_num and words_num must be >= 1 and r_num >= 0")
        for name in ("damsm_weight", "kl_weight", "gamma1", "gamma2", "gamma3"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"model.{name} must be >= 0, got {getattr(self, name)}")
        size = self.base_size * 2 ** (self.branch_num - 1)
        if self.image_size is None:
            self.image_size = size
        elif self.image_size != size:
            raise ConfigError(f"model.image_size is {self.image_size} but base_size {self.base_size} with {self.branch_num} branches "
                              f"ends at {size} px; leave image_size out (it follows from base_size and branch_num)")

    def generator_kwargs(self) -> dict[str, Any]:
        return dict(gf_dim=self.gf_dim, z_dim=self.z_dim, text_dim=self.sentence_dim, c_dim=self.c_dim,
                    base_size=self.base_size, branch_num=self.branch_num, r_num=self.r_num)


def attngan_d_loss(real: torch.Tensor, real_cond: torch.Tensor, fake: torch.Tensor, fake_cond: torch.Tensor,
                   wrong_cond: torch.Tensor) -> dict[str, torch.Tensor]:
    """The official discriminator_loss on logits: (real_u + real_c) / 2 + (fake_u + fake_c + wrong_c) / 3."""
    terms = {"d_real": bce_d_real(real), "d_real_cond": bce_d_real(real_cond), "d_fake": bce_d_fake(fake),
             "d_fake_cond": bce_d_fake(fake_cond), "d_wrong": bce_d_fake(wrong_cond)}
    loss = (terms["d_real"] + terms["d_real_cond"]) / 2 + (terms["d_fake"] + terms["d_fake_cond"] + terms["d_wrong"]) / 3
    return {"loss": loss, **terms}


def padded_text_features(features: Any, length: int) -> dict[str, torch.Tensor]:
    """{"sentence", "words" [B, length, D], "mask" [B, length]}: word features padded with zeros (or cut) to
    ``length``, so that batches of captions of any length stack."""
    words, mask = features.words, features.mask
    t = words.shape[1]
    if t > length:
        words, mask = words[:, :length], mask[:, :length]
    elif t < length:
        words = F.pad(words, (0, 0, 0, length - t))
        mask = F.pad(mask, (0, length - t), value=False)
    return {"sentence": features.sentence, "words": words, "mask": mask}


@SYSTEMS.register("attngan")
class AttnGANObjective(SentenceConditionedGAN):
    """AttnGAN over batches {"images": [B, 3, S, S] at the last stage's size, "captions": list[str], ...}."""

    display_name = "AttnGAN"
    discriminator_attr, discriminator_key = "Ds", "discriminators"
    config_cls = AttnGANConfig
    generator_cls: type[AttnGANGenerator] = AttnGANGenerator
    summary = "AttnGAN (Xu et al. 2018): word attention in every later stage, the DAMSM loss on the generator"

    def __init__(self, G: AttnGANGenerator, Ds: nn.ModuleList, cfg: AttnGANConfig, text_encoder: nn.Module, image_encoder: nn.Module):
        super().__init__()
        self.G, self.Ds, self.cfg = G, Ds, cfg
        # frozen, not in networks() (so not in checkpoints): reloaded from cfg.damsm_path
        self.text_encoder, self.damsm_image_encoder = text_encoder, image_encoder
        self._fakes: list[Any] = []

    @classmethod
    def from_config(cls, cfg: AttnGANConfig) -> "AttnGANObjective":
        text_encoder, image_encoder = load_damsm_pair(cfg.damsm_path, what="model.damsm_path", error=ConfigError)
        for name, module in (("text", text_encoder), ("image", image_encoder)):
            got = getattr(module, "sentence_dim", None) or getattr(module, "embed_dim", None)
            if got != cfg.sentence_dim:
                raise ConfigError(f"model.damsm_path: the DAMSM {name} encoder at {cfg.damsm_path} embeds into {got} dimensions, "
                                  f"but model.sentence_dim is {cfg.sentence_dim}; set model.sentence_dim={got}")
        G = cls.generator_cls(**cfg.generator_kwargs())
        Ds = nn.ModuleList(StackGANPPDiscriminator(ndf=cfg.df_dim, c_dim=cfg.sentence_dim, image_size=s) for s in G.image_sizes)
        return cls(G, Ds, cfg, text_encoder, image_encoder)


    def train(self, mode: bool = True) -> "AttnGANObjective":
        super().train(mode)
        self.text_encoder.eval()  # fixed networks: no dropout, BN on running statistics
        self.damsm_image_encoder.eval()
        return self

    def check_data(self, data: Any) -> None:
        theirs = getattr(data, "text_encoder", None)
        if theirs is None:
            return  # e.g. random tensors in tests; the batches' captions are still encoded by our encoder
        hint = (f"set data.text_encoder=bilstm data.text_encoder_path={self.cfg.damsm_path} (the DAMSM of model.damsm_path), "
                "so that the exported pipeline encodes captions as training does")
        mine = self.text_encoder.state_dict()
        other = theirs.state_dict() if isinstance(theirs, nn.Module) else {}
        same = set(mine) == set(other) and all(torch.equal(mine[k].cpu(), other[k].cpu()) for k in mine)
        if not same:
            raise ConfigError(f"{self.display_name} conditions on the DAMSM text encoder of model.damsm_path, but the run's data "
                              f"was encoded by another text encoder; {hint}")
        if getattr(data, "whitening", None) is not None:
            raise ConfigError(f"{self.display_name} uses the DAMSM sentence vectors as they are; set data.sentence_whitening=0")

    # ---- text ------------------------------------------------------------------------------------
    def encode_captions(self, captions: Any) -> dict[str, torch.Tensor]:
        """The frozen DAMSM text features of ``captions`` (fp32, no gradients), words padded to words_num."""
        if not isinstance(captions, (list, tuple)) or not captions:
            raise InputError(f"{self.display_name} batches need 'captions' (a list of strings: the word features come from them)")
        device = next(self.text_encoder.parameters()).device
        with torch.no_grad(), torch.autocast(device.type, enabled=False):
            features = self.text_encoder.encode(list(captions))
        return {k: (v.float() if v.is_floating_point() else v) for k, v in padded_text_features(features, self.cfg.words_num).items()}

    def conditions(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return self.encode_captions(batch.get("captions"))

    def _unpack_text(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if "images" not in batch:
            raise InputError(f"{self.display_name} batches need 'images' and 'captions'; got keys {sorted(batch)}")
        size = self.cfg.image_size
        dims = check_shape("batch['images']", batch["images"], ["B", 3, size, size])
        text = self.encode_captions(batch.get("captions"))
        if text["sentence"].shape[0] != dims["B"]:
            raise InputError(f"batch has {dims['B']} images but {text['sentence'].shape[0]} captions")
        return batch["images"], text

    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        return generator(noise, conditions["sentence"].float(), conditions["words"].float(), conditions["mask"])[-1]

    def _generate(self, text: dict[str, torch.Tensor]) -> Any:
        z = torch.randn(text["sentence"].shape[0], self.cfg.z_dim, device=text["sentence"].device)
        return self.G.forward_with_attention(z, text["sentence"], text["words"], text["mask"])

    # ---- losses ----------------------------------------------------------------------------------
    def d_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, text = self._unpack_text(batch)
        out_g = self._generate(text)
        self._fakes.append((out_g, text))
        sentence = text["sentence"]
        hard = batch.get("mismatch_sentence")
        if hard is not None:
            check_shape("batch['mismatch_sentence']", hard, list(sentence.shape))
        out: dict[str, torch.Tensor] = {}
        total = 0.0
        for i, (D, fake) in enumerate(zip(self.Ds, out_g.images)):
            real_features = D.features(downscaled(images, D.image_size))
            fake_features = D.features(fake.detach())
            real_u, real_c = D.unconditional_logits(real_features), D.logits(real_features, sentence)
            fake_u, fake_c = D.unconditional_logits(fake_features), D.logits(fake_features, sentence)
            terms = attngan_d_loss(real_u, real_c, fake_u, fake_c, D.logits(real_features, mismatched(sentence)))
            if hard is not None:  # the one-word-changed caption as a second wrong text
                with_hard = attngan_d_loss(real_u, real_c, fake_u, fake_c, D.logits(real_features, hard.float()))
                terms = {k: (terms[k] + with_hard[k]) / 2 for k in terms}
            total = total + terms["loss"]
            out[f"d{i}"] = terms["loss"].detach()
            out[f"d_wrong{i}"] = terms["d_wrong"].detach()
        out["loss"] = total
        return out

    def g_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if self._fakes:  # the D step's fakes of this micro-batch
            out_g, text = self._fakes.pop(0)
        else:
            _, text = self._unpack_text(batch)
            out_g = self._generate(text)
        sentence = text["sentence"]
        out: dict[str, torch.Tensor] = {}
        adversarial = 0.0
        with frozen_weights(self.Ds):
            for i, (D, fake) in enumerate(zip(self.Ds, out_g.images)):
                features = D.features(fake)
                term = bce_g(D.unconditional_logits(features)) + bce_g(D.logits(features, sentence))
                adversarial = adversarial + term
                out[f"g{i}"] = term.detach()
        labels = batch.get("label")
        labels = labels.to(sentence.device) if isinstance(labels, torch.Tensor) else None
        regions, image_global = self.damsm_image_encoder(out_g.images[-1])  # gradients reach G only
        c = self.cfg
        w = words_loss(regions, text["words"], text["mask"], labels, c.gamma1, c.gamma2, c.gamma3)
        s = sentence_loss(image_global, sentence, labels, c.gamma3)
        damsm_words, damsm_sentence = w.total, s.total
        kl = kl_to_standard_normal(out_g.mu.float(), out_g.logvar.float())
        loss = adversarial + c.damsm_weight * (damsm_words + damsm_sentence) + c.kl_weight * kl
        out.update({"loss": loss, "g_adversarial": adversarial.detach(), "damsm_words": damsm_words.detach(),
                    "damsm_sentence": damsm_sentence.detach(), "kl": kl.detach()})
        return out
