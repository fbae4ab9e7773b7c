"""A small dedicated training loop for the saliency systems: SALICON, SalGAN and the text-aligned SalGAN.

Why not the generic GAN loop (``training/loop.py``): SalGAN's schedule is per *epoch* (15 BCE-only epochs)
and, afterwards, alternates D and G over *batches* (``objective.updates_for(batch_index)``), while the
generic loop runs a fixed list of phases every step. The saliency data sets are small enough to live in
memory as tensors (``training.saliency_data``), so this loop is plain PyTorch on one process.

    cfg = SaliencyTrainConfig(system="text-salgan", input_size=(64, 64), epochs=5)
    result = train_saliency(cfg, train_tensors, "runs", val_data=val_tensors)

Per step s: the batch is slice ``s mod steps_per_epoch`` of a permutation seeded by (seed, epoch), and
torch is seeded with (seed, s), so a run resumed from ``checkpoint-s`` continues as the uninterrupted run
would have. Run folder::

    runs/00002-text-salgan-synthetic/
      config.yaml            resolved config
      metrics.jsonl          per log interval: step, epoch, g/loss, g/content, d/loss, d/d_real ... and
                             val/cc, val/kld at every checkpoint
      samples/step-000200.png  image | target | prediction overlays for fixed validation records
      checkpoint-200/        generator.safetensors, discriminator.safetensors, models.json,
                             state.safetensors + state.json (optimizers, step), config.yaml
      generator/             the final generator (wordsight.hub.from_pretrained loads it)
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn

from ..config import Check, ConfigError, check_fields, check_kwargs, register_checks, save_config
from ..hub import save_pretrained, save_weights, state_dict_for_save
from ..losses.saliency_objectives import SALICONObjective, SaliencyGANObjective, SalGANObjective, TextSalGANObjective
from ..metrics.saliency import cc, kld
from ..models.salgan import SalGANDiscriminator, SalGANGenerator
from ..models.saliency import predict_maps, save_saliency_folder
from ..models.salicon import SALICON
from ..models.text_salgan import ARCHS, TextSalGANDiscriminator, TextSalGANGenerator
from ..models.vgg import NORMALIZATIONS, default_vgg16_path
from ..utils.checks import InputError
from ..utils.images import heatmap_overlay, make_grid, tensor_to_pil
from ..utils.io import atomic_dir, atomic_path, atomic_write_json
from ..utils.registry import Registry, RegistryError
from .checkpoint import list_checkpoints, load_module_weights, load_state, prune_checkpoints, save_state
from .config import COUNT, NON_NEGATIVE, OFF_OR_COUNT, POSITIVE, SEED
from .run_checkpoints import stop_on_signals
from .data import mix_seed
from .rundir import MetricsLogger, make_run_dir, resolve_resume, truncate_metrics
from .saliency_data import SaliencyDataConfig, SaliencyTensors, augment_saliency_batch, check_augment

log = logging.getLogger(__name__)

__all__ = ["SALIENCY_SYSTEMS", "SaliencySystem", "SaliencyTrainConfig", "SaliencyTrainResult", "build_networks",
           "train_saliency"]

OPTIMIZERS = ("adam", "adagrad", "sgd")


@dataclass
class SaliencyTrainConfig:
    """Everything a saliency run needs; ``model`` / ``discriminator`` / ``objective`` are checked
    against the init arguments of the system's classes (a misspelled key lists the valid ones)."""

    system: str = "text-salgan"
    model: dict = field(default_factory=dict)  # generator init args (SALICON: width, frozen_blocks, ...)
    discriminator: dict = field(default_factory=dict)  # discriminator init args (not input_size/text_dim)
    objective: dict = field(default_factory=dict)  # alpha, warmup_epochs, content_pool, d_reduction, alternate
    input_size: tuple[int, int] = (64, 64)  # (height, width) images and maps are resized to
    augment: dict = field(default_factory=dict)  # hflip / zoom / color (saliency_data.augment_saliency_batch); off by default
    text_encoder: str = "minilm"  # text-salgan only
    text_cache: Optional[str] = None  # MiniLM embedding cache folder
    vgg_weights: Optional[str] = None  # torchvision vgg16-397923af.pth; None = $WORDSIGHT_VGG16 / torch hub path
    random_init: bool = False  # allow training from random VGG weights when no weights file exists
    # fine-tuning: a saliency pipeline folder or shipped name (osie, synthetic-text) whose generator starts the
    # run; its architecture (model options, input size) replaces the config's (see resolve_init_from)
    init_from: Optional[str] = None
    optimizer: Optional[str] = None  # adam | adagrad | sgd; None = the system's published choice
    lr: Optional[float] = None  # generator learning rate; None = the published one
    lr_d: Optional[float] = None  # discriminator learning rate; None = lr
    momentum: float = 0.9  # sgd
    weight_decay: float = 0.0
    batch_size: int = 16
    epochs: int = 20
    steps: Optional[int] = None  # overrides epochs when set
    minutes: Optional[float] = None  # stop (with a checkpoint) after this many minutes of this session
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 200
    keep_last: int = 2
    num_samples: int = 6
    progress: bool = True
    data: SaliencyDataConfig = field(default_factory=SaliencyDataConfig)

    def check_loaded(self) -> None:
        """``load_config`` runs :func:`check_config` (the sections checked against the system's classes)."""
        check_config(self)


