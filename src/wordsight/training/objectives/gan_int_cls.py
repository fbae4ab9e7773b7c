"""GAN-INT-CLS training objectives (Reed et al., ICML 2016; seed 004, Algorithm 1 and section 4.4).

``gan-int-cls``: the text-conditional DCGAN with both of the paper's additions, weighted as the official
``scripts/train_cub.sh`` (cls_weight 0.5, interp_weight 1):

    L_D = BCE(D(x, h), 1) + w_cls BCE(D(x, h_wrong), 0) + (1 - w_cls) BCE(D(G(z, h), h), 0)      (GAN-CLS)
    L_G = BCE(D(G(z, h), h), 1) + w_int BCE(D(G(z', h_int), h_int), 1),  h_int = b h1 + (1 - b) h2 (GAN-INT)

With w_cls = 0.5 the D loss is Algorithm 1's log(s_r) + (log(1 - s_w) + log(1 - s_f)) / 2. h_wrong pairs
each real image with the next sample's text (the Lua code's shifted batch); h_int mixes each of the first
half-batch's texts with its neighbour's, b = 0.5. D never trains on interpolated fakes: it has no real pair
for them (section 4.3). G runs once per step on cat(h, h_int), as the Lua code appends the interpolated
half-batch to the fake batch. Not in the paper: with hard negatives in the batch (``mismatch_sentence``,
``data.hard_negatives`` of the synthetic world) the wrong-text term is the mean of the in-batch term and
the hard-negative term, as in our DF-GAN.

``gan-int-cls-style``: the style encoder S, trained after G on G's own samples with eq. 6,
L_style = E ||z - S(G(z, phi(t)))||^2, G frozen in eval mode (it is used as a deterministic decoder). Its
run's pipeline is the generator's pipeline plus ``style_encoder/``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ...config import ConfigError
from ...hub import CONFIG_NAME, from_pretrained
from ...losses.adversarial import bce_d_fake, bce_d_real, bce_g, ma_gp, mismatched
from ...models.gan_int_cls import D_LAYOUTS, TEXT_PROJECTION_DIM, GANINTCLSDiscriminator, GANINTCLSGenerator, StyleEncoder
from ...utils.checks import InputError, check_shape
from ..config import OptimizerConfig
from ..objective import SYSTEMS, GANObjective, Phase, SentenceConditionedGAN, check_same_sentence_vectors, frozen_weights


@dataclass
class GANINTCLSConfig:
    """Sizes and loss weights; defaults are the official CUB settings (ngf 128, ndf 64, z 100, text 128)."""

    ngf: int = 128
    ndf: int = 64
    z_dim: int = 100
    sentence_dim: int = 384
    text_dim: int = TEXT_PROJECTION_DIM
    image_size: int = 64
    cls_weight: float = 0.5  # weight of the wrong-text term; the fake term gets 1 - cls_weight (0 = plain GAN-INT)
    interp_weight: float = 1.0  # weight of the interpolated-text G term (0 = plain GAN-CLS)
    interp_beta: float = 0.5
    truncation: float | None = None  # sampling only
    # Not in the paper: std of Gaussian noise added to every image D sees, real and fake, in both steps
    # ("instance noise", Sonderby et al. 2017; Arjovsky & Bottou 2017), so that D cannot separate the two
    # image distributions perfectly and G's gradient does not vanish. 0 = off (the paper).
    instance_noise: float = 0.0
    # Not in the paper: one-sided label smoothing (Salimans et al. 2016, section 3.4), the target of D's
    # real/right term; 1.0 = off (the paper). Only the real side is smoothed, so G's optimum is unchanged.
    real_label: float = 1.0
    # Not in the paper: weight k of DF-GAN's matching-aware zero-centred gradient penalty (eq. 3, power
    # ma_gp_p) on real images with their own sentences, added to D's loss; it keeps D's surface flat around
    # the real pairs, against D winning (docs/gan-int-cls.md). 0 = off (the paper); DF-GAN uses k 2, p 6.
    ma_gp_weight: float = 0.0
    ma_gp_p: float = 6.0
    # D's layers (models/gan_int_cls.py): "as_run", what main_cls_int.lua computes (its 4x4 bottleneck is
    # built but never connected, text BN, no activation after the 8x8 BN), or "residual", the bottleneck wired in.
    d_layout: str = "as_run"

    def __post_init__(self) -> None:
        if min(self.ngf, self.ndf, self.z_dim, self.sentence_dim, self.text_dim) < 1:
            raise ConfigError("model.ngf, ndf, z_dim, sentence_dim and text_dim must be >= 1")
        if not 0.0 <= self.cls_weight < 1.0:
            raise ConfigError(f"model.cls_weight must be in [0, 1), got {self.cls_weight}")
        if not self.interp_weight >= 0:
            raise ConfigError(f"model.interp_weight must be >= 0, got {self.interp_weight}")
        if not 0.0 <= self.interp_beta <= 1.0:
            raise ConfigError(f"model.interp_beta must be in [0, 1], got {self.interp_beta}")
        if not self.instance_noise >= 0:
            raise ConfigError(f"model.instance_noise must be >= 0, got {self.instance_noise}")
        if not 0.5 < self.real_label <= 1.0:
            raise ConfigError(f"model.real_label must be in (0.5, 1], got {self.real_label}")
        if self.d_layout not in D_LAYOUTS:
            raise ConfigError(f"model.d_layout must be one of {list(D_LAYOUTS)}, got {self.d_layout!r}")
        if not (self.ma_gp_weight >= 0 and self.ma_gp_p > 0):
            raise ConfigError(f"model.ma_gp_weight must be >= 0 and model.ma_gp_p > 0, got {self.ma_gp_weight}, {self.ma_gp_p}")


def gan_cls_discriminator_loss(real_right: torch.Tensor, real_wrong: torch.Tensor, fake_right: torch.Tensor,
                               cls_weight: float = 0.5, real_label: float = 1.0) -> dict[str, torch.Tensor]:
    """Algorithm 1, line 10, on logits: BCE(s_r, t) + w BCE(s_w, 0) + (1 - w) BCE(s_f, 0), t = real_label
    (1 in the paper; < 1 is one-sided label smoothing)."""
    real = bce_d_real(real_right)
    if real_label < 1.0:
        real = real_label * real + (1.0 - real_label) * bce_d_fake(real_right)
    wrong, fake = bce_d_fake(real_wrong), bce_d_fake(fake_right)
    loss = real + cls_weight * wrong + (1.0 - cls_weight) * fake
    return {"loss": loss, "d_real": real, "d_wrong": wrong, "d_fake": fake}


def interpolated_sentences(sentence: torch.Tensor, beta: float = 0.5) -> torch.Tensor:
    """GAN-INT's synthetic texts: b h_i + (1 - b) h_(i+1) for the first ceil(B / 2) samples."""
    n = math.ceil(sentence.shape[0] / 2)
    return beta * sentence[:n] + (1.0 - beta) * mismatched(sentence)[:n]


