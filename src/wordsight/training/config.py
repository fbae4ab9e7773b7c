"""The typed training config (one for every GAN system; the system's own options live under ``model``).

    cfg = load_config(TrainConfig, "my_run.yaml", ["steps=2000", "model.nf=16", "optimizers.d.lr=2e-4"])

``model`` is checked by the system's config class (e.g. :class:`DFGANConfig`) and ``optimizers`` fills in
the system's published defaults per optimizer (DF-GAN: g 1e-4, d 4e-4, betas (0.0, 0.9)), so a YAML only
names what it changes. ``data`` is a :class:`DataConfig`: the data source the config is for, the text
options shared by every source, and one section of options per kind of source (``synthetic`` for the
built-in world, ``captions`` for the captioned-image layouts); only the section of the source that is
actually trained on reaches its loader. A misspelled key anywhere is a :class:`ConfigError` listing the
valid keys.

    data:
      source: synthetic          # synthetic | cub | oxford | coco | folder (what --data defaults to)
      sentence_whitening: 64
      synthetic: {min_objects: 1, max_objects: 1, num_scenes: 2000}
      captions: {captions_per_image: 10}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

from ..config import ConfigError, config_from_dict


PRECISIONS = ("auto", "no", "bf16", "fp16")
DATA_SOURCES = ("synthetic", "cub", "oxford", "coco", "folder")  # what data.source may name
TEXT_ENCODERS = ("minilm", "bilstm")
EVAL_SPLITS = ("test", "heldout", "train")  # the synthetic world's splits evaluation captions come from


@dataclass
class OptimizerConfig:
    """Settings for one optimizer: Adam (``betas``, ``eps``) or SGD with momentum (``momentum``; TIRG's)."""

    lr: float = 1e-4
    betas: tuple[float, float] = (0.0, 0.9)
    weight_decay: float = 0.0
    eps: float = 1e-8
    kind: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.9  # sgd only

    def __post_init__(self) -> None:
        if not self.lr > 0 or not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"optimizer lr must be > 0 and momentum in [0, 1), got {self.lr} and {self.momentum}")


@dataclass
class SyntheticDataConfig:
    """``data.synthetic``: the synthetic world's options (:class:`~wordsight.data.synthetic.WorldConfig`
    fields; its ``seed`` is the run's seed, ``image_size`` is ``model.image_size`` and the split is
    ``train``) and how many scenes to train on (``num_scenes`` x ``captions_per_image`` items)."""

    num_scenes: int = 2000
    min_objects: int = 1
    max_objects: int = 3
    captions_per_image: int = 5
    backgrounds: Optional[list[str]] = None  # restrict backgrounds; None = all
    observers: int = 8  # simulated gaze (saliency records); no effect on GAN training
    fixations_per_observer: tuple[int, int] = (3, 6)
    gaze_sigma: float = 0.035
    # items are manipulation triplets (source image, instruction, target image, change mask; seed 004's
    # CSS-style edits, wordsight.data.manipulation_pairs) instead of captioned scenes: TIRG's data
    manipulation: bool = False

    def __post_init__(self) -> None:
        if self.num_scenes < 1:
            raise ConfigError(f"data.synthetic.num_scenes must be >= 1, got {self.num_scenes}")

    def world_options(self) -> dict[str, Any]:
        """Keyword arguments of ``WorldConfig`` (all but seed, image_size and split)."""
        opts = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("num_scenes", "manipulation")}
        return {**opts, "length": self.num_scenes}


@dataclass
class CaptionDataConfig:
    """``data.captions``: options of the captioned-image layouts (cub, oxford, coco, folder). ``null`` means
    the layout's default; a layout's loader gets only the options it has (the others are ignored with a
    warning, so a CUB config can train on a caption folder)."""

    split: Optional[str] = None  # cub/oxford: train (default) | test; coco: train (default) | val; folder: all
    captions_per_image: Optional[int] = None  # cub/oxford: 10, coco: 5; folder: every line of the .txt
    crop: Optional[bool] = None  # cub: AttnGAN's bounding-box crop (default true)
    year: Optional[str] = None  # coco: 2014 | 2017 (default: the annotation file found)
    check_images: bool = True  # open every image when the data set is read (false: only check it exists)

    def __post_init__(self) -> None:
        if self.captions_per_image is not None and self.captions_per_image < 1:
            raise ConfigError(f"data.captions.captions_per_image must be >= 1, got {self.captions_per_image}")


