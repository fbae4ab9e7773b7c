"""TIRG training (Vo et al., CVPR 2019; official code google/tirg ``main.py`` and
``img_text_composition_models.py``): composed-query retrieval from (source image, instruction, target).

One phase per step. The query q_i = normalise(TIRG(x_i, t_i)) of each source image and its instruction
and the target feature y_i = normalise(phi(x'_i)) are compared with every target of the batch; the
official code offers two losses (``--loss``):

* ``"soft_triplet"`` (official ``compute_soft_triplet_loss_``; its argparse default and the setting of
  every CSS3D command in its README): with squared Euclidean distances d,
      L = mean over i and j != i of log(1 + exp(d(q_i, y_i) - d(q_i, y_j)))
  (the official code samples 3 triplets per anchor at random; here every in-batch negative is used);
* ``"softmax"`` (``compute_batch_based_classification_loss_``, the official Fashion200k setting): logits
  q @ y^T over the batch, cross-entropy with the diagonal as each query's class.

The default is ``"soft_triplet"``, the official CSS3D setting: the synthetic world's manipulation
triplets are CSS-style edits. Optimiser: SGD, lr 1e-2, momentum 0.9, weight decay 1e-6 (official
defaults; batch size 32 there).

Batches are dicts {"images": [B, 3, S, S] in [-1, 1], "target_images": [B, 3, S, S], "instructions":
list of B strings}. The sample grid shows, for each fixed query, the target image of the fixed batch that
the EMA model retrieves for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ...config import ConfigError
from ...models.tirg import TIRG
from ...utils.checks import InputError, check_shape
from ..config import OptimizerConfig
from ..objective import SYSTEMS, GANObjective, Phase, VocabularyFromData

__all__ = ["TIRGConfig", "TIRGObjective", "batch_softmax_loss", "soft_triplet_loss", "batch_recall_at_1"]

LOSSES = ("softmax", "soft_triplet")


@dataclass
class TIRGConfig:
    """TIRG's sizes and loss. ``vocabulary`` is filled in from the training texts (:meth:`TIRGObjective.configure`)."""

    vocabulary: list[str] | None = None
    embed_dim: int = 512  # official --embed_dim
    word_embedding_dim: int = 512  # official: embed_dim
    image_size: int = 64
    channels: list[int] = field(default_factory=lambda: [32, 64, 128, 256])
    loss: Literal["softmax", "soft_triplet"] = "soft_triplet"  # official default and CSS3D setting
    normalize_scale: float = 4.0
    text_dropout: float = 0.1
    max_length: int = 32

    def __post_init__(self) -> None:
        if min(self.embed_dim, self.word_embedding_dim, self.image_size, self.max_length) < 1:
            raise ConfigError("model.embed_dim, word_embedding_dim, image_size and max_length must be >= 1")
        if not self.channels or min(self.channels) < 1:
            raise ConfigError(f"model.channels must be a non-empty list of widths >= 1, got {self.channels}")
        if self.loss not in LOSSES:
            raise ConfigError(f"model.loss must be one of {list(LOSSES)}, got {self.loss!r}")
        if not self.normalize_scale > 0:
            raise ConfigError(f"model.normalize_scale must be > 0, got {self.normalize_scale}")
        if not 0.0 <= self.text_dropout < 1.0:
            raise ConfigError(f"model.text_dropout must be in [0, 1), got {self.text_dropout}")
        if self.vocabulary is not None and not self.vocabulary:
            raise ConfigError("model.vocabulary is empty")