@SYSTEMS.register("gan-int-cls")
class GANINTCLSObjective(SentenceConditionedGAN):
    """GAN-INT-CLS over batches {"images": [B, 3, S, S] in [-1, 1], "sentence": [B, Ds]}."""

    display_name = "GAN-INT-CLS"
    config_cls = GANINTCLSConfig
    summary = "GAN-INT-CLS (Reed et al. 2016): text-conditional DCGAN, matching-aware D, interpolated texts"

    def __init__(self, G: GANINTCLSGenerator, D: GANINTCLSDiscriminator, cfg: GANINTCLSConfig):
        super().__init__()
        self.G, self.D, self.cfg = G, D, cfg
        self._fakes: list[tuple[torch.Tensor, torch.Tensor]] = []

    @classmethod
    def from_config(cls, cfg: GANINTCLSConfig) -> "GANINTCLSObjective":
        G = GANINTCLSGenerator(ngf=cfg.ngf, z_dim=cfg.z_dim, sentence_dim=cfg.sentence_dim, image_size=cfg.image_size, text_dim=cfg.text_dim)
        D = GANINTCLSDiscriminator(ndf=cfg.ndf, sentence_dim=cfg.sentence_dim, image_size=cfg.image_size, text_dim=cfg.text_dim,
                                  layout=cfg.d_layout)
        return cls(G, D, cfg)

    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        return generator(noise, conditions["sentence"].float())

    def _generate(self, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One G pass over the batch's texts and (with interp_weight > 0) the interpolated half-batch."""
        texts = sentence
        if self.cfg.interp_weight > 0:
            texts = torch.cat((sentence, interpolated_sentences(sentence, self.cfg.interp_beta)))
        z = torch.randn(texts.shape[0], self.cfg.z_dim, device=sentence.device)
        return self.G(z, texts), texts

    def _noised(self, images: torch.Tensor) -> torch.Tensor:
        if self.cfg.instance_noise <= 0:
            return images
        return images + self.cfg.instance_noise * torch.randn_like(images)

    def d_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, sentence = self._unpack(batch)
        b = images.shape[0]
        penalised = self.cfg.ma_gp_weight > 0
        if penalised:
            images, sentence = images.detach().requires_grad_(True), sentence.detach().requires_grad_(True)
        real_features = self.D.features(self._noised(images))
        real_right = self.D.logits(real_features, sentence)
        penalty = ma_gp(real_right, (images, sentence), k=self.cfg.ma_gp_weight, p=self.cfg.ma_gp_p) if penalised else None
        sentence = sentence.detach()
        real_wrong = self.D.logits(real_features, mismatched(sentence))
        fakes, texts = self._generate(sentence)
        self._fakes.append((fakes, texts))
        fake_right = self.D(self._noised(fakes[:b].detach()), sentence)
        hard = batch.get("mismatch_sentence")
        if hard is None:
            return self._with_penalty(gan_cls_discriminator_loss(real_right, real_wrong, fake_right, self.cfg.cls_weight, self.cfg.real_label), penalty)
        # hard negatives: the same caption with one attribute word changed; s_w is the mean of both terms
        check_shape("batch['mismatch_sentence']", hard, list(sentence.shape))
        hard_wrong = self.D.logits(real_features, hard.float())
        in_batch = gan_cls_discriminator_loss(real_right, real_wrong, fake_right, self.cfg.cls_weight, self.cfg.real_label)
        with_hard = gan_cls_discriminator_loss(real_right, hard_wrong, fake_right, self.cfg.cls_weight, self.cfg.real_label)
        out = {k: (in_batch[k] + with_hard[k]) / 2.0 for k in in_batch}
        out["d_hard_wrong"] = with_hard["d_wrong"]
        return self._with_penalty(out, penalty)

    @staticmethod
    def _with_penalty(terms: dict[str, torch.Tensor], penalty: torch.Tensor | None) -> dict[str, torch.Tensor]:
        if penalty is None:
            return terms
        return {**terms, "loss": terms["loss"] + penalty, "d_ma_gp": penalty}

    def g_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if self._fakes:  # the D step's fakes of this micro-batch, in order
            fakes, texts = self._fakes.pop(0)
            b = batch["sentence"].shape[0]
        else:
            _, sentence = self._unpack(batch)
            b = sentence.shape[0]
            fakes, texts = self._generate(sentence)
        with frozen_weights(self.D):
            logits = self.D(self._noised(fakes), texts)
        adversarial = bce_g(logits[:b])
        if self.cfg.interp_weight <= 0:
            return {"loss": adversarial}
        interp = bce_g(logits[b:])
        return {"loss": adversarial + self.cfg.interp_weight * interp, "g_adversarial": adversarial, "g_interp": interp}


# ---- the style encoder ---------------------------------------------------------------------------
@dataclass
class StyleEncoderConfig:
    """``generator``: the trained GAN-INT-CLS run's ``pipeline/`` (or its ``generator/``) to invert."""

    generator: str = ""
    nf: int = 64

    def __post_init__(self) -> None:
        if not self.generator:
            raise ConfigError("gan-int-cls-style needs model.generator=<a GAN-INT-CLS pipeline folder, e.g. runs/00000-gan-int-cls-synthetic/pipeline>")
        if self.nf < 1:
            raise ConfigError(f"model.nf must be >= 1, got {self.nf}")


def load_frozen_generator(path: str | Path) -> tuple[nn.Module, Path | None]:
    """The generator of a pipeline folder (``path/generator``) or a generator folder, frozen in eval mode,
    and the pipeline folder when ``path`` is one."""
    path = Path(path)
    pipeline = path if (path / "generator" / CONFIG_NAME).exists() else None
    folder = path / "generator" if pipeline is not None else path
    if not (folder / CONFIG_NAME).exists():
        raise ConfigError(f"model.generator: no generator at {path} (expected a pipeline folder with generator/ or a folder with {CONFIG_NAME})")
    G = from_pretrained(folder).eval().requires_grad_(False)
    if not isinstance(G, GANINTCLSGenerator):
        raise ConfigError(f"model.generator: {folder} holds a {type(G).__name__}; the style encoder inverts a GAN-INT-CLS generator")
    return G, pipeline


@SYSTEMS.register("gan-int-cls-style")
class StyleEncoderObjective(GANObjective):
    """Eq. 6 over batches {"sentence": [B, Ds]} (images are not used: S learns from G's samples)."""

    config_cls = StyleEncoderConfig
    summary = "GAN-INT-CLS style encoder S (seed 004 eq. 6), trained on a frozen generator; enables style transfer"
    phases: ClassVar[tuple[Phase, ...]] = (Phase("s", "s_step", "s"),)

    def __init__(self, S: StyleEncoder, G: GANINTCLSGenerator, cfg: StyleEncoderConfig, base_pipeline: Path | None = None):
        super().__init__()
        self.S, self.frozen_generator, self.cfg = S, G, cfg
        self.base_pipeline = base_pipeline

    @classmethod
    def from_config(cls, cfg: StyleEncoderConfig) -> "StyleEncoderObjective":
        G, pipeline = load_frozen_generator(cfg.generator)
        return cls(StyleEncoder(nf=cfg.nf, z_dim=G.z_dim, image_size=G.image_size), G, cfg, pipeline)

    def check_data(self, data: Any) -> None:
        if self.base_pipeline is not None:
            check_same_sentence_vectors(data, self.base_pipeline, "model.generator")

    def networks(self) -> dict[str, nn.Module]:
        return {"style_encoder": self.S}

    @property
    def generator(self) -> nn.Module:
        return self.S

    def pipeline_parts(self, ema: nn.Module) -> dict[str, nn.Module]:
        return {"style_encoder": ema}

    def optimizer_params(self) -> dict[str, list[nn.Parameter]]:
        return {"s": list(self.S.parameters())}

    def optimizer_defaults(self) -> dict[str, OptimizerConfig]:
        return {"s": OptimizerConfig(lr=2e-4, betas=(0.5, 0.999))}

    def conditions(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"sentence": batch["sentence"]}

    def sample_noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.frozen_generator.sample_noise(n, generator=generator)

    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        """Reconstructions G(S(G(z, h)), h): the sample grid shows how well S inverts G."""
        sentence = conditions["sentence"].float()
        return self.frozen_generator(generator(self.frozen_generator(noise, sentence)), sentence)

    def train(self, mode: bool = True) -> "StyleEncoderObjective":
        super().train(mode)
        self.frozen_generator.eval()  # a fixed decoder: BN uses its running statistics
        return self

    def s_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if "sentence" not in batch:
            raise InputError(f"style-encoder batches need 'sentence'; got keys {sorted(batch)}")
        sentence = batch["sentence"].float()
        check_shape("batch['sentence']", sentence, ["B", self.frozen_generator.sentence_dim])
        z = torch.randn(sentence.shape[0], self.frozen_generator.z_dim, device=sentence.device)
        with torch.no_grad():
            images = self.frozen_generator(z, sentence)
        loss = (z - self.S(images).float()).pow(2).sum(dim=1).mean()  # eq. 6
        # 1.0 = no better than predicting 0 for every z (E||z||^2 = z_dim)
        return {"loss": loss, "relative_error": loss.detach() / self.frozen_generator.z_dim}