@dataclass
class DataConfig:
    """``data``: the source a config is for, the text side (shared by every source), and the options of
    each kind of source. ``--data`` may name another source than ``source`` (a folder with a CUB config);
    only the section of the source trained on is used."""

    source: Literal["synthetic", "cub", "oxford", "coco", "folder"] = "synthetic"
    text_encoder: Literal["minilm", "bilstm"] = "minilm"  # bilstm: a frozen DAMSM text encoder
    text_encoder_path: Optional[str] = None  # bilstm: a `wordsight train damsm` folder (or its text_encoder/)
    sentence_whitening: int = 0  # k > 0: PCA-whiten the sentence vectors to k dimensions (model.sentence_dim = k)
    hard_negatives: Any = None  # synthetic world only: true (colour, shape, size), false/null, or a list of them
    synthetic: SyntheticDataConfig = field(default_factory=SyntheticDataConfig)
    captions: CaptionDataConfig = field(default_factory=CaptionDataConfig)

    def __post_init__(self) -> None:
        if isinstance(self.synthetic, dict):
            self.synthetic = _section(SyntheticDataConfig, self.synthetic, "data.synthetic")
        if isinstance(self.captions, dict):
            self.captions = _section(CaptionDataConfig, self.captions, "data.captions")
        if self.source not in DATA_SOURCES:
            raise ConfigError(f"data.source: {self.source!r} is not one of {list(DATA_SOURCES)}")
        if self.text_encoder not in TEXT_ENCODERS:
            raise ConfigError(f"data.text_encoder must be 'minilm' or 'bilstm', got {self.text_encoder!r}")
        if self.sentence_whitening < 0:
            raise ConfigError(f"data.sentence_whitening must be >= 0 (0 = off), got {self.sentence_whitening}")
        hard_negative_attributes(self.hard_negatives)  # validates

    @staticmethod
    def config_key_hint(key: str) -> str:
        """Where a key of the flat pre-2027 ``data:`` section lives now (for the unknown-key error)."""
        sections = {"synthetic": (SyntheticDataConfig, "the synthetic world"), "captions": (CaptionDataConfig, "cub/oxford/coco/folder")}
        homes = [f"data.{name}.{key} ({what})" for name, (cls, what) in sections.items() if key in {f.name for f in dataclasses.fields(cls)}]
        return f"{key!r} moved into a section of its data source: {' or '.join(homes)}" if homes else ""


def _section(cls: type, value: dict, where: str) -> Any:
    from ..config import _from_dict

    return _from_dict(cls, value, where)


def hard_negative_attributes(value: Any) -> tuple[str, ...] | None:
    """``data.hard_negatives``: false/None (off), true (colour, shape and size) or a list of them."""
    from ..data.synthetic import ATTRIBUTES

    if value is None or value is False:
        return None
    if value is True:
        return ATTRIBUTES
    values = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    bad = [v for v in values if v not in ATTRIBUTES] if values is not None else [value]
    if bad or not values:
        raise ConfigError(f"data.hard_negatives must be true, false or a list of {list(ATTRIBUTES)}, got {value!r}")
    return tuple(values)


