"""TAGAN training (Nam et al., NeurIPS 2018, eqs. 1, 6, 7; official code woozzu/tagan ``train.py``):
text-guided image manipulation from captioned images alone (no edit pairs).

For a batch of images x with their captions t, the negative text t_neg is the batch's captions rolled by one
(the official ``txt_m = cat(txt[:, -1], txt[:, :-1])``: image i gets caption i - 1); the mismatched pairs of
D are the same rolled captions (the official D's ``idx_n = roll(idx, 1)``). With D_u the unconditional
logit and D(x, t) the text-adaptive score (a probability, :mod:`wordsight.models.tagan`):

    L_D = BCE(D_u(x), 1) + BCE(D_u(G(x, t_neg)), 0) + lambda_cond (BCE(D(x, t), 1) + BCE(D(x, t_neg), 0)) / 2
    L_G = BCE(D_u(G(x, t_neg)), 1) + lambda_cond BCE(D(G(x, t_neg), t_neg), 1)
          + lambda_rec L1(G(x, t), x) + w_kl (KL_neg + KL_rec)

lambda_cond = 10, lambda_rec = 0.2, w_kl = 0.5 (official ``--lambda_cond_loss``, ``--lambda_recon_loss``
and the ``0.5 * kld`` of both G passes: the edit with t_neg and the reconstruction with the image's own
text each add their CA's KL). The conditional D term is the *mean* of the two BCEs, as the official code
(``real_c_loss = (BCE(real_c_prob, 1) + BCE(real_c_prob_n, 0)) / 2``); the paper's eq. 6 writes the sum.
The fake's conditional score is not part of L_D (the official D step discards it). BCE on D(x, t) is
computed from log D (``TAGANDiscriminator.scores``): -log D and -log(1 - D), the latter with D <= 1 - 1e-7
(the official ``clamp(sim + 1e-7, max=1)`` and BCE's log clamp serve the same purpose).

Adam, lr 2e-4, betas (0.5, 0.999) for G and D (official); the official StepLR halves both every 100
epochs (``lr_schedule: step`` in the configs). Batches are dicts {"images": [B, 3, S, S] in [-1, 1],
"captions": list of B strings}; the text encoders of G and D are trained with them (word vectors fixed
when ``word_vectors`` gives fastText vectors, as the paper).

Departures: the G step reuses the D step's edits G(x, t_neg) (the official runs G again; with the same
weights that pass differs only by the CA noise and BN's batch statistics), and the losses are computed in
log space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...config import ConfigError
from ...losses.adversarial import bce_d_fake, bce_d_real, bce_g
from ...losses.conditioning import kl_to_standard_normal
from ...models.tagan import TAGANDiscriminator, TAGANGenerator
from ...text.rnn import load_word_vectors
from ...utils.checks import InputError
from ..config import OptimizerConfig
from ..objective import SYSTEMS, GANObjective, GeneratorDiscriminatorPair, VocabularyFromData, frozen_weights, unpack_captioned_batch

__all__ = ["TAGANConfig", "TAGANObjective", "negative_texts", "log_one_minus", "conditional_d_loss"]

# 1 - D(x, t) >= 1e-7 in BCE(D, 0): the official adds 1e-7 to the score before its clamp
PROBABILITY_EPS = 1e-7


@dataclass
class TAGANConfig:
    """Defaults: the official settings (128 px, widths 64-512, GRU 512, fastText 300, CA 128, 4 residual
    blocks, lambda_cond 10, lambda_rec 0.2, KL 0.5). ``vocabulary`` is filled in from the training captions
    (:meth:`TAGANObjective.configure`); ``word_vectors`` names a local fastText ``.vec`` file for both text
    encoders; ``freeze_embeddings`` (default: true exactly when word_vectors is given) keeps them fixed."""

    vocabulary: list[str] | None = None
    image_size: int = 128
    nf: int = 64
    text_dim: int = 512
    word_embedding_dim: int = 300
    c_dim: int = 128
    r_num: int = 4
    max_length: int = 32
    lambda_cond: float = 10.0
    lambda_rec: float = 0.2
    kl_weight: float = 0.5
    word_vectors: str | None = None
    freeze_embeddings: bool | None = None

    def __post_init__(self) -> None:
        if min(self.nf, self.text_dim, self.word_embedding_dim, self.c_dim, self.max_length) < 1 or self.r_num < 0:
            raise ConfigError("model.nf, text_dim, word_embedding_dim, c_dim and max_length must be >= 1 and r_num >= 0")
        if self.image_size < 32 or self.image_size & (self.image_size - 1):
            raise ConfigError(f"model.image_size must be a power of two >= 32 (the discriminator's last map is S/32), got {self.image_size}")
        for name in ("lambda_cond", "lambda_rec", "kl_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"model.{name} must be >= 0, got {getattr(self, name)}")
        if self.vocabulary is not None and not self.vocabulary:
            raise ConfigError("model.vocabulary is empty")
        if self.freeze_embeddings is None:
            self.freeze_embeddings = self.word_vectors is not None


def negative_texts(token_ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's texts rolled by one (image i gets text i - 1, the official ``txt_m``); needs B >= 2."""
    if token_ids.shape[0] < 2:
        raise InputError(f"TAGAN's negative texts need a batch of at least 2, got {token_ids.shape[0]}")
    return torch.roll(token_ids, 1, 0), torch.roll(lengths, 1, 0)


