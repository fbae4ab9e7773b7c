"""DF-GAN training objective (Tao et al., CVPR 2022, section 3.4; official ``code/lib/modules.py``).

One D step reuses a single pass over the real images for three terms, as the official code does:

    L_D = hinge_real(D(x, e)) + (hinge_fake(D(G(z, e), e)) + hinge_fake(D(x_mis, e))) / 2 + MA-GP
    L_G = -D(G(z, e), e)

where x_mis pairs each real image's features with the next sample's sentence and MA-GP is
k * E||grad_(x, e) D(x, e)||^p with k = 2, p = 6 (eq. 3). The fake images of the D step are kept (with
their graph) and reused by the G step, so G runs forward once per iteration, again as in the official code.

Not in the paper: when the batch holds ``mismatch_sentence`` (hard negatives, the true caption with one
attribute word changed; ``data.hard_negatives`` of the synthetic world) the mismatch term is the mean of
the in-batch term and the hard-negative term, hinge_fake(D(x, e_hard)).

Not in DF-GAN, from AttnGAN (eq. 14): with ``damsm_sentence_weight`` lambda > 0 the generator loss adds
lambda * (L1^s + L2^s), the sentence-level DAMSM loss between a frozen DAMSM image encoder's global vector
of each fake image and the sentence vectors of the batch (its own caption is the match, the batch's other
captions the negatives, same-class captions left out when the batch holds ``label``). The sentence
vectors must live in that DAMSM's space: condition on the same DAMSM folder's BiLSTM
(``data.text_encoder=bilstm``). AttnGAN also adds the word-level terms; they need word features in the
batch, which DF-GAN's data does not carry. With ``damsm_hard_negative_weight`` mu > 0 and hard negatives in
the batch, G's loss also adds mu * softplus(gamma3 (cos(v, e_hard) - cos(v, e))): the same DAMSM posterior
over just the true caption and its one-word-changed twin (not in AttnGAN).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...config import ConfigError
from ...losses.adversarial import hinge_d_fake, hinge_d_real, hinge_g, ma_gp, mismatched
from ...losses.damsm import GAMMA3, sentence_hard_negative_loss, sentence_loss
from ...models.damsm import IMAGE_ENCODER_DIR, load_damsm_part
from ...models.dfgan import DFDiscriminator, DFGenerator, truncated_noise
from ...utils.checks import InputError, check_shape
from ..config import OptimizerConfig
from ..objective import SYSTEMS, GANObjective, GeneratorDiscriminatorPair, frozen_weights


@dataclass
class DFGANConfig:
    """DF-GAN sizes and loss weights; defaults are the paper's bird config."""

    nf: int = 32
    z_dim: int = 100
    sentence_dim: int = 256
    image_size: int = 64
    ma_gp_k: float = 2.0
    ma_gp_p: float = 6.0
    truncation: float | None = None  # sampling only; the paper's test-time setting is 0.88
    # initial gamma of D's residual blocks; 0 is the official D_Block (docs/dfgan.md, "Why shape lags")
    d_gamma_init: float = 0.0
    # AttnGAN's DAMSM loss on G (sentence terms of eq. 14), weight lambda; 0 = DF-GAN as published
    damsm_sentence_weight: float = 0.0
    damsm_path: str | None = None  # a `wordsight train damsm` folder (or its image_encoder/); needed when the weight > 0
    damsm_gamma3: float = GAMMA3
    # weight mu of a two-way DAMSM term on G: each fake against its caption and its hard negative (the batch's
    # mismatch_sentence, data.hard_negatives); needs damsm_sentence_weight > 0's encoder. 0 = off
    damsm_hard_negative_weight: float = 0.0
    # ---- speed options (docs/dfgan.md, "Speed options"); the defaults are the exact official recipe ----
    # lazy MA-GP (StyleGAN2's lazy regularisation): the penalty on every ma_gp_every-th D step only, weighted by
    # ma_gp_every so its mean over steps is unchanged; the other D steps need no double backward. 1 = every step
    ma_gp_every: int = 1
    # one matmul for the first layers of all of G's fusion MLPs and one batched matmul per width for the second
    # layers (DFGenerator(fused_affine=True)): the same function and parameters, only the rounding differs
    fused_affine: bool = False
    # torch.compile G and the D passes that need no double backward (the fake passes; the real pass on D steps
    # without MA-GP); the first steps pay the compile time
    compile: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.ma_gp_every, int) or isinstance(self.ma_gp_every, bool) or self.ma_gp_every < 1:
            raise ConfigError(f"model.ma_gp_every must be an integer >= 1 (1 = MA-GP on every D step), got {self.ma_gp_every!r}")
        if self.nf < 1 or self.z_dim < 1 or self.sentence_dim < 1:
            raise ConfigError(f"model.nf, z_dim and sentence_dim must be >= 1, got {self.nf}, {self.z_dim}, {self.sentence_dim}")
        if not self.damsm_sentence_weight >= 0:
            raise ConfigError(f"model.damsm_sentence_weight must be >= 0, got {self.damsm_sentence_weight}")
        if self.damsm_sentence_weight > 0 and not self.damsm_path:
            raise ConfigError("model.damsm_sentence_weight > 0 needs model.damsm_path=<folder written by 'wordsight train damsm'>")
        if not self.damsm_hard_negative_weight >= 0:
            raise ConfigError(f"model.damsm_hard_negative_weight must be >= 0, got {self.damsm_hard_negative_weight}")
        if self.damsm_hard_negative_weight > 0 and not self.damsm_sentence_weight > 0:
            raise ConfigError("model.damsm_hard_negative_weight > 0 needs model.damsm_sentence_weight > 0 and model.damsm_path "
                              "(it scores the fakes with the same frozen DAMSM image encoder)")


