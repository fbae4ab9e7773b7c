"""What a GAN system gives the training loop: networks, optimizer defaults and two loss functions.

The loop knows nothing about architectures. A system subclasses :class:`GANObjective`, registers itself in
:data:`SYSTEMS` and implements ``d_step``/``g_step`` (a batch dict in, a dict of loss tensors out, with the
key ``"loss"`` holding what to minimise); the loop does backward, gradient sync, NaN checks, optimizer
steps, EMA and checkpoints. Adding a system touches no central if/else:

    @SYSTEMS.register("mygan")
    class MyGAN(GANObjective):
        config_cls = MyGANConfig
        ...
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator

import torch
from torch import nn

from ..config import ConfigError, config_from_dict
from ..utils.checks import InputError, check_shape
from ..utils.registry import Registry
from .config import OptimizerConfig


@dataclass
class Phase:
    """One alternating update: call ``objective.<method>(batch)``, backward ``"loss"``, step ``optimizer``."""

    name: str
    method: str
    optimizer: str


class GANObjective(nn.Module):
    """Base class for systems. Subclasses set ``config_cls`` and implement the members below.

    * ``networks()`` -> {name: module} for every trained module (saved in checkpoints under that name);
    * ``generator`` -> the module whose EMA copy is used for samples and evaluation;
    * ``optimizer_params()`` -> {optimizer name: parameters}; ``optimizer_defaults()`` -> published settings;
    * ``phases`` -> the updates of one training step, in order (default: D then G);
    * ``d_step(batch)`` / ``g_step(batch)`` -> {"loss": scalar, other logged terms...};
    * ``sample(generator, conditions, noise)`` -> images in [-1, 1] for the sample grid;
    * ``sample_noise(n, generator)`` -> the fixed noise of the sample grid.
    """

    config_cls: ClassVar[type]
    summary: ClassVar[str] = ""  # one line for `wordsight train --list`
    # a pipeline folder this run extends (e.g. a style encoder added to a trained generator's pipeline)
    base_pipeline: Any = None
    phases: ClassVar[tuple[Phase, ...]] = (Phase("d", "d_step", "d"), Phase("g", "g_step", "g"))

    @classmethod
    def from_config(cls, cfg: Any) -> "GANObjective":
        """Build the system's networks from its config (an instance of ``config_cls``)."""
        raise NotImplementedError

    @classmethod
    def configure(cls, model: dict, data: Any) -> dict:
        """The ``model`` config mapping with the values a system derives from its training data filled in
        (e.g. a vocabulary of the data's texts, see :func:`data_vocabulary`), before :meth:`from_config`.
        The trainer saves the result in the run's config.yaml, so the exported model and a resumed run
        carry them. Default: unchanged."""
        return model

    def networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    @property
    def generator(self) -> nn.Module:
        raise NotImplementedError

    def optimizer_params(self) -> dict[str, list[nn.Parameter]]:
        raise NotImplementedError

    def optimizer_defaults(self) -> dict[str, OptimizerConfig]:
        raise NotImplementedError

    def sample(self, generator: nn.Module, conditions: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample_noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def conditions(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """The part of a batch the generator is conditioned on (kept fixed for the sample grid)."""
        raise NotImplementedError

    def pipeline_parts(self, ema: nn.Module) -> dict[str, nn.Module]:
        """The trained modules a pipeline folder holds, by folder name (default: the EMA generator)."""
        return {"generator": ema}

    def check_data(self, data: Any) -> None:
        """Raise a ConfigError when ``data`` cannot serve this system; called once before training (e.g. a
        run that extends a trained pipeline must see the sentence vectors that pipeline was trained on)."""

    def end_step(self) -> None:
        """Called after every training step, and between the repetitions of a phase that
        ``phase_repeats`` runs more than once; drop per-step caches here."""


class GeneratorDiscriminatorPair:
    """Mixin for the usual two trained parts: the generator ``self.G`` (its EMA copy draws the samples and is
    exported) and the discriminator in the attribute ``discriminator_attr`` (``self.D``; AttnGAN and StackGAN++
    keep one per scale in ``self.Ds``), saved in checkpoints as "generator" and ``discriminator_key``, with one
    optimizer each, "g" and "d". Put it before :class:`GANObjective` in the bases."""

    discriminator_attr: ClassVar[str] = "D"
    discriminator_key: ClassVar[str] = "discriminator"
    G: nn.Module

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.G, self.discriminator_key: getattr(self, self.discriminator_attr)}

    @property
    def generator(self) -> nn.Module:
        return self.G

    def optimizer_params(self) -> dict[str, list[nn.Parameter]]:
        return {"d": list(getattr(self, self.discriminator_attr).parameters()), "g": list(self.G.parameters())}


class SentenceConditionedGAN(GeneratorDiscriminatorPair, GANObjective):
    """The parts GAN-INT-CLS, StackGAN and StackGAN++ share (AttnGAN takes the pair and the optimizer): the
    G/D pair, batches {"images", "sentence"} checked against ``cfg.image_size`` / ``cfg.sentence_dim``, the
    generator ``self.G`` with ``cfg.truncation`` for the sample
    grid, the D step's fakes kept in ``self._fakes`` for the G step, and their official optimizer (Adam,
    lr 2e-4, betas (0.5, 0.999) for G and D). ``display_name`` names the system in errors."""

    display_name: ClassVar[str] = "these"
    G: nn.Module
    cfg: Any
    _fakes: list

    def optimizer_defaults(self) -> dict[str, OptimizerConfig]:
        return {"g": OptimizerConfig(lr=2e-4, betas=(0.5, 0.999)), "d": OptimizerConfig(lr=2e-4, betas=(0.5, 0.999))}

    def conditions(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"sentence": batch["sentence"]}

    def sample_noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.G.sample_noise(n, generator=generator, truncation=self.cfg.truncation)

    def end_step(self) -> None:
        self._fakes.clear()

    def _unpack(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        if "images" not in batch or "sentence" not in batch:
            raise InputError(f"{self.display_name} batches need 'images' and 'sentence'; got keys {sorted(batch)}")
        size = self.cfg.image_size
        dims = check_shape("batch['images']", batch["images"], ["B", 3, size, size])
        check_shape("batch['sentence']", batch["sentence"], [dims["B"], self.cfg.sentence_dim])
        return batch["images"], batch["sentence"].float()


@contextlib.contextmanager
def frozen_weights(module: nn.Module) -> Iterator[None]:
    """Skip weight gradients of ``module`` inside the block (a G step needs gradients through D, not for
    D); each parameter's ``requires_grad`` is restored afterwards."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def check_same_sentence_vectors(data: Any, pipeline: Any, option: str) -> None:
    """ConfigError unless ``data``'s sentence vectors come from the text encoder and the fitted whitening
    of the pipeline folder ``pipeline`` (named by the config option ``option``): a model trained on top of
    another one must be conditioned the same way, or it learns from vectors the pipeline never makes."""
    import json
    from pathlib import Path

    from ..hub import from_pretrained

    meta_path = Path(pipeline) / "pipeline.json"
    if not meta_path.exists():
        return
    spec = json.loads(meta_path.read_text()).get("text_encoder") or {}
    data_spec = getattr(data, "encoder_spec", None)
    if data_spec is not None and spec.get("name") and data_spec.get("name") != spec["name"]:
        raise ConfigError(f"{option}={pipeline} was trained on {spec['name']} sentence vectors, this run's data gives "
                          f"{data_spec.get('name')} ones; set data.text_encoder={spec['name']}")
    mine = getattr(data, "whitening", None)
    theirs = from_pretrained(Path(pipeline) / spec["whitening"]) if spec.get("whitening") else None
    if mine is None and theirs is None:
        return
    same = (mine is not None and theirs is not None and mine.output_dim == theirs.output_dim
            and torch.allclose(mine.mean, theirs.mean, atol=1e-5) and torch.allclose(mine.projection, theirs.projection, atol=1e-4))
    if not same:
        raise ConfigError(f"{option}={pipeline}: this run's sentence whitening differs from the one that model was trained with; "
                          "use the same data options (data.sentence_whitening, data.synthetic.*, seed) as its run")


def data_vocabulary(data: Any, min_count: int = 1) -> list[str]:
    """The words (``Vocabulary.words``: specials first, then by frequency) of every text a training data set
    holds: ``data.texts`` when it has them (e.g. manipulation instructions and captions), else
    ``data.captions``. A ConfigError when it has neither (random tensors)."""
    from ..text.tokenizer import Vocabulary

    texts = getattr(data, "texts", None) or getattr(data, "captions", None)
    if not texts:
        raise ConfigError(f"this system builds its vocabulary from the training texts, but the data "
                          f"({getattr(data, 'name', type(data).__name__)}) has none; use --data synthetic or a captioned layout")
    return list(Vocabulary.build(texts, min_count=min_count).words)


class VocabularyFromData:
    """Mixin for systems with ``model.vocabulary`` (trained text encoders: TAGAN, TIRG): when the config
    gives none, :meth:`GANObjective.configure` fills it with :func:`data_vocabulary` of the training data."""

    @classmethod
    def configure(cls, model: dict, data: Any) -> dict:
        if model.get("vocabulary") is None:
            model["vocabulary"] = data_vocabulary(data)
        return model


def unpack_captioned_batch(batch: dict[str, Any], image_size: int, tokenize: Any, system: str
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch {"images": [B, 3, S, S], "captions": B strings} of a system with its own text encoder (TAGAN,
    SISGAN) -> (images, token ids [B, T], lengths [B]) on the images' device, with clear errors."""
    if "images" not in batch or "captions" not in batch:
        raise InputError(f"{system} batches need 'images' and 'captions'; got keys {sorted(batch)}")
    dims = check_shape("batch['images']", batch["images"], ["B", 3, image_size, image_size])
    captions = batch["captions"]
    if isinstance(captions, str) or len(captions) != dims["B"]:
        raise InputError(f"batch['captions'] must be a list of {dims['B']} strings, got {captions!r:.80}")
    ids, lengths = tokenize(list(captions))
    return batch["images"], ids.to(batch["images"].device), lengths.to(batch["images"].device)


SYSTEMS: Registry[type[GANObjective]] = Registry("training system", base=GANObjective)


def build_objective(name: str, model_config: dict | Any, data: Any = None) -> GANObjective:
    """Build a registered system from its ``model`` config (a mapping checked by its ``config_cls``); with
    ``data``, the system's :meth:`GANObjective.configure` fills in what it derives from the data first."""
    cls = SYSTEMS.get(name)
    if data is not None and isinstance(model_config, dict):
        model_config = cls.configure(dict(model_config), data)
    if dataclasses.is_dataclass(model_config):
        cfg = model_config
    elif isinstance(model_config, dict):
        cfg = config_from_dict(cls.config_cls, model_config)
    else:
        raise ConfigError(f"model config for {name!r} must be a mapping, got {model_config!r}")
    return cls.from_config(cfg)