@dataclass
class SaliencyTrainResult:
    run_dir: Path
    step: int
    generator: nn.Module = dataclasses.field(repr=False)
    discriminator: Optional[nn.Module] = dataclasses.field(repr=False)
    stopped_by: str  # "steps", "time" or "interrupt" (SIGINT or SIGTERM: the step finished and was checkpointed)


def _checked_kwargs(cls: type, values: dict, what: str, reserved: tuple[str, ...] = ()) -> dict:
    valid = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", *reserved)]
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise ConfigError(f"unknown {what} option(s) {unknown} for {cls.__name__}; valid: {valid}")
    return dict(values)


def check_config(cfg: SaliencyTrainConfig) -> None:
    """Every value of a saliency config: the fields (the checks registered below), ``input_size`` against what
    the system's networks take, and ``model`` / ``discriminator`` / ``objective`` against the init arguments
    of the system's classes (keys, types and values)."""
    if cfg.system not in SALIENCY_SYSTEMS:
        raise ConfigError(f"system must be one of {SALIENCY_SYSTEMS.names()}, got {cfg.system!r}")
    check_fields(cfg)
    if isinstance(cfg.data, SaliencyDataConfig):
        check_fields(cfg.data, "data")
    for name in ("model", "discriminator", "objective", "augment"):
        if not isinstance(getattr(cfg, name), dict):
            raise ConfigError(f"{name}: expected a mapping, got {getattr(cfg, name)!r}")
    check_augment(cfg.augment)
    system = SALIENCY_SYSTEMS.get(cfg.system)
    _checked_kwargs(system.generator, cfg.model, "model", ("text_dim", "fine_size", "coarse_size"))
    check_kwargs(system.generator, cfg.model, "model")
    if system.discriminator is not None:
        _checked_kwargs(system.discriminator, cfg.discriminator, "discriminator", ("text_dim", "input_size"))
        check_kwargs(system.discriminator, cfg.discriminator, "discriminator")
    elif cfg.discriminator:
        raise ConfigError(f"{cfg.system} has no discriminator; remove the discriminator options")
    _checked_kwargs(system.objective, cfg.objective, "objective", _OBJECTIVE_RESERVED)
    check_kwargs(system.objective, cfg.objective, "objective")
    size = _input_size_check(system, cfg.model)
    msg = size.problem(list(cfg.input_size), "input_size") if size is not None else None
    if msg:
        raise ConfigError(f"{msg} ({cfg.system}{' ' + cfg.model['arch'] if 'arch' in cfg.model else ''})")