def load_frozen_damsm_image_encoder(path: str | Path, embed_dim: int) -> nn.Module:
    """The DAMSM image encoder of a ``wordsight train damsm`` folder (``path`` or ``path/image_encoder``), in
    eval mode with gradients off; its multimodal size must be ``embed_dim`` (the sentence vectors' size)."""
    encoder = load_damsm_part(path, IMAGE_ENCODER_DIR, what="model.damsm_path", error=ConfigError)
    got = getattr(encoder, "embed_dim", None)
    if got != embed_dim:
        raise ConfigError(f"model.damsm_path: the image encoder at {path} embeds into {got} dimensions, but the "
                          f"sentence vectors have {embed_dim} (model.sentence_dim); condition on the same DAMSM's text encoder")
    return encoder


@SYSTEMS.register("dfgan")
class DFGANObjective(GeneratorDiscriminatorPair, GANObjective):
    """DF-GAN's losses over batches {"images": [B, 3, S, S] in [-1, 1], "sentence": [B, Ds] float}."""

    config_cls = DFGANConfig
    summary = "DF-GAN (Tao et al. 2022): one-stage generator with deep text-image fusion, MA-GP"

    def __init__(self, G: DFGenerator, D: DFDiscriminator, cfg: DFGANConfig):
        super().__init__()
        if G.sentence_dim != D.sentence_dim or G.image_size != D.image_size:
            raise ConfigError(f"generator and discriminator disagree: sentence_dim {G.sentence_dim}/{D.sentence_dim}, image_size {G.image_size}/{D.image_size}")
        self.G, self.D, self.cfg = G, D, cfg
        self._fakes: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._steps = 0  # end_step() calls: which D steps carry the lazy MA-GP
        # compiled views of G and D share their parameters; kept out of the module tree (and the state dict)
        self._fast: dict[str, Any] = {}
        # a frozen loss network, not trained and not in networks() (so not in checkpoints): reloaded from cfg
        self.damsm_image_encoder = (load_frozen_damsm_image_encoder(cfg.damsm_path, cfg.sentence_dim)
                                    if cfg.damsm_sentence_weight > 0 else None)

    @classmethod
    def from_config(cls, cfg: DFGANConfig) -> "DFGANObjective":
        G = DFGenerator(nf=cfg.nf, z_dim=cfg.z_dim, sentence_dim=cfg.sentence_dim, image_size=cfg.image_size,
                        fused_affine=cfg.fused_affine)
        D = DFDiscriminator(nf=cfg.nf, sentence_dim=cfg.sentence_dim, image_size=cfg.image_size, gamma_init=cfg.d_gamma_init)
        return cls(G, D, cfg)

    # ---- what the loop needs -------------------------------------------------------------------

    def optimizer_defaults(self) -> dict[str, OptimizerConfig]:
        # DF-GAN section 4: Adam, beta1 = 0.0, beta2 = 0.9, lr 1e-4 for G and 4e-4 for D (TTUR)
        return {"g": OptimizerConfig(lr=1e-4, betas=(0.0, 0.9)), "d": OptimizerConfig(lr=4e-4, betas=(0.0, 0.9))}

    def conditions(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"sentence": batch["sentence"]}

    def sample_noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return truncated_noise(n, self.cfg.z_dim, self.cfg.truncation, generator=generator)

    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        return generator(noise, conditions["sentence"].float())

    def end_step(self) -> None:
        self._fakes.clear()
        self._steps += 1

    def ma_gp_due(self) -> bool:
        """Whether this step's D update carries the MA-GP (every ``ma_gp_every``-th step, the first included)."""
        return self._steps % self.cfg.ma_gp_every == 0

    def _fast_fn(self, name: str):
        """G, D.features or D.logits; through torch.compile with ``compile: true``."""
        fn = {"G": self.G, "features": self.D.features, "logits": self.D.logits}[name]
        if not self.cfg.compile:
            return fn
        if name not in self._fast:
            self._fast[name] = torch.compile(fn, dynamic=False)
        return self._fast[name]

    def train(self, mode: bool = True) -> "DFGANObjective":
        super().train(mode)
        if self.damsm_image_encoder is not None:
            self.damsm_image_encoder.eval()  # a fixed loss network, as in AttnGAN
        return self

    # ---- losses ------------------------------------------------------------------------------
    def _unpack(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        if "images" not in batch or "sentence" not in batch:
            raise InputError(f"DF-GAN batches need 'images' and 'sentence'; got keys {sorted(batch)}")
        size, dim = self.cfg.image_size, self.cfg.sentence_dim
        dims = check_shape("batch['images']", batch["images"], ["B", 3, size, size])
        check_shape("batch['sentence']", batch["sentence"], [dims["B"], dim])
        return batch["images"], batch["sentence"].float()

    def d_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, sentence = self._unpack(batch)
        regularise = self.ma_gp_due()
        # MA-GP differentiates w.r.t. images and sentences (a double backward: never through compiled code)
        images = images.detach().requires_grad_(regularise)
        sentence = sentence.detach().requires_grad_(regularise)
        features = self.D.features if regularise else self._fast_fn("features")
        logits_fn = self.D.logits if regularise else self._fast_fn("logits")
        real_features = features(images)
        real_logits = logits_fn(real_features, sentence)
        mis = hinge_d_fake(logits_fn(mismatched(real_features), sentence))
        extra = {}
        hard = batch.get("mismatch_sentence")
        if hard is not None:  # hard negatives (data.hard_negatives): the same caption with one word changed
            check_shape("batch['mismatch_sentence']", hard, list(sentence.shape))
            extra["d_hard_mismatch"] = hinge_d_fake(self.D.logits(real_features, hard.float()))
            mis = (mis + extra["d_hard_mismatch"]) / 2.0
        z = torch.randn(images.shape[0], self.cfg.z_dim, device=images.device)
        fake = self._fast_fn("G")(z, sentence.detach())
        self._fakes.append((fake, sentence.detach()))
        fake_logits = self._fast_fn("logits")(self._fast_fn("features")(fake.detach()), sentence.detach())
        real, fake_term = hinge_d_real(real_logits), hinge_d_fake(fake_logits)
        if regularise:  # lazy: weighted by the interval, so the penalty's mean over steps is the paper's
            every = self.cfg.ma_gp_every
            gp = ma_gp(real_logits, (images, sentence), k=self.cfg.ma_gp_k, p=self.cfg.ma_gp_p)
            if every != 1:
                gp = gp * every
        else:
            gp = torch.zeros((), device=real.device)
        loss = real + (fake_term + mis) / 2.0 + gp
        return {"loss": loss, "d_real": real, "d_fake": fake_term, "d_mismatch": mis, "ma_gp": gp, **extra}

    def g_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if self._fakes:  # the D step's fakes for this micro-batch, in order
            fake, sentence = self._fakes.pop(0)
        else:
            _, sentence = self._unpack(batch)
            z = torch.randn(sentence.shape[0], self.cfg.z_dim, device=sentence.device)
            fake = self._fast_fn("G")(z, sentence)
        with frozen_weights(self.D):
            logits = self._fast_fn("logits")(self._fast_fn("features")(fake), sentence)
        loss = hinge_g(logits)
        if self.damsm_image_encoder is None:
            return {"loss": loss}
        _, image_global = self.damsm_image_encoder(fake)  # gradients reach G only: the encoder is frozen
        # same-class captions are not negatives (AttnGAN's class_ids mask); sentence_loss moves the labels
        damsm = sentence_loss(image_global, sentence, batch.get("label"), self.cfg.damsm_gamma3).total
        terms = {"g_adversarial": loss, "g_damsm_sentence": damsm}
        total = loss + self.cfg.damsm_sentence_weight * damsm
        if self.cfg.damsm_hard_negative_weight > 0:
            hard = batch.get("mismatch_sentence")  # its shape was checked by d_step and is by the loss
            if hard is None:
                raise ConfigError("model.damsm_hard_negative_weight > 0 needs batches with 'mismatch_sentence' "
                                  "(data.hard_negatives on the synthetic world)")
            terms["g_damsm_hard_negative"] = sentence_hard_negative_loss(image_global, sentence, hard, self.cfg.damsm_gamma3)
            total = total + self.cfg.damsm_hard_negative_weight * terms["g_damsm_hard_negative"]
        return {"loss": total, **terms}
