"""StackGAN training objective (Zhang et al., ICCV 2017; seeds 003 and 004), one stage per run, weighted
as the official code (hanzhanggit/StackGAN-Pytorch, ``trainer.py``: compute_discriminator_loss,
compute_generator_loss, KL_loss):

    L_D = BCE(D(x, mu), 1) + (BCE(D(x, mu_wrong), 0) + BCE(D(G(z, c), mu), 0)) / 2
    L_G = BCE(D(G(z, c), mu), 1) + lambda KL(N(mu, sigma) || N(0, I)),  lambda = 2.0  (eq. 6)

where c = mu + sigma * eps is the conditioning augmentation of the stage being trained and D is
conditioned on G's CA mean mu, detached (the official code passes ``mu.detach()`` to D). mu_wrong pairs
each real image with its neighbour's text (the official code's shifted batch). With hard negatives in the
batch (``mismatch_sentence`` of the synthetic world) the wrong-text term is the mean of the in-batch term
and the hard-negative term, as in our GAN-INT-CLS and DF-GAN.

Train in order (``model.stage``): stage 1 learns Stage-I at ``stage1_size``; stage 2 loads a stage-1 run
(``model.init_from``: its run folder, ``pipeline/`` or ``generator/``), freezes Stage-I and learns
Stage-II at ``upscale * stage1_size``. ``model.image_size`` (the size D and the data loader see) follows
from the stage and needs no setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...config import ConfigError
from ...hub import CONFIG_NAME, from_pretrained
from ...losses.adversarial import bce_g, mismatched
from ...losses.conditioning import kl_to_standard_normal
from ...losses.multiscale import joint_d_loss
from ...models.stackgan import StackGANDiscriminator, StackGANGenerator
from ...utils.checks import check_shape
from ..objective import SYSTEMS, SentenceConditionedGAN, check_same_sentence_vectors, frozen_weights


@dataclass
class StackGANConfig:
    """Sizes and loss weights; defaults are the official CUB settings (GF_DIM 128, DF_DIM 64, 64 -> 256)."""

    stage: int = 1
    init_from: str = ""  # stage 2: the stage-1 run folder, its pipeline/ or its generator/
    ngf: int = 128
    ndf: int = 64
    z_dim: int = 100
    sentence_dim: int = 384
    c_dim: int = 128
    stage1_size: int = 64
    upscale: int = 4
    r_num: int = 2
    kl_weight: float = 2.0
    image_size: int | None = None  # derived: stage1_size (stage 1) or upscale * stage1_size (stage 2)
    truncation: float | None = None  # sampling only

    def __post_init__(self) -> None:
        if self.stage not in (1, 2):
            raise ConfigError(f"model.stage must be 1 or 2, got {self.stage!r}")
        if self.stage == 2 and not self.init_from:
            raise ConfigError("StackGAN stage 2 trains on top of a Stage-I model: pass model.init_from=<the stage-1 run folder "
                              "or its pipeline/>, e.g. model.init_from=runs/00000-stackgan-synthetic (train it first with model.stage=1)")
        if min(self.ngf, self.ndf, self.z_dim, self.sentence_dim, self.c_dim) < 1 or self.r_num < 0:
            raise ConfigError("model.ngf, ndf, z_dim, sentence_dim and c_dim must be >= 1 and r_num >= 0")
        if not self.kl_weight >= 0:
            raise ConfigError(f"model.kl_weight must be >= 0, got {self.kl_weight}")
        size = self.stage1_size * (self.upscale if self.stage == 2 else 1)
        if self.image_size is None:
            self.image_size = size
        elif self.image_size != size:
            raise ConfigError(f"model.image_size is {self.image_size} but stage {self.stage} with stage1_size {self.stage1_size} and "
                              f"upscale {self.upscale} makes {size} px images; leave image_size out (it follows from the stage)")


def load_stage1_generator(path: str | Path) -> tuple[StackGANGenerator, Path | None]:
    """The Stage-I generator of a stage-1 run folder, pipeline folder or generator folder, and the pipeline
    folder it came from (None for a bare generator folder)."""
    path = Path(path)
    for pipeline in (path / "pipeline", path):
        if (pipeline / "generator" / CONFIG_NAME).exists():
            folder = pipeline / "generator"
            break
    else:
        pipeline, folder = None, path
    if not (folder / CONFIG_NAME).exists():
        raise ConfigError(f"model.init_from: no StackGAN stage-1 model at {path} (expected a run folder with pipeline/, "
                          f"a pipeline folder with generator/, or a folder with {CONFIG_NAME})")
    G = from_pretrained(folder)
    if not isinstance(G, StackGANGenerator) or G.stages != 1:
        what = f"a {G.stages}-stage StackGAN generator" if isinstance(G, StackGANGenerator) else f"a {type(G).__name__}"
        raise ConfigError(f"model.init_from: {folder} holds {what}; stage 2 needs a stage-1 StackGAN generator")
    return G, pipeline


@SYSTEMS.register("stackgan")
class StackGANObjective(SentenceConditionedGAN):
    """One StackGAN stage over batches {"images": [B, 3, S, S] in [-1, 1], "sentence": [B, Ds]}."""

    display_name = "StackGAN"
    config_cls = StackGANConfig
    summary = "StackGAN (Zhang et al. 2017): conditioning augmentation, Stage-I then Stage-II (model.stage, model.init_from)"

    def __init__(self, G: StackGANGenerator, D: StackGANDiscriminator, cfg: StackGANConfig, base_pipeline: Path | None = None):
        super().__init__()
        self.G, self.D, self.cfg = G, D, cfg
        self.base_pipeline = base_pipeline
        self._fakes: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    @classmethod
    def from_config(cls, cfg: StackGANConfig) -> "StackGANObjective":
        D = StackGANDiscriminator(ndf=cfg.ndf, c_dim=cfg.c_dim, image_size=cfg.image_size)
        kwargs = dict(ngf=cfg.ngf, z_dim=cfg.z_dim, sentence_dim=cfg.sentence_dim, c_dim=cfg.c_dim, stage1_size=cfg.stage1_size)
        if cfg.stage == 1:
            return cls(StackGANGenerator(**kwargs, stages=1, r_num=cfg.r_num), D, cfg)
        stage1, pipeline = load_stage1_generator(cfg.init_from)
        found = {k: getattr(stage1, k) for k in kwargs}
        wrong = {k: (kwargs[k], v) for k, v in found.items() if kwargs[k] != v}
        if wrong:
            listed = ", ".join(f"model.{k} is {a} but the stage-1 model has {b}" for k, (a, b) in wrong.items())
            raise ConfigError(f"model.init_from={cfg.init_from}: {listed}; use the stage-1 run's settings")
        G = StackGANGenerator(**kwargs, stages=2, upscale=cfg.upscale, r_num=cfg.r_num)
        G.stage1.load_state_dict(stage1.stage1.state_dict())
        return cls(G, D, cfg, pipeline)

    def check_data(self, data: Any) -> None:
        if self.base_pipeline is not None:
            check_same_sentence_vectors(data, self.base_pipeline, "model.init_from")

    def optimizer_params(self) -> dict[str, list[nn.Parameter]]:
        return {"d": list(self.D.parameters()), "g": self.G.trained_parameters()}



    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        return generator(noise, conditions["sentence"].float())[-1]


    def _generate(self, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = torch.randn(sentence.shape[0], self.cfg.z_dim, device=sentence.device)
        stages, mu, logvar = self.G.forward_with_codes(z, sentence)
        return stages[-1], mu, logvar

    def _trained_ca(self) -> nn.Module:
        return (self.G.stage2 or self.G.stage1).ca

    def d_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images, sentence = self._unpack(batch)
        fake, mu, logvar = self._generate(sentence)
        self._fakes.append((fake, mu, logvar))
        cond = mu.detach()
        real_features = self.D.features(images)
        real_right = self.D.logits(real_features, cond)
        fake_right = self.D(fake.detach(), cond)
        in_batch = joint_d_loss((real_right, None), (self.D.logits(real_features, mismatched(cond)), None), (fake_right, None), 0.0)
        hard = batch.get("mismatch_sentence")
        if hard is None:
            return in_batch
        check_shape("batch['mismatch_sentence']", hard, list(sentence.shape))
        with torch.no_grad():  # D's condition for the one-word-changed caption: G's CA mean of it
            hard_cond = self._trained_ca().encode(hard.float())[0]
        with_hard = joint_d_loss((real_right, None), (self.D.logits(real_features, hard_cond), None), (fake_right, None), 0.0)
        out = {k: (in_batch[k] + with_hard[k]) / 2.0 for k in in_batch}
        out["d_hard_wrong"] = with_hard["d_wrong"]
        return out

    def g_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if self._fakes:  # the D step's fakes of this micro-batch
            fake, mu, logvar = self._fakes.pop(0)
        else:
            _, sentence = self._unpack(batch)
            fake, mu, logvar = self._generate(sentence)
        with frozen_weights(self.D):
            adversarial = bce_g(self.D(fake, mu.detach()))
        kl = kl_to_standard_normal(mu.float(), logvar.float())
        return {"loss": adversarial + self.cfg.kl_weight * kl, "g_adversarial": adversarial, "kl": kl}