def log_one_minus(log_p: torch.Tensor, eps: float = PROBABILITY_EPS) -> torch.Tensor:
    """log(1 - p) from log p, with p <= 1 - eps (finite, and no 0/0 in the gradient at p = 1)."""
    log_p = log_p.float().clamp(max=float(torch.log1p(torch.tensor(-eps))))
    # log(-expm1(x)) is accurate near x = 0, log1p(-exp(x)) for x << 0 (Maechler 2012)
    return torch.where(log_p > -0.6931471805599453, torch.log(-torch.expm1(log_p)), torch.log1p(-torch.exp(log_p)))


def conditional_d_loss(log_right: torch.Tensor, log_wrong: torch.Tensor) -> dict[str, torch.Tensor]:
    """The conditional D term from log D of matching [B] and mismatched [B] pairs: the official
    (BCE(D(x, t), 1) + BCE(D(x, t_neg), 0)) / 2."""
    right = -log_right.float().mean()
    wrong = -log_one_minus(log_wrong).mean()
    return {"d_cond": (right + wrong) / 2.0, "d_cond_real": right, "d_cond_wrong": wrong}


@SYSTEMS.register("tagan")
class TAGANObjective(VocabularyFromData, GeneratorDiscriminatorPair, GANObjective):
    """TAGAN over batches {"images": [B, 3, S, S] in [-1, 1], "captions": B strings} (module docstring)."""

    config_cls = TAGANConfig
    summary = "TAGAN (Nam et al. 2018): text-guided image manipulation, text-adaptive word-level discriminator"

    def __init__(self, G: TAGANGenerator, D: TAGANDiscriminator, cfg: TAGANConfig):
        super().__init__()
        if list(G.text_encoder.vocabulary.words) != list(D.text_encoder.vocabulary.words):
            raise InputError("TAGAN: G and D must share one vocabulary (a batch is tokenised once for both)")
        self.G, self.D, self.cfg = G, D, cfg
        # per micro-batch, from the D step: (edits G(x, t_neg), mu, logvar, negative ids, negative lengths)
        self._fakes: list[tuple[torch.Tensor, ...]] = []

    @classmethod
    def from_config(cls, cfg: TAGANConfig) -> "TAGANObjective":
        if cfg.vocabulary is None:
            raise ConfigError("tagan needs model.vocabulary: train it on captioned data (the vocabulary is built "
                              "from the captions) or give the word list")
        common = dict(image_size=cfg.image_size, nf=cfg.nf, text_dim=cfg.text_dim, word_embedding_dim=cfg.word_embedding_dim,
                      max_length=cfg.max_length, freeze_embeddings=bool(cfg.freeze_embeddings))
        G = TAGANGenerator(list(cfg.vocabulary), c_dim=cfg.c_dim, r_num=cfg.r_num, **common)
        D = TAGANDiscriminator(list(cfg.vocabulary), **common)
        if cfg.word_vectors is not None:
            for net in (G, D):
                if load_word_vectors(net.text_encoder, cfg.word_vectors) == 0:
                    raise ConfigError(f"model.word_vectors={cfg.word_vectors} has none of the vocabulary's words")
        return cls(G, D, cfg)


    def optimizer_defaults(self) -> dict[str, OptimizerConfig]:
        return {"g": OptimizerConfig(lr=2e-4, betas=(0.5, 0.999)), "d": OptimizerConfig(lr=2e-4, betas=(0.5, 0.999))}

    # ---- the sample grid: each fixed image edited with its neighbour's caption --------------------
    def conditions(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Source images and the token ids / lengths of the rolled (negative) captions, ids padded to
        ``max_length`` so that the conditions of several batches concatenate."""
        images, ids, lengths = self._unpack(batch)
        ids, lengths = negative_texts(ids, lengths) if ids.shape[0] > 1 else (ids, lengths)
        return {"images": images, "token_ids": F.pad(ids, (0, self.cfg.max_length - ids.shape[1])), "lengths": lengths}

    def sample_noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.zeros(n, 1)  # TAGAN has no noise input (the EMA generator is in eval mode: CA uses mu)

    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        return generator(conditions["images"], conditions["token_ids"], conditions["lengths"])[0]

    def end_step(self) -> None:
        self._fakes.clear()

    # ---- losses ---------------------------------------------------------------------------------
    def _unpack(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return unpack_captioned_batch(batch, self.cfg.image_size, self.G.tokenize, "TAGAN")

    def d_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, ids, lengths = self._unpack(batch)
        neg_ids, neg_lengths = negative_texts(ids, lengths)
        real_logit, pooled = self.D.image_features(images)
        text = self.D.text_features(ids, lengths)
        right = self.D.conditional(pooled, text.words, text.mask)
        # the mismatched pairs: the same (image, word features) rolled, as the official D's idx_n
        wrong = self.D.conditional(pooled, torch.roll(text.words, 1, 0), torch.roll(text.mask, 1, 0))
        fakes, mu, logvar = self.G(images, neg_ids, neg_lengths)
        self._fakes.append((fakes, mu, logvar, neg_ids, neg_lengths))
        fake_logit, _ = self.D.image_features(fakes.detach())
        d_real, d_fake = bce_d_real(real_logit), bce_d_fake(fake_logit)
        cond = conditional_d_loss(right.log_score, wrong.log_score)
        loss = d_real + d_fake + self.cfg.lambda_cond * cond["d_cond"]
        return {"loss": loss, "d_real": d_real.detach(), "d_fake": d_fake.detach(),
                **{k: v.detach() for k, v in cond.items()}}

    def g_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, ids, lengths = self._unpack(batch)
        if self._fakes:  # the D step's edits of this micro-batch
            fakes, mu, logvar, neg_ids, neg_lengths = self._fakes.pop(0)
        else:
            neg_ids, neg_lengths = negative_texts(ids, lengths)
            fakes, mu, logvar = self.G(images, neg_ids, neg_lengths)
        with frozen_weights(self.D):
            fake_logit, scores = self.D.scores(fakes, neg_ids, neg_lengths)
        g_fake = bce_g(fake_logit)
        g_cond = -scores.log_score.float().mean()  # BCE(D(G(x, t_neg), t_neg), 1)
        recon, mu_rec, logvar_rec = self.G(images, ids, lengths)  # the image's own text: reconstruct it
        rec = F.l1_loss(recon.float(), images.float())
        kl = kl_to_standard_normal(mu.float(), logvar.float()) + kl_to_standard_normal(mu_rec.float(), logvar_rec.float())
        loss = g_fake + self.cfg.lambda_cond * g_cond + self.cfg.lambda_rec * rec + self.cfg.kl_weight * kl
        return {"loss": loss, "g_fake": g_fake.detach(), "g_cond": g_cond.detach(), "reconstruction": rec.detach(),
                "kl": kl.detach()}