def _input_size_check(system: "SaliencySystem", model: dict) -> Optional[Check]:
    """What (height, width) the system's networks take: SalGAN and the full text-SalGAN pool 4 times
    (multiples of 16), the small text-SalGAN once (even), SALICON's coarse half-size stream needs >= 32."""
    if system.generator is SALICON:
        return Check(each=Check(ge=64, note="its coarse stream is half the size and needs >= 32"))
    if system.generator is TextSalGANGenerator and model.get("arch", "full") == "small":
        return Check(each=Check(ge=2, multiple_of=2))
    if system.generator in (SalGANGenerator, TextSalGANGenerator):
        return Check(each=Check(ge=16, multiple_of=16))
    return None


# objective init arguments the loop passes itself (the networks), not options of the config
_OBJECTIVE_RESERVED = ("model", "generator", "discriminator")
NetworkBuilder = Callable[[SaliencyTrainConfig, dict, Optional[int]], tuple[nn.Module, Optional[nn.Module]]]


@dataclass(frozen=True)
class SaliencySystem:
    """What a saliency system is made of, registered by name in :data:`SALIENCY_SYSTEMS` (the loop reads
    nothing else, so a new system is one ``SALIENCY_SYSTEMS.register(name, SaliencySystem(...))``).

    ``build(cfg, model_kwargs, text_dim) -> (generator, discriminator or None)`` builds the networks from
    the config (``model_kwargs``: ``cfg.model`` after the loop's defaults); the objective is called as
    ``objective(generator, **cfg.objective)``, or ``objective(generator, discriminator, **cfg.objective)``
    when there is a discriminator. ``optimizer``: the published (name, learning rate).
    """

    generator: type[nn.Module]
    discriminator: Optional[type[nn.Module]]
    objective: type
    build: NetworkBuilder
    optimizer: tuple[str, float]
    uses_text: bool = False  # the data carry sentence vectors (a text encoder is built for the run)
    # what `wordsight train <name>` offers: its shipped default config, default --data and one line of help
    default_config: str = ""
    default_data: str = "synthetic"
    summary: str = ""


SALIENCY_SYSTEMS: Registry[SaliencySystem] = Registry("saliency system")


def resolve_init_from(cfg: SaliencyTrainConfig) -> SaliencyTrainConfig:
    """With ``init_from``: the config with the source generator's model options and input size (the weights
    only fit that architecture), after checking the source is a generator of ``cfg.system``."""
    if not cfg.init_from:
        return cfg
    from ..hub import model_class, read_pretrained_config
    from ..models.saliency import MODEL_DIR, PIPELINE_FILE, resolve_saliency_folder

    folder = resolve_saliency_folder(cfg.init_from)
    meta = read_pretrained_config(folder / MODEL_DIR)
    want = SALIENCY_SYSTEMS.get(cfg.system).generator
    try:
        have = model_class(str(meta.get("model_type")))
    except RegistryError:  # an unknown model type is the same user error as a wrong one
        have = None
    if have is not want:
        raise ConfigError(f"init_from={cfg.init_from}: that model is a {meta.get('model_type')}, "
                          f"not a {cfg.system} generator ({want.__name__})")
    import json

    size = json.loads((folder / PIPELINE_FILE).read_text(encoding="utf-8"))["input_size"]
    model = {k: v for k, v in meta.get("config", {}).items() if k not in ("text_dim", "fine_size", "coarse_size")}
    return dataclasses.replace(cfg, model=model, input_size=(int(size[0]), int(size[1])))


def _load_init_from(gen: nn.Module, cfg: SaliencyTrainConfig) -> None:
    from ..hub import from_pretrained
    from ..models.saliency import MODEL_DIR, resolve_saliency_folder

    source = from_pretrained(resolve_saliency_folder(cfg.init_from) / MODEL_DIR)
    try:
        gen.load_state_dict(source.state_dict())
    except RuntimeError as exc:
        raise ConfigError(f"init_from={cfg.init_from}: its weights do not fit this generator ({exc})") from exc


