"""SISGAN training (Dong et al., ICCV 2017; seed 004 eqs. 3-4; official code woozzu/dong_iccv_2017
``train_text_embedding.py`` then ``train.py``): text-guided image manipulation from captioned images.

The official recipe has two programs; here they are two stages of one run, switched by a checkpointed
counter, so ``wordsight train sisgan`` does both and resumes in either:

1. **Visual-semantic embedding** (the first ``embedding_steps`` steps; official 300 epochs): the GRU text
   encoder and the image embedding learn the bidirectional ranking loss (seed 004 eq. 4, margin 0.2,
   :func:`wordsight.losses.ranking.bidirectional_ranking_loss`), Adam 2e-4 with PyTorch's default betas
   (the official ``Adam(lr=...)``). G and D wait (their losses are 0 and their weights do not move).
2. **The GAN** (official 600 epochs): the text encoder is frozen (no gradient reaches it). With phi the
   sentence vectors of the batch's captions t, t_hat = t rolled by one (mismatching) and t_bar the
   *semantically relevant* texts (the first half of the batch rolled by -1, the second half its own
   captions, as the official ``preprocess``):

       L_D = BCE(D(x, phi(t)), 1) + 0.5 BCE(D(x, phi(t_hat)), 0) + 0.5 BCE(D(G(x, phi(t_bar)), phi(t_bar)), 0)
       L_G = BCE(D(G(x, phi(t_bar)), phi(t_bar)), 1) + w_kl KL

   (seed 004 eq. 3 with the official weights 1, 0.5, 0.5 and KL weight 1), Adam 2e-4, betas (0.5, 0.999);
   the official StepLR halves both learning rates every 100 epochs (``lr_schedule: step``).

Batches are dicts {"images": [B, 3, S, S] in [-1, 1], "captions": B strings}, B >= 2.

Departures: the image side of the embedding is a small CNN trained from scratch (official: fixed VGG-16
fc7), the G step reuses the D step's edits (the official runs G again: new CA noise, same weights), and the
edit at inference uses the CA mean (the official samples).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ...config import ConfigError
from ...losses.adversarial import bce_d_fake, bce_d_real, bce_g
from ...losses.conditioning import kl_to_standard_normal
from ...losses.ranking import bidirectional_ranking_loss
from ...models.sisgan import SISGANDiscriminator, SISGANGenerator, SISGANImageEmbedding, mismatched_texts, relevant_texts
from ...text.rnn import load_word_vectors
from ..config import OptimizerConfig
from ..objective import SYSTEMS, GANObjective, Phase, VocabularyFromData, frozen_weights, unpack_captioned_batch

__all__ = ["SISGANConfig", "SISGANObjective"]


@dataclass
class SISGANConfig:
    """Defaults: the official settings (64 px, ngf 128, ndf 64, GRU 300 over fastText 300, CA 128, 4 residual
    blocks, ranking margin 0.2, D weights 1 / 0.5 / 0.5, KL 1). ``vocabulary`` is filled in from the training
    captions; ``word_vectors`` names a local fastText ``.vec`` file (then kept fixed, as the official
    fastText). ``embedding_steps``: the length of stage 1 (0 skips it: the GAN then trains on an untrained,
    frozen text encoder, which is only useful in tests)."""

    vocabulary: list[str] | None = None
    image_size: int = 64
    ngf: int = 128
    ndf: int = 64
    text_dim: int = 300
    word_embedding_dim: int = 300
    c_dim: int = 128
    r_num: int = 4
    max_length: int = 50
    embedding_channels: list[int] = field(default_factory=lambda: [32, 64, 128, 256])
    embedding_steps: int = 2000
    margin: float = 0.2
    mismatch_weight: float = 0.5
    fake_weight: float = 0.5
    kl_weight: float = 1.0
    word_vectors: str | None = None
    freeze_embeddings: bool | None = None

    def __post_init__(self) -> None:
        if min(self.ngf, self.ndf, self.text_dim, self.word_embedding_dim, self.c_dim, self.max_length) < 1 or self.r_num < 0:
            raise ConfigError("model.ngf, ndf, text_dim, word_embedding_dim, c_dim and max_length must be >= 1 and r_num >= 0")
        if self.image_size < 16 or self.image_size & (self.image_size - 1):
            raise ConfigError(f"model.image_size must be a power of two >= 16 (the discriminator's last map is S/16), got {self.image_size}")
        if not self.embedding_channels or min(self.embedding_channels) < 1:
            raise ConfigError(f"model.embedding_channels must be a non-empty list of widths >= 1, got {self.embedding_channels}")
        if self.embedding_steps < 0:
            raise ConfigError(f"model.embedding_steps must be >= 0, got {self.embedding_steps}")
        for name in ("margin", "mismatch_weight", "fake_weight", "kl_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"model.{name} must be >= 0, got {getattr(self, name)}")
        if self.vocabulary is not None and not self.vocabulary:
            raise ConfigError("model.vocabulary is empty")
        if self.freeze_embeddings is None:
            self.freeze_embeddings = self.word_vectors is not None


@SYSTEMS.register("sisgan")
class SISGANObjective(VocabularyFromData, GANObjective):
    """SISGAN over batches {"images", "captions"} (module docstring): stage 1 the embedding, stage 2 D then G."""

    config_cls = SISGANConfig
    summary = "SISGAN (Dong et al. 2017): text-guided image manipulation with a visual-semantic text embedding"
    phases: ClassVar[tuple[Phase, ...]] = (Phase("embedding", "embedding_step", "embedding"),
                                           Phase("d", "d_step", "d"), Phase("g", "g_step", "g"))

    def __init__(self, G: SISGANGenerator, D: SISGANDiscriminator, E: SISGANImageEmbedding, cfg: SISGANConfig):
        super().__init__()
        self.G, self.D, self.E, self.cfg = G, D, E, cfg
        self._fakes: list[tuple[torch.Tensor, ...]] = []
        self._embedded = False

    @classmethod
    def from_config(cls, cfg: SISGANConfig) -> "SISGANObjective":
        if cfg.vocabulary is None:
            raise ConfigError("sisgan needs model.vocabulary: train it on captioned data (the vocabulary is built "
                              "from the captions) or give the word list")
        G = SISGANGenerator(list(cfg.vocabulary), image_size=cfg.image_size, ngf=cfg.ngf, text_dim=cfg.text_dim,
                            word_embedding_dim=cfg.word_embedding_dim, c_dim=cfg.c_dim, r_num=cfg.r_num,
                            max_length=cfg.max_length, freeze_embeddings=bool(cfg.freeze_embeddings))
        if cfg.word_vectors is not None and load_word_vectors(G.text_encoder, cfg.word_vectors) == 0:
            raise ConfigError(f"model.word_vectors={cfg.word_vectors} has none of the vocabulary's words")
        D = SISGANDiscriminator(cfg.image_size, cfg.ndf, cfg.text_dim)
        E = SISGANImageEmbedding(cfg.image_size, cfg.text_dim, cfg.embedding_channels)
        return cls(G, D, E, cfg)

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.G, "discriminator": self.D, "image_embedding": self.E}

    @property
    def generator(self) -> nn.Module:
        return self.G

    def optimizer_params(self) -> dict[str, list[nn.Parameter]]:
        text = {id(p) for p in self.G.text_encoder.parameters()}
        return {"embedding": [p for p in self.G.text_encoder.parameters() if p.requires_grad] + list(self.E.parameters()),
                "d": list(self.D.parameters()),
                "g": [p for p in self.G.parameters() if id(p) not in text]}

    def optimizer_defaults(self) -> dict[str, OptimizerConfig]:
        return {"embedding": OptimizerConfig(lr=2e-4, betas=(0.9, 0.999)),
                "g": OptimizerConfig(lr=2e-4, betas=(0.5, 0.999)), "d": OptimizerConfig(lr=2e-4, betas=(0.5, 0.999))}

    @property
    def embedding_stage(self) -> bool:
        """True while the visual-semantic embedding trains (stage 1)."""
        return int(self.E.updates) < self.cfg.embedding_steps

    # ---- the sample grid: each fixed image edited with its neighbour's caption --------------------
    def conditions(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, ids, lengths = self._unpack(batch)
        if ids.shape[0] > 1:
            ids, lengths = mismatched_texts(ids), mismatched_texts(lengths)
        return {"images": images, "token_ids": F.pad(ids, (0, self.cfg.max_length - ids.shape[1])), "lengths": lengths}

    def sample_noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.zeros(n, 1)  # no noise input (the EMA generator is in eval mode: CA uses mu)

    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        sentence = generator.sentence(conditions["token_ids"], conditions["lengths"])
        return generator(conditions["images"], sentence)[0]

    def end_step(self) -> None:
        self._fakes.clear()
        if self._embedded:
            self.E.updates += 1
            self._embedded = False

    # ---- losses ---------------------------------------------------------------------------------
    def _unpack(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return unpack_captioned_batch(batch, self.cfg.image_size, self.G.tokenize, "SISGAN")

    @staticmethod
    def _idle(images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The loss of a network that waits for the other stage: zero, and no gradient for any weight."""
        return {"loss": torch.zeros((), device=images.device, requires_grad=True)}

    def embedding_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, ids, lengths = self._unpack(batch)
        if not self.embedding_stage:
            return self._idle(images)
        self._embedded = True
        loss = bidirectional_ranking_loss(self.E(images), self.G.sentence(ids, lengths), self.cfg.margin)
        return {"loss": loss, "ranking": loss.detach()}

    def _sentences(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # stage 2: the embedding is frozen
            return self.G.sentence(ids, lengths).detach()

    def d_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, ids, lengths = self._unpack(batch)
        if self.embedding_stage:
            return self._idle(images)
        s = self._sentences(ids, lengths)
        relevant = relevant_texts(s)
        real = bce_d_real(self.D(images, s))
        mismatch = bce_d_fake(self.D(images, mismatched_texts(s)))
        fakes, mu, logvar = self.G(images, relevant)
        self._fakes.append((fakes, mu, logvar, relevant))
        fake = bce_d_fake(self.D(fakes.detach(), relevant))
        loss = real + self.cfg.mismatch_weight * mismatch + self.cfg.fake_weight * fake
        return {"loss": loss, "d_real": real.detach(), "d_mismatch": mismatch.detach(), "d_fake": fake.detach()}

    def g_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, ids, lengths = self._unpack(batch)
        if self.embedding_stage:
            return self._idle(images)
        if self._fakes:  # the D step's edits of this micro-batch
            fakes, mu, logvar, relevant = self._fakes.pop(0)
        else:
            relevant = relevant_texts(self._sentences(ids, lengths))
            fakes, mu, logvar = self.G(images, relevant)
        with frozen_weights(self.D):
            g_fake = bce_g(self.D(fakes, relevant))
        kl = kl_to_standard_normal(mu.float(), logvar.float())
        return {"loss": g_fake + self.cfg.kl_weight * kl, "g_fake": g_fake.detach(), "kl": kl.detach()}