@dataclass
class TrainConfig:
    """Everything the loop needs. ``batch_size`` is per process; the global batch is
    ``batch_size * num_processes * grad_accum``."""

    system: str = "dfgan"
    model: dict[str, Any] = field(default_factory=dict)
    optimizers: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)  # the data source and its options (DataConfig)
    batch_size: int = 32
    steps: int = 10_000
    minutes: float | None = None  # time budget; training stops at whichever of steps/minutes comes first
    grad_accum: int = 1
    # updates per training step for a phase, by phase name (e.g. {d: 2}: two D updates on two fresh batches
    # per G update, WGAN's n_critic); unnamed phases run once
    phase_repeats: dict[str, int] = field(default_factory=dict)
    # "step": the learning rate times lr_decay_factor every lr_decay_every steps or lr_decay_every_epochs
    # epochs (GAN-INT-CLS and StackGAN halve it every 100 epochs); "linear"/"cosine" decay to 0 at `steps`
    lr_schedule: Literal["constant", "linear", "cosine", "step"] = "constant"
    lr_decay_every: int = 0  # steps between decays of lr_schedule "step" (0: use lr_decay_every_epochs)
    lr_decay_every_epochs: float = 0.0  # epochs between decays (an epoch: the data set's length / global batch)
    lr_decay_factor: float = 0.5
    warmup_steps: int = 0
    grad_clip: float | None = None
    ema_decay: float = 0.999
    ema_warmup: bool = False  # decay min(ema_decay, (1+s)/(10+s)): useful for short runs
    mixed_precision: str | bool = "auto"  # "auto" (bf16 where the hardware has it, else fp32), "no", "bf16", "fp16" (GPU); YAML's bare no = "no"
    channels_last: bool = True
    device: Literal["auto", "cpu"] = "auto"
    seed: int = 0
    deterministic: bool = False
    log_every: int = 10
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_last: int = 3
    num_samples: int = 16
    max_bad_steps: int = 10  # stop after this many consecutive steps with non-finite losses/gradients
    tensorboard: bool = True
    progress: bool = True
    # evaluation during training (training/evaluation.py; docs/training.md, "Evaluation during training"): the
    # EMA generator, measured with each registered metric named in `metrics` on one image per caption of each
    # split in `eval_splits`, every `eval_every` steps and/or `eval_every_minutes` minutes, and at the end;
    # one JSON line per split is appended to <run>/metric-<name>.jsonl
    eval_every: int = 0  # steps between evaluations; 0 = off (unless eval_every_minutes is set)
    eval_every_minutes: float | None = None  # training minutes between evaluations (evaluation time not counted)
    metrics: list[str] = field(default_factory=lambda: ["oracle"])  # wordsight.metrics.list_metrics() names
    eval_captions: int = 128  # captions per split (the synthetic world's, with the run's world options)
    eval_splits: list[str] = field(default_factory=lambda: ["test", "heldout"])
    eval_seed: int = 1234  # world seed of the evaluation captions (1234: those of eval.json and the quick start)
    eval_oracle: Optional[str] = None  # oracle folder for oracle/oracle_fid/oracle_kid (null: the shipped oracle)

    @property
    def evaluates(self) -> bool:
        """Whether the loop evaluates at all (``eval_every`` > 0 or ``eval_every_minutes`` set)."""
        return self.eval_every > 0 or self.eval_every_minutes is not None

    def __post_init__(self) -> None:
        if isinstance(self.data, dict):  # TrainConfig(data={...}) built in code
            self.data = _section(DataConfig, self.data, "data")
        # YAML reads a bare `no`/`off` as false; accept that (and true = bf16) rather than surprise users
        if isinstance(self.mixed_precision, bool):
            self.mixed_precision = "bf16" if self.mixed_precision else "no"
        if self.mixed_precision not in PRECISIONS:
            raise ConfigError(f"mixed_precision: {self.mixed_precision!r} is not one of {list(PRECISIONS)}")
        positive = ["batch_size", "grad_accum", "log_every", "sample_every", "checkpoint_every", "keep_last", "num_samples", "max_bad_steps"]
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.steps < 0 or self.warmup_steps < 0:
            raise ConfigError(f"steps and warmup_steps must be >= 0, got {self.steps} and {self.warmup_steps}")
        if self.minutes is not None and self.minutes <= 0:
            raise ConfigError(f"minutes must be positive, got {self.minutes}")
        if self.lr_decay_every < 0 or self.lr_decay_every_epochs < 0 or not 0.0 < self.lr_decay_factor <= 1.0:
            raise ConfigError(f"lr_decay_every and lr_decay_every_epochs must be >= 0 and lr_decay_factor in (0, 1], got "
                              f"{self.lr_decay_every}, {self.lr_decay_every_epochs} and {self.lr_decay_factor}")
        if self.lr_schedule == "step" and (self.lr_decay_every > 0) == (self.lr_decay_every_epochs > 0):
            raise ConfigError("lr_schedule step needs exactly one of lr_decay_every (steps) and lr_decay_every_epochs, "
                              f"got {self.lr_decay_every} and {self.lr_decay_every_epochs}")
        if not isinstance(self.phase_repeats, dict):
            raise ConfigError(f"phase_repeats must map phase names to counts, e.g. {{d: 2}}, got {self.phase_repeats!r}")
        for name, count in self.phase_repeats.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ConfigError(f"phase_repeats.{name} must be an integer >= 1, got {count!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"grad_clip must be positive or null, got {self.grad_clip}")
        self._check_evaluation()

    def _check_evaluation(self) -> None:
        if self.eval_every < 0:
            raise ConfigError(f"eval_every must be >= 0 (0 = off), got {self.eval_every}")
        if self.eval_every_minutes is not None and self.eval_every_minutes <= 0:
            raise ConfigError(f"eval_every_minutes must be positive or null, got {self.eval_every_minutes}")
        if self.eval_captions < 1:
            raise ConfigError(f"eval_captions must be >= 1, got {self.eval_captions}")
        bad = [s for s in self.eval_splits if s not in EVAL_SPLITS]
        if bad or not self.eval_splits or len(set(self.eval_splits)) != len(self.eval_splits):
            raise ConfigError(f"eval_splits must be distinct names from {list(EVAL_SPLITS)}, got {self.eval_splits!r}")
        if self.evaluates and not self.metrics:
            raise ConfigError("metrics is empty but evaluation is on (eval_every / eval_every_minutes); name metrics, "
                              "e.g. [oracle], or set eval_every=0")


def resolve_optimizers(cfg: TrainConfig, defaults: dict[str, OptimizerConfig]) -> dict[str, OptimizerConfig]:
    """The system's default optimizer settings, updated field by field with ``cfg.optimizers``."""
    unknown = sorted(set(cfg.optimizers) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown optimizer {unknown[0]!r} for system {cfg.system!r}; its optimizers: {', '.join(sorted(defaults))}")
    out = {}
    for name, default in defaults.items():
        override = cfg.optimizers.get(name) or {}
        if isinstance(override, OptimizerConfig):
            override = dataclasses.asdict(override)
        if not isinstance(override, dict):
            raise ConfigError(f"optimizers.{name} must be a mapping (lr, betas, weight_decay, eps), got {override!r}")
        out[name] = config_from_dict(OptimizerConfig, {**dataclasses.asdict(default), **override})
    return out