def _vgg_init(model: nn.Module, cfg: SaliencyTrainConfig) -> None:
    """Pretrained VGG-16 weights when the file exists; random init only when allowed by ``random_init``."""
    if cfg.init_from:  # the whole generator comes from a trained model
        return
    if not hasattr(model, "load_vgg16_weights") or getattr(model, "arch", "full") == "small":
        return
    path = Path(cfg.vgg_weights) if cfg.vgg_weights else default_vgg16_path()
    if path.exists():
        model.load_vgg16_weights(path)
        return
    if cfg.vgg_weights:  # a file the user named is never silently replaced by random weights
        raise InputError(f"VGG-16 weights not found at {path} (vgg_weights / --vgg); nothing is downloaded: "
                         "get torchvision's vgg16-397923af.pth and give its local path")
    if not cfg.random_init:
        raise InputError(
            f"VGG-16 weights not found at {path}; pass vgg_weights=PATH, set $WORDSIGHT_VGG16, "
            "or train from random weights with --random-init (much weaker)"
        )
    log.warning("VGG-16 weights not found at %s: training from random initialisation", path)


def build_networks(cfg: SaliencyTrainConfig, text_dim: Optional[int] = None) -> tuple[nn.Module, Optional[nn.Module]]:
    """The generator (or SALICON network) and the discriminator (None for SALICON) of ``cfg.system``."""
    check_config(cfg)
    h, w = cfg.input_size
    model_kwargs = dict(cfg.model)
    if cfg.random_init and "frozen_blocks" not in model_kwargs:
        model_kwargs["frozen_blocks"] = 0  # frozen random features cannot learn anything
    gen, disc = SALIENCY_SYSTEMS.get(cfg.system).build(cfg, model_kwargs, text_dim)
    _vgg_init(gen, cfg)
    return gen, disc


def build_objective(cfg: SaliencyTrainConfig, gen: nn.Module, disc: Optional[nn.Module]):
    cls = SALIENCY_SYSTEMS.get(cfg.system).objective
    options = _checked_kwargs(cls, cfg.objective, "objective", _OBJECTIVE_RESERVED)
    return cls(gen, **options) if disc is None else cls(gen, disc, **options)


