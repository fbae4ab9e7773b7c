"""The typed training config (one for every GAN system; the system's own options live under ``model``).

    cfg = load_config(TrainConfig, "my_run.yaml", ["steps=2000", "model.nf=16", "optimizers.d.lr=2e-4"])

``model`` is checked by the system's config class (e.g. :class:`DFGANConfig`) and ``optimizers`` fills in
the system's published defaults per optimizer (DF-GAN: g 1e-4, d 4e-4, betas (0.0, 0.9)), so a YAML only
names what it changes. ``data`` is a :class:`DataConfig`: the data source the config is for, the text
options shared by every source, and one section of options per kind of source (``synthetic`` for the
built-in world, ``captions`` for the captioned-image layouts); only the section of the source that is
actually trained on reaches its loader. A misspelled key anywhere is a :class:`ConfigError` listing the
valid keys, and every value is checked when the config is loaded (the :func:`~wordsight.config.register_checks`
tables below: ranges, choices, powers of two, for every section, the systems' ``model`` sections included),
so a bad value is one error naming its key before any data is made or run folder created.

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

from ..config import Check, ConfigError, _from_dict, check_fields, checked_values, register_checks


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
        check_fields(self, "optimizer")


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
        check_fields(self, "data.synthetic")
        if self.min_objects > self.max_objects:
            raise ConfigError(f"data.synthetic.min_objects ({self.min_objects}) must be <= data.synthetic.max_objects ({self.max_objects})")
        low, high = self.fixations_per_observer
        if low > high:
            raise ConfigError(f"data.synthetic.fixations_per_observer must be [fewest, most], got [{low}, {high}]")

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
        check_fields(self, "data.captions")


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
        check_fields(self, "data")
        hard_negative_attributes(self.hard_negatives)  # validates

    @staticmethod
    def config_key_hint(key: str) -> str:
        """Where a key of the flat pre-2027 ``data:`` section lives now (for the unknown-key error)."""
        sections = {"synthetic": (SyntheticDataConfig, "the synthetic world"), "captions": (CaptionDataConfig, "cub/oxford/coco/folder")}
        homes = [f"data.{name}.{key} ({what})" for name, (cls, what) in sections.items() if key in {f.name for f in dataclasses.fields(cls)}]
        return f"{key!r} moved into a section of its data source: {' or '.join(homes)}" if homes else ""


def _section(cls: type, value: dict, where: str) -> Any:
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
    # a training sample that cannot be read (truncated image, vanished file): "stop" saves a checkpoint of the
    # last completed step and stops with an error naming the sample; "skip" (map-style data sets) uses the
    # next readable index instead and counts it (logged as data_errors_skipped; TrainResult.skipped_samples)
    data_errors: Literal["stop", "skip"] = "stop"
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
        check_fields(self)
        if self.lr_schedule == "step" and (self.lr_decay_every > 0) == (self.lr_decay_every_epochs > 0):
            raise ConfigError("lr_schedule step needs exactly one of lr_decay_every (steps) and lr_decay_every_epochs, "
                              f"got {self.lr_decay_every} and {self.lr_decay_every_epochs}")
        if not isinstance(self.phase_repeats, dict):
            raise ConfigError(f"phase_repeats must map phase names to counts, e.g. {{d: 2}}, got {self.phase_repeats!r}")
        for name, count in self.phase_repeats.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ConfigError(f"phase_repeats.{name} must be an integer >= 1, got {count!r}")
        if len(set(self.eval_splits)) != len(self.eval_splits):
            raise ConfigError(f"eval_splits must be distinct names from {list(EVAL_SPLITS)}, got {self.eval_splits!r}")
        if self.evaluates and not self.metrics:
            raise ConfigError("metrics is empty but evaluation is on (eval_every / eval_every_minutes); name metrics, "
                              "e.g. [oracle], or set eval_every=0")

    def check_loaded(self) -> None:
        """The checks that depend on ``system`` or a registry (run by ``load_config``; a config built in code
        may pair a ``model`` with another system given to ``train``): ``system`` is registered, every ``model``
        key and value fits its config class (its checks of several values together, and values it requires,
        run when the model is built: a shipped config may leave a path to the command line),
        ``optimizers`` and ``phase_repeats`` name its optimizers and phases, each optimizer's settings are
        valid, and ``metrics`` are registered metrics."""
        from .objective import SYSTEMS

        if self.system not in SYSTEMS:
            raise ConfigError(f"system must be one of {SYSTEMS.names()}, got {self.system!r}")
        objective = SYSTEMS.get(self.system)
        model_cls = objective.config_cls
        if isinstance(self.model, model_cls):
            check_fields(self.model, "model")
        else:  # each value; the system's own checks of several values run when it is built (build_objective)
            checked_values(model_cls, dict(self.model), "model")
        phases = tuple(getattr(objective, "phases", ()))
        optimizers = sorted({p.optimizer for p in phases})
        if not isinstance(self.optimizers, dict):
            raise ConfigError(f"optimizers must map optimizer names ({', '.join(optimizers)}) to settings, got {self.optimizers!r}")
        for name, settings in self.optimizers.items():
            if name not in optimizers:
                raise ConfigError(f"unknown optimizer {name!r} for system {self.system!r}; its optimizers: {', '.join(optimizers)}")
            if isinstance(settings, OptimizerConfig):
                check_fields(settings, f"optimizers.{name}")
            elif isinstance(settings, dict):
                _from_dict(OptimizerConfig, settings, f"optimizers.{name}")
            elif settings is not None:
                raise ConfigError(f"optimizers.{name} must be a mapping (lr, betas, weight_decay, eps, kind, momentum), got {settings!r}")
        names = [p.name for p in phases]
        msg = METRIC_NAMES.problem(self.metrics, "metrics")
        if msg:
            raise ConfigError(msg)
        unknown = sorted(set(self.phase_repeats) - set(names))
        if unknown:
            raise ConfigError(f"phase_repeats names unknown phase {unknown[0]!r}; this system's phases: {', '.join(names)}")


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
        out[name] = _from_dict(OptimizerConfig, {**dataclasses.asdict(default), **override}, f"optimizers.{name}")
    return out


# ---------------------------------------------------------------------------------------------------
# The allowed values of every field (wordsight.config.Check). The systems' model config classes are named
# by "module.QualName": their modules import this one, so this table cannot import them.

COUNT = Check(ge=1)
OFF_OR_COUNT = Check(ge=0, note="0 = off")
NON_NEGATIVE = Check(ge=0)
POSITIVE = Check(gt=0)
WEIGHT = Check(ge=0, note="0 = off")  # a loss weight
SEED = Check(ge=0, le=2**32 - 1)
PROBABILITY = Check(ge=0, le=1)
TRUNCATION = Check(gt=0, le=1)  # models.dfgan.truncated_noise
WIDTHS = Check(nonempty=True, each=COUNT)


def _metric_names() -> list[str]:
    from ..metrics import list_metrics

    return list_metrics()


def _backgrounds() -> list[str]:
    from ..data.synthetic import BACKGROUNDS

    return list(BACKGROUNDS)


register_checks(OptimizerConfig, {
    "lr": POSITIVE, "betas": Check(each=Check(ge=0, lt=1)), "weight_decay": NON_NEGATIVE, "eps": POSITIVE,
    "momentum": Check(ge=0, lt=1),
})
register_checks(SyntheticDataConfig, {
    "num_scenes": COUNT, "min_objects": Check(ge=1, le=3), "max_objects": Check(ge=1, le=3), "captions_per_image": COUNT,
    "backgrounds": Check(nonempty=True, each=Check(choices=_backgrounds)), "observers": COUNT,
    "fixations_per_observer": Check(each=COUNT), "gaze_sigma": POSITIVE,
})
register_checks(CaptionDataConfig, {
    "split": Check(choices=("train", "test", "val", "all")), "captions_per_image": COUNT,
    "year": Check(choices=("2014", "2017")),
})
register_checks(DataConfig, {"sentence_whitening": OFF_OR_COUNT})
# checked by TrainConfig.check_loaded (at load; a config built in code meets training.evaluation's check)
METRIC_NAMES = Check(each=Check(choices=_metric_names, ignore_case=True))
register_checks(TrainConfig, {
    "batch_size": COUNT, "steps": NON_NEGATIVE, "minutes": POSITIVE, "grad_accum": COUNT,
    "lr_decay_every": Check(ge=0, note="0 = use lr_decay_every_epochs"), "lr_decay_every_epochs": NON_NEGATIVE,
    "lr_decay_factor": Check(gt=0, le=1), "warmup_steps": NON_NEGATIVE, "grad_clip": POSITIVE, "ema_decay": Check(ge=0, lt=1),
    "seed": SEED, "log_every": COUNT, "sample_every": COUNT, "checkpoint_every": COUNT, "keep_last": COUNT,
    "num_samples": COUNT, "max_bad_steps": COUNT, "data_errors": Check(choices=("stop", "skip")), "eval_every": OFF_OR_COUNT, "eval_every_minutes": POSITIVE,
    "eval_captions": COUNT,
    "eval_splits": Check(nonempty=True, each=Check(choices=EVAL_SPLITS)), "eval_seed": SEED,
})

_OBJECTIVES = "wordsight.training.objectives"
_ATTNGAN = {
    "branch_num": Check(ge=1, le=6), "base_size": Check(power_of_two=True, ge=16), "gf_dim": COUNT, "df_dim": COUNT,
    "z_dim": COUNT, "sentence_dim": COUNT, "c_dim": COUNT, "r_num": NON_NEGATIVE, "words_num": COUNT,
    "damsm_weight": WEIGHT, "gamma1": POSITIVE, "gamma2": POSITIVE, "gamma3": POSITIVE, "kl_weight": WEIGHT,
    "image_size": Check(power_of_two=True, ge=16), "truncation": TRUNCATION,
}
MODEL_CHECKS: dict[str, dict[str, Check]] = {
    f"{_OBJECTIVES}.dfgan.DFGANConfig": {
        "nf": COUNT, "z_dim": COUNT, "sentence_dim": COUNT, "image_size": Check(power_of_two=True, ge=8),
        "ma_gp_k": NON_NEGATIVE, "ma_gp_p": POSITIVE, "truncation": TRUNCATION, "d_gamma_init": Check(finite=True),
        "damsm_sentence_weight": WEIGHT, "damsm_gamma3": POSITIVE, "damsm_hard_negative_weight": WEIGHT,
        "ma_gp_every": Check(ge=1, note="1 = every step, the exact recipe"),
    },
    f"{_OBJECTIVES}.attngan.AttnGANConfig": _ATTNGAN,  # DualAttnGANConfig inherits these (its two bools need none)
    f"{_OBJECTIVES}.gan_int_cls.GANINTCLSConfig": {
        "ngf": COUNT, "ndf": COUNT, "z_dim": COUNT, "sentence_dim": COUNT, "text_dim": COUNT,
        "image_size": Check(power_of_two=True, ge=16), "cls_weight": Check(ge=0, lt=1), "interp_weight": WEIGHT,
        "interp_beta": PROBABILITY, "truncation": TRUNCATION, "instance_noise": Check(ge=0, note="0 = off"),
        "real_label": Check(gt=0.5, le=1, note="1 = no smoothing"), "ma_gp_weight": Check(ge=0, note="0 = off"),
        "ma_gp_p": POSITIVE, "d_layout": Check(choices=("as_run", "residual")),
    },
    f"{_OBJECTIVES}.gan_int_cls.StyleEncoderConfig": {"nf": COUNT},
    f"{_OBJECTIVES}.stackgan.StackGANConfig": {
        "stage": Check(choices=(1, 2)), "ngf": COUNT, "ndf": COUNT, "z_dim": COUNT, "sentence_dim": COUNT, "c_dim": COUNT,
        "stage1_size": Check(power_of_two=True, ge=16), "upscale": Check(power_of_two=True, ge=2), "r_num": NON_NEGATIVE,
        "kl_weight": WEIGHT, "image_size": Check(power_of_two=True, ge=16), "truncation": TRUNCATION,
    },
    f"{_OBJECTIVES}.stackgan_pp.StackGANPPConfig": {
        "branch_num": Check(ge=1, le=6), "base_size": Check(power_of_two=True, ge=16), "gf_dim": COUNT, "df_dim": COUNT,
        "z_dim": COUNT, "sentence_dim": COUNT, "c_dim": COUNT, "r_num": NON_NEGATIVE, "kl_weight": WEIGHT,
        "uncond_weight": WEIGHT, "colour_weight": WEIGHT, "image_size": Check(power_of_two=True, ge=16), "truncation": TRUNCATION,
    },
    f"{_OBJECTIVES}.sisgan.SISGANConfig": {
        "vocabulary": Check(nonempty=True), "image_size": Check(power_of_two=True, ge=16), "ngf": COUNT, "ndf": COUNT,
        "text_dim": COUNT, "word_embedding_dim": COUNT, "c_dim": COUNT, "r_num": NON_NEGATIVE, "max_length": COUNT,
        "embedding_channels": WIDTHS, "embedding_steps": Check(ge=0, note="0 skips the text-embedding stage"),
        "margin": NON_NEGATIVE, "mismatch_weight": WEIGHT, "fake_weight": WEIGHT, "kl_weight": WEIGHT,
    },
    f"{_OBJECTIVES}.tagan.TAGANConfig": {
        "vocabulary": Check(nonempty=True), "image_size": Check(power_of_two=True, ge=32), "nf": COUNT, "text_dim": COUNT,
        "word_embedding_dim": COUNT, "c_dim": COUNT, "r_num": NON_NEGATIVE, "max_length": COUNT,
        "lambda_cond": WEIGHT, "lambda_rec": WEIGHT, "kl_weight": WEIGHT,
    },
    f"{_OBJECTIVES}.tirg.TIRGConfig": {
        "vocabulary": Check(nonempty=True), "embed_dim": COUNT, "word_embedding_dim": COUNT, "image_size": COUNT,
        "channels": WIDTHS, "normalize_scale": POSITIVE, "text_dropout": Check(ge=0, lt=1), "max_length": COUNT,
    },
    # `wordsight train damsm` builds this from its options (cli/train_damsm.py); config_from_dict checks it
    "wordsight.training.damsm.DAMSMTrainConfig": {
        "steps": COUNT, "batch_size": Check(ge=2, note="the loss contrasts pairs"), "image_size": Check(multiple_of=16, ge=16),
        "lr": POSITIVE, "betas": Check(each=Check(ge=0, lt=1)), "rnn_grad_clip": POSITIVE, "gamma1": POSITIVE,
        "gamma2": POSITIVE, "gamma3": POSITIVE, "num_items": COUNT, "minutes": POSITIVE, "seed": SEED, "log_every": COUNT,
        "eval_images": Check(ge=0, note="0 = skip"), "eval_distractors": COUNT,
    },
}
for _name, _checks in MODEL_CHECKS.items():
    register_checks(_name, _checks)