def _pair(query: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    dims = check_shape("query features", query, ["B", "D"])
    check_shape("target features", target, [dims["B"], dims["D"]])
    if dims["B"] < 2:
        raise InputError(f"TIRG's in-batch losses need at least 2 triplets per batch, got {dims['B']}")
    return query.float(), target.float()


def batch_softmax_loss(query: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Official batch-based classification: CE(q @ y^T, diagonal) over [B, D] features."""
    query, target = _pair(query, target)
    logits = query @ target.T
    return F.cross_entropy(logits, torch.arange(logits.shape[0], device=logits.device))


def soft_triplet_loss(query: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean_{i, j != i} log(1 + exp(d(q_i, y_i) - d(q_i, y_j))), d the squared Euclidean distance (the
    official ``pairwise_distances``), over [B, D] features."""
    query, target = _pair(query, target)
    d = torch.cdist(query, target).pow(2)  # [B, B], d[i, j] = ||q_i - y_j||^2
    b = d.shape[0]
    off = ~torch.eye(b, dtype=torch.bool, device=d.device)
    return F.softplus(d.diagonal()[:, None] - d)[off].mean()  # softplus(x) = log(1 + exp(x)), computed stably


@torch.no_grad()
def batch_recall_at_1(query: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of queries whose most similar in-batch target (cosine) is their own."""
    sims = F.normalize(query.float(), dim=1) @ F.normalize(target.float(), dim=1).T
    right = sims.diagonal()
    return ((sims > right[:, None]).sum(dim=1) == 0).float().mean()


def _first_item(data: Any) -> Any:
    """One sample or batch of the training data (a map-style item, a batch source's first batch or an
    iterable's first batch)."""
    if hasattr(data, "__len__") and hasattr(data, "__getitem__") and not isinstance(data, (dict, str)):
        return data[0] if len(data) else None
    if callable(getattr(data, "batch", None)):
        return data.batch(0, 0, 1)
    if hasattr(data, "__iter__"):
        return next(iter(data), None)
    return None


@SYSTEMS.register("tirg")
class TIRGObjective(VocabularyFromData, GANObjective):
    """TIRG over batches {"images", "target_images", "instructions"} (see the module docstring)."""

    config_cls = TIRGConfig
    summary = "TIRG (Vo et al. 2019): text+image composition for retrieval, gated residual, in-batch losses"
    phases: ClassVar[tuple[Phase, ...]] = (Phase("retrieval", "retrieval_step", "retrieval"),)

    def __init__(self, model: TIRG, cfg: TIRGConfig):
        super().__init__()
        self.model, self.cfg = model, cfg

    @classmethod
    def from_config(cls, cfg: TIRGConfig) -> "TIRGObjective":
        if cfg.vocabulary is None:
            raise ConfigError("tirg needs model.vocabulary: train it on data with texts (the vocabulary is built "
                              "from them) or give the word list")
        model = TIRG(list(cfg.vocabulary), embed_dim=cfg.embed_dim, word_embedding_dim=cfg.word_embedding_dim,
                     image_size=cfg.image_size, channels=list(cfg.channels), normalize_scale=cfg.normalize_scale,
                     text_dropout=cfg.text_dropout, max_length=cfg.max_length)
        return cls(model, cfg)

    def check_data(self, data: Any) -> None:
        item = _first_item(data)
        if not isinstance(item, dict) or "target_images" not in item or "instructions" not in item:
            keys = sorted(item) if isinstance(item, dict) else type(item).__name__
            raise ConfigError("tirg trains on manipulation triplets (source image, instruction, target image): items "
                              f"need 'images', 'instructions' and 'target_images', got {keys}; use the synthetic "
                              "world's manipulation data (data.synthetic.manipulation=true)")

    def networks(self) -> dict[str, nn.Module]:
        return {"tirg": self.model}

    @property
    def generator(self) -> nn.Module:
        return self.model

    def optimizer_params(self) -> dict[str, list[nn.Parameter]]:
        return {"retrieval": list(self.model.parameters())}

    def optimizer_defaults(self) -> dict[str, OptimizerConfig]:
        # official main.py: SGD(lr=1e-2, momentum=0.9, weight_decay=1e-6); the whole model at one rate on CSS3D
        return {"retrieval": OptimizerConfig(lr=1e-2, kind="sgd", momentum=0.9, weight_decay=1e-6)}

    # ---- batches ------------------------------------------------------------------------------
    def _unpack(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        missing = [k for k in ("images", "target_images", "instructions") if k not in batch]
        if missing:
            raise InputError(f"TIRG batches need 'images', 'target_images' and 'instructions'; missing {missing}, "
                             f"got keys {sorted(batch)}")
        images, targets, texts = batch["images"], batch["target_images"], batch["instructions"]
        dims = check_shape("batch['images']", images, ["B", 3, "H", "W"])
        check_shape("batch['target_images']", targets, [dims["B"], 3, dims["H"], dims["W"]])
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)) or len(texts) != dims["B"]:
            raise InputError(f"batch['instructions'] must be a list of {dims['B']} strings, got {texts!r:.80}")
        if not all(isinstance(t, str) for t in texts):
            raise InputError("batch['instructions'] must hold strings")
        return images.float(), targets.float(), list(texts)

    def features(self, batch: dict[str, Any], model: TIRG | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(queries [B, D], targets [B, D]), both normalised, of a batch."""
        model = self.model if model is None else model
        images, targets, texts = self._unpack(batch)
        return model.compose(images, texts), model.image_features(targets)

    def loss(self, query: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return soft_triplet_loss(query, target) if self.cfg.loss == "soft_triplet" else batch_softmax_loss(query, target)

    def retrieval_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        query, target = self.features(batch)
        return {"loss": self.loss(query, target), "recall_at_1_batch": batch_recall_at_1(query, target),
                "feature_scale": self.model.normalization.scale.detach().float().squeeze()}

    # ---- the sample grid ----------------------------------------------------------------------
    def conditions(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Source and target images and the instructions' token ids padded to ``max_length`` (fixed width,
        so that the loop can concatenate several batches)."""
        images, targets, texts = self._unpack(batch)
        ids, lengths = self.model.tokenize(texts, pad_to=self.model.max_length)
        return {"images": images, "target_images": targets, "token_ids": ids, "lengths": lengths}

    def sample_noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.zeros(n, 1)  # retrieval draws no noise; the loop needs a tensor

    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        """For each fixed query (source image + instruction), the target image of the fixed set most similar
        to its composition: retrieval shown as images, [N, 3, S, S] in [-1, 1]."""
        query = generator.compose_ids(conditions["images"].float(), conditions["token_ids"], conditions["lengths"])
        targets = conditions["target_images"].float()
        gallery = generator.image_features(targets)
        best = (query.float() @ gallery.float().T).argmax(dim=1)
        return targets[best]