# ---------------------------------------------------------------------------- the systems
def _salicon_networks(cfg: SaliencyTrainConfig, model_kwargs: dict, text_dim: Optional[int]):
    h, w = cfg.input_size
    kwargs = {"fine_size": (h, w), "coarse_size": (h // 2, w // 2), **model_kwargs}
    return SALICON(**_checked_kwargs(SALICON, kwargs, "model")), None


def _salgan_networks(cfg: SaliencyTrainConfig, model_kwargs: dict, text_dim: Optional[int]):
    h, w = cfg.input_size
    gen = SalGANGenerator(**_checked_kwargs(SalGANGenerator, model_kwargs, "model"))
    dkw = _checked_kwargs(SalGANDiscriminator, cfg.discriminator, "discriminator", ("input_size",))
    return gen, SalGANDiscriminator(input_size=(h, w), **dkw)


def _text_salgan_networks(cfg: SaliencyTrainConfig, model_kwargs: dict, text_dim: Optional[int]):
    if text_dim is None:
        raise InputError("text-salgan needs the text embedding size (text_dim)")
    h, w = cfg.input_size
    gkw = _checked_kwargs(TextSalGANGenerator, model_kwargs, "model", ("text_dim",))
    gen = TextSalGANGenerator(text_dim=text_dim, **gkw)
    dkw = _checked_kwargs(TextSalGANDiscriminator, cfg.discriminator, "discriminator", ("text_dim", "input_size"))
    dkw.setdefault("arch", gen.arch)
    return gen, TextSalGANDiscriminator(text_dim=text_dim, input_size=(h, w), **dkw)


# Published optimiser settings (REFERENCE-NOTES): SALICON SGD 1e-6, momentum 0.9, weight decay 5e-4;
# SalGAN AdaGrad 3e-4; seed 000 builds on the CLIP-SalGAN code, which uses Adam.
SALIENCY_SYSTEMS.register("salicon", SaliencySystem(SALICON, None, SALICONObjective, _salicon_networks, ("sgd", 1e-6),
                                                    default_config="salicon_osie", default_data="osie:data/osie",
                                                    summary="SALICON saliency (Huang et al. 2015, OpenSalicon)"))
SALIENCY_SYSTEMS.register("salgan", SaliencySystem(SalGANGenerator, SalGANDiscriminator, SalGANObjective, _salgan_networks,
                                                   ("adagrad", 3e-4), default_config="salgan_osie", default_data="osie:data/osie",
                                                   summary="SalGAN saliency (Pan et al. 2017)"))
SALIENCY_SYSTEMS.register("text-salgan", SaliencySystem(TextSalGANGenerator, TextSalGANDiscriminator, TextSalGANObjective,
                                                        _text_salgan_networks, ("adam", 1e-4), uses_text=True,
                                                        default_config="text_salgan_synthetic", default_data="synthetic",
                                                        summary="text-aligned SalGAN saliency (seed 000)"))


# ---------------------------------------------------------------------------- the allowed values
def _text_encoders() -> list[str]:
    from .. import text  # noqa: F401  (registers the encoders)
    from ..text.base import ENCODERS

    return ENCODERS.names()


def _saliency_categories() -> list[str]:
    from ..data.records import SALIENCY_CATEGORIES

    return list(SALIENCY_CATEGORIES)


_FROZEN_BLOCKS = Check(ge=0, le=5)
_NORMALIZATION = Check(choices=tuple(NORMALIZATIONS))
register_checks(SaliencyTrainConfig, {
    "input_size": Check(each=COUNT), "text_encoder": Check(choices=_text_encoders), "optimizer": Check(choices=OPTIMIZERS),
    "lr": Check(ge=0, note="0 keeps the weights"), "lr_d": Check(ge=0, note="0 keeps the weights"), "momentum": Check(ge=0, lt=1), "weight_decay": NON_NEGATIVE, "batch_size": COUNT,
    "epochs": COUNT, "steps": COUNT, "minutes": POSITIVE, "seed": SEED, "log_every": COUNT, "checkpoint_every": COUNT,
    "keep_last": COUNT, "num_samples": COUNT,
})
register_checks(SaliencyDataConfig, {
    "num_scenes": COUNT, "test_scenes": COUNT, "image_size": Check(ge=16, le=256),
    "categories": Check(nonempty=True, each=Check(choices=_saliency_categories)), "world_seed": SEED,
    "test_fraction": Check(gt=0, lt=1), "split_seed": SEED, "limit": COUNT,
})
register_checks(SalGANGenerator, {"width": POSITIVE, "frozen_blocks": _FROZEN_BLOCKS, "normalization": _NORMALIZATION,
                                  "center_prior": OFF_OR_COUNT})
register_checks(SalGANDiscriminator, {"width": POSITIVE})
register_checks(SALICON, {"width": POSITIVE, "frozen_blocks": _FROZEN_BLOCKS, "normalization": _NORMALIZATION})
register_checks(TextSalGANGenerator, {"variant": Check(choices=("G1", "G2")), "arch": Check(choices=ARCHS), "width": POSITIVE,
                                      "text_channels": COUNT, "frozen_blocks": _FROZEN_BLOCKS, "normalization": _NORMALIZATION})
register_checks(TextSalGANDiscriminator, {"variant": Check(choices=("D1", "D2")), "arch": Check(choices=ARCHS), "width": POSITIVE,
                                          "text_channels": COUNT})
register_checks(SaliencyGANObjective, {"alpha": NON_NEGATIVE, "warmup_epochs": NON_NEGATIVE, "content_pool": COUNT,
                                       "d_reduction": Check(choices=("mean", "sum"))})
register_checks(SALICONObjective, {"reduction": Check(choices=("mean", "caffe2015"))})


def _optimizer(cfg: SaliencyTrainConfig, module: nn.Module, lr: float) -> torch.optim.Optimizer:
    name = cfg.optimizer or SALIENCY_SYSTEMS.get(cfg.system).optimizer[0]
    params = [p for p in module.parameters() if p.requires_grad]
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


# ---------------------------------------------------------------------------- checkpoints
def _networks(gen: nn.Module, disc: Optional[nn.Module]) -> dict[str, nn.Module]:
    return {"generator": gen, **({"discriminator": disc} if disc is not None else {})}


def save_saliency_checkpoint(run_dir: Path, step: int, nets: dict[str, nn.Module], optims: dict, cfg,
                             window: Optional["_Window"] = None) -> Path:
    """``run_dir/checkpoint-<step>/``, written atomically: weights, optimizer states, the step and the
    loss window not yet logged (so a resumed run logs the same means)."""
    target = Path(run_dir) / f"checkpoint-{step}"
    with atomic_dir(target) as tmp:
        meta = {}
        for name, module in nets.items():
            save_weights(state_dict_for_save(module), tmp / f"{name}.safetensors")
            meta[name] = {"model_type": module.model_type, "config": module.config}
        atomic_write_json(tmp / "models.json", meta)
        save_config(cfg, tmp / "config.yaml")
        state = {"step": step, "optimizers": {k: o.state_dict() for k, o in optims.items()}}
        if window is not None:
            state["window"] = {"sums": window.sums, "counts": window.counts}
        save_state(state, tmp)  # last: state.json marks the folder complete
    prune_checkpoints(run_dir, cfg.keep_last)
    return target


def load_saliency_checkpoint(folder: Path, nets: dict[str, nn.Module], optims: dict,
                             window: Optional["_Window"] = None) -> int:
    """Load weights and optimizer states in place (and the unlogged loss window into ``window``);
    return the step."""
    state = load_state(Path(folder))  # first: it refuses an incomplete folder with a clear message
    for name, module in nets.items():
        load_module_weights(module, Path(folder) / f"{name}.safetensors")
    for name, opt in optims.items():
        opt.load_state_dict(state["optimizers"][name])
    if window is not None and "window" in state:
        window.sums, window.counts = dict(state["window"]["sums"]), dict(state["window"]["counts"])
    return int(state["step"])


# ---------------------------------------------------------------------------- logging helpers
def _validate(gen: nn.Module, val: SaliencyTensors, batch_size: int) -> dict[str, float]:
    """Mean CC and KLD of predictions against the target maps at the input size (a cheap progress
    signal; ``wordsight evaluate saliency`` gives the benchmark metrics at full size)."""
    gen.eval()
    preds = []
    for i in range(0, len(val), batch_size):
        b = val.batch(torch.arange(i, min(i + batch_size, len(val))))
        preds.append(predict_maps(gen, b["images"], b.get("text")))
    gen.train()
    pred = torch.cat(preds)[:, 0].double()
    target = val.maps[:, 0].double()
    return {"val/cc": float(cc(pred, target).nanmean()), "val/kld": float(kld(pred, target).nanmean())}


def save_overlays(gen: nn.Module, val: SaliencyTensors, path: Path, num: int) -> None:
    """One row per record: image, target overlay, prediction overlay."""
    idx = torch.arange(min(num, len(val)))
    b = val.batch(idx)
    gen.eval()
    pred = predict_maps(gen, b["images"], b.get("text"))
    gen.train()
    tiles = []
    for i in range(len(idx)):
        image = tensor_to_pil(b["images"][i]).resize((128, 128 * b["images"].shape[-2] // b["images"].shape[-1]))
        tiles += [image, heatmap_overlay(image, b["maps"][i, 0].numpy()), heatmap_overlay(image, pred[i, 0].numpy())]
    with atomic_path(path) as tmp:
        make_grid(tiles, ncols=3).save(tmp, format="PNG")


class _Window:
    """Running means of the logged loss terms between two log records."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, prefix: str, out: dict[str, torch.Tensor]) -> None:
        for k, v in out.items():
            key = f"{prefix}/{k}"
            self.sums[key] = self.sums.get(key, 0.0) + float(v)
            self.counts[key] = self.counts.get(key, 0) + 1

    def pop(self) -> dict[str, float]:
        out = {k: self.sums[k] / self.counts[k] for k in self.sums}
        self.sums, self.counts = {}, {}
        return out


# ---------------------------------------------------------------------------- the loop
def _start(cfg, root, resume, desc, nets, optims, window) -> tuple[Path, int]:
    if resume is None:
        run_dir = make_run_dir(Path(root), desc)
        save_config(cfg, run_dir / "config.yaml")
        return run_dir, 0
    ckpt = resolve_resume(Path(root), str(resume))
    for pattern in (".checkpoint-*.tmp", ".checkpoint-*.old"):  # checkpoint writes a kill interrupted
        for stale in ckpt.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)
    step = load_saliency_checkpoint(ckpt, nets, optims, window)
    truncate_metrics(ckpt.parent, step)
    return ckpt.parent, step


def train_saliency(
    cfg: SaliencyTrainConfig,
    train_data: SaliencyTensors,
    root: str | Path = "runs",
    resume: Optional[str | Path] = None,
    val_data: Optional[SaliencyTensors] = None,
    desc: Optional[str] = None,
) -> SaliencyTrainResult:
    """Train ``cfg.system`` on ``train_data``; ``resume`` = "latest" or a run/checkpoint folder (the run
    continues exactly: batches, augmentations and dropout are functions of (seed, step)).

    SIGINT/SIGTERM finish the current step, save a checkpoint and return with ``stopped_by="interrupt"``;
    a second signal aborts at once."""
    check_config(cfg)
    cfg = resolve_init_from(cfg)
    if (train_data.text is None) == SALIENCY_SYSTEMS.get(cfg.system).uses_text:
        raise InputError(f"{cfg.system}: training data {'lacks' if train_data.text is None else 'has'} text embeddings")
    if tuple(train_data.images.shape[-2:]) != tuple(cfg.input_size):
        raise InputError(f"training images are {tuple(train_data.images.shape[-2:])}, config input_size {cfg.input_size}")
    torch.manual_seed(cfg.seed)
    text_dim = train_data.text.shape[1] if train_data.text is not None else None
    gen, disc = build_networks(cfg, text_dim)
    if cfg.init_from and resume is None:
        _load_init_from(gen, cfg)
    objective = build_objective(cfg, gen, disc)
    lr = cfg.lr if cfg.lr is not None else SALIENCY_SYSTEMS.get(cfg.system).optimizer[1]
    optims = {"g": _optimizer(cfg, gen, lr)}
    if disc is not None:
        optims["d"] = _optimizer(cfg, disc, cfg.lr_d if cfg.lr_d is not None else lr)
    nets = _networks(gen, disc)
    window = _Window()
    run_dir, step = _start(cfg, root, resume, desc or cfg.system, nets, optims, window)
    val = val_data if val_data is not None else train_data
    per_epoch = max(1, len(train_data) // cfg.batch_size)
    total = cfg.steps if cfg.steps is not None else cfg.epochs * per_epoch
    logger = MetricsLogger(run_dir, tensorboard=False)
    stopped_by = _run(cfg, objective, nets, optims, train_data, val, run_dir, logger, step, total, per_epoch, window)
    logger.close()
    for m in nets.values():
        m.eval()
    save_pretrained(gen, run_dir / "generator")
    return SaliencyTrainResult(run_dir, stopped_by[1], gen, disc, stopped_by[0])


def _run(cfg, objective, nets, optims, data, val, run_dir, logger, step, total, per_epoch, window) -> tuple[str, int]:
    from tqdm.auto import tqdm

    started, bar = time.monotonic(), None
    if cfg.progress:
        bar = tqdm(total=total, initial=step, desc=cfg.system, unit="step", dynamic_ncols=True)
    for m in nets.values():
        m.train()
    stopped_by = "steps"
    with stop_on_signals() as stop:
        while step < total:
            epoch, index = divmod(step, per_epoch)
            perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(mix_seed(cfg.seed, "epoch", epoch)))
            batch = data.batch(perm[index * cfg.batch_size:(index + 1) * cfg.batch_size])
            if cfg.augment:
                # seeded by step, so a resumed run sees the same augmented batches as an unbroken one
                rng = torch.Generator().manual_seed(mix_seed(cfg.seed, "augment", step))
                batch = augment_saliency_batch(batch, rng, **cfg.augment)
            torch.manual_seed(mix_seed(cfg.seed, "step", step))
            objective.set_epoch(epoch)
            for update in objective.updates_for(index):
                optims[update].zero_grad(set_to_none=True)
                out = objective.d_step(batch) if update == "d" else objective.g_step(batch)
                if not torch.isfinite(out["loss"]):
                    raise FloatingPointError(f"non-finite {update} loss at step {step}; last checkpoint in {run_dir}")
                out["loss"].backward()
                optims[update].step()
                window.add(update, {k: v.detach() for k, v in out.items()})
            step += 1
            if bar is not None:
                bar.update(1)
            if step % cfg.log_every == 0 or step == total:
                logger.log({"step": step, "epoch": epoch, **window.pop(), "sec": round(time.monotonic() - started, 2)})
            timed_out = cfg.minutes is not None and time.monotonic() - started > 60 * cfg.minutes
            if step % cfg.checkpoint_every == 0 or step == total or timed_out or stop.signal:
                _checkpoint(cfg, nets, optims, val, run_dir, logger, step, window)
            if timed_out or stop.signal:
                stopped_by = "interrupt" if stop.signal else "time"
                break
    if bar is not None:
        bar.close()
    return stopped_by, step


def _checkpoint(cfg, nets, optims, val, run_dir, logger, step, window) -> None:
    gen = nets["generator"]
    logger.log({"step": step, **_validate(gen, val, cfg.batch_size)})
    (run_dir / "samples").mkdir(exist_ok=True)
    save_overlays(gen, val, run_dir / "samples" / f"step-{step:06d}.png", cfg.num_samples)
    if list_checkpoints(run_dir) and list_checkpoints(run_dir)[-1][0] == step:
        return
    save_saliency_checkpoint(run_dir, step, nets, optims, cfg, window)


# ---------------------------------------------------------------------------- from a data spec
def build_text_encoder_for(cfg: SaliencyTrainConfig):
    """The frozen sentence encoder of a run of a text-guided system (None for the other systems)."""
    if not SALIENCY_SYSTEMS.get(cfg.system).uses_text:
        return None
    from ..text import build_text_encoder

    options = {"cache_dir": cfg.text_cache} if cfg.text_cache else {}
    return build_text_encoder(cfg.text_encoder, **options)


def load_tensors(cfg: SaliencyTrainConfig, data_spec: str, split: str, encoder=None) -> SaliencyTensors:
    """Records of ``split`` of ``data_spec`` as tensors at ``cfg.input_size`` (texts encoded if needed)."""
    from ..data.saliency_transforms import encode_texts
    from .saliency_data import open_saliency_records, records_to_tensors

    records = open_saliency_records(data_spec, split, cfg.data)
    encode = (lambda texts: encode_texts(encoder, texts)) if encoder is not None else None
    return records_to_tensors(records, cfg.input_size, encode)


def train_from_spec(
    cfg: SaliencyTrainConfig, data_spec: str, root: str | Path = "runs", resume: Optional[str] = None,
    desc: Optional[str] = None, text_encoder=None,
) -> tuple[SaliencyTrainResult, Path]:
    """Load the data named by ``data_spec``, train, and save a ready pipeline in ``<run>/pipeline/``.

    Returns the training result and the pipeline folder (``Saliency.from_pretrained`` loads it; the
    folder is written by ``models.saliency.save_saliency_folder``, as ``Saliency.save_pretrained`` does).
    """
    check_config(cfg)
    cfg = resolve_init_from(cfg)
    encoder = text_encoder if text_encoder is not None else build_text_encoder_for(cfg)
    train_data = load_tensors(cfg, data_spec, "train", encoder)
    val_data = load_tensors(cfg, data_spec, "test", encoder)
    result = train_saliency(cfg, train_data, root, resume, val_data, desc or f"{cfg.system}-{data_spec.split(':')[0]}")
    spec = {"name": cfg.text_encoder, "options": {}} if encoder is not None else None
    folder = save_saliency_folder(result.generator, cfg.input_size, result.run_dir / "pipeline", spec,
                                  extra={"trained_on": data_spec, "step": result.step})
    return result, folder
