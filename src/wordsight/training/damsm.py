"""Pre-training the DAMSM text and image encoders (AttnGAN ``code/pretrain_DAMSM.py``), and R-precision
with the trained pair.

DAMSM is not a GAN, so this is a plain loop, not the Accelerate GAN loop of ``loop.py``: each step draws
a batch of distinct items, one of each item's captions at random, encodes both sides and minimises the
DAMSM loss (AttnGAN eq. 14, :func:`wordsight.losses.damsm.damsm_loss`) with Adam (AttnGAN: betas
(0.5, 0.999)) and the text encoder's gradient norm clipped to 0.25 (``TRAIN.RNN_GRAD_CLIP``).

    from wordsight.training.damsm import DAMSMTrainConfig, train_damsm_synthetic
    result = train_damsm_synthetic("runs/damsm", DAMSMTrainConfig(steps=600))
    result.r_precision["r_precision"]   # fraction of fresh scenes whose own caption ranks first of 100

Data: anything indexable whose items have ``.image`` (PIL), ``.captions`` (list of str) and optionally
``.label`` (a class id): :class:`~wordsight.data.synthetic.SyntheticWorld` (items are ``Scene``) or a
sequence of :class:`~wordsight.data.records.CaptionedImage`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

from ..config import ConfigError, config_to_dict, register_checks
from ..data.synthetic import SyntheticWorld, WorldConfig
from ..hub import save_pretrained
from ..losses.damsm import GAMMA1, GAMMA2, GAMMA3, DAMSMLoss, damsm_loss
from ..metrics.generation.r_precision import fold_mean_std, r_precision_hits
from ..models.damsm import IMAGE_ENCODER_DIR, TEXT_ENCODER_DIR, SmallDAMSMImageEncoder, load_damsm_pair
from ..text.bilstm import DAMSMTextEncoder
from ..text.tokenizer import Vocabulary
from ..utils.checks import InputError
from ..utils.hardware import resolve_precision
from ..utils.images import pil_to_tensor
from ..utils.io import append_jsonl, atomic_write_json
from ..utils.seed import get_rng_state, set_rng_state
from .config import COUNT
from .rundir import truncate_metrics
from .run_checkpoints import (check_folder_resume_config, load_run_checkpoint, remove_checkpoints, resolve_folder_resume,
                              save_run_checkpoint, stop_on_signals)

__all__ = [
    "DAMSMTrainConfig",
    "DAMSMTrainResult",
    "NonFiniteDAMSMLossError",
    "build_synthetic_damsm",
    "damsm_embeddings",
    "damsm_step_loss",
    "damsm_r_precision",
    "load_run_checkpoint",
    "resolve_folder_resume",
    "save_run_checkpoint",
    "stop_on_signals",
    "train_damsm",
    "train_damsm_synthetic",
    "vocabulary_from_data",
]

METRICS_FILE = "metrics.json"
LOG_FILE = "metrics.jsonl"


@dataclass
class DAMSMTrainConfig:
    """Options of :func:`train_damsm`; AttnGAN's values where it has one (``cfg/DAMSM/bird.yml``)."""

    steps: int = 600
    batch_size: int = 32  # AttnGAN 48 (birds); smaller on CPU
    image_size: int = 64  # items are resized to this side before the image encoder
    lr: float = 2e-4  # AttnGAN ENCODER_LR 0.002 in bird.yml, "0.0002 best" in its comment
    betas: tuple[float, float] = (0.5, 0.999)
    rnn_grad_clip: float = 0.25  # TRAIN.RNN_GRAD_CLIP, applied to the text encoder only
    gamma1: float = GAMMA1
    gamma2: float = GAMMA2
    gamma3: float = GAMMA3
    mask_same_class: bool = True  # AttnGAN: same-class pairs are not negatives (needs item labels)
    num_items: int | None = 4096  # training pool: items 0..num_items-1 (None = the whole dataset)
    mixed_precision: Literal["auto", "no", "bf16"] = "auto"  # encoders only (auto: bf16 where native); the loss is always float32
    minutes: float | None = None  # time budget; stops at whichever of steps/minutes comes first
    seed: int = 0
    log_every: int = 50
    eval_images: int = 1000  # fresh items for R-precision after training (0 = skip)
    eval_distractors: int = 99
    progress: bool = True
    checkpoint_every: int = 100  # steps between crash-safe checkpoints (out_dir/checkpoint-<step>/)
    keep_last: int = 2  # checkpoints kept while the run is unfinished (a finished run removes them)
    deterministic: bool = False  # torch.use_deterministic_algorithms for the run (GPU; CPU kernels already are)

    def __post_init__(self) -> None:
        for name in ("steps", "log_every", "checkpoint_every", "keep_last"):
            if getattr(self, name) < 1:
                raise ConfigError(f"DAMSMTrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise ConfigError(f"DAMSMTrainConfig.batch_size must be >= 2 (the loss contrasts pairs), got {self.batch_size}")
        if self.num_items is not None and self.num_items < self.batch_size:
            raise ConfigError(f"DAMSMTrainConfig.num_items ({self.num_items}) must be >= batch_size ({self.batch_size})")
        if self.mixed_precision not in ("auto", "no", "bf16"):
            raise ConfigError(f"DAMSMTrainConfig.mixed_precision must be 'auto', 'no' or 'bf16', got {self.mixed_precision!r}")
        if self.eval_images < 0 or self.eval_distractors < 1:
            raise ConfigError("DAMSMTrainConfig: eval_images must be >= 0 and eval_distractors >= 1")


@dataclass
class DAMSMTrainResult:
    out_dir: Path
    steps: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    r_precision: dict[str, float] | None = None
    stopped_by: str = "steps"  # "steps", "time", "SIGINT" or "SIGTERM" (then out_dir keeps its last checkpoint)


class NonFiniteDAMSMLossError(RuntimeError):
    """The DAMSM loss became NaN/inf (the message names the step and the loss terms)."""


# ---------------------------------------------------------------------------------------------------
# data


class _ItemPool:
    """Items ``0..size-1`` of a dataset as uint8 image tensors at one size, captions and labels, cached
    (uint8: a 64 px image costs 12 KB, 4096 of them 50 MB)."""

    def __init__(self, data: Any, size: int, image_size: int):
        self.data, self.size, self.image_size = data, size, image_size
        self._cache: dict[int, tuple[torch.Tensor, list[str], int | None]] = {}

    def get(self, index: int) -> tuple[torch.Tensor, list[str], int | None]:
        if index not in self._cache:
            item = self.data[index]
            for attr in ("image", "captions"):
                if not hasattr(item, attr):
                    raise InputError(f"data item {index} ({type(item).__name__}) has no .{attr}")
            if not item.captions:
                raise InputError(f"data item {index} has no captions")
            image = _resized(item.image, self.image_size)
            pixels = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).contiguous()
            label = getattr(item, "label", None)
            self._cache[index] = (pixels, list(item.captions), None if label is None else int(label))
        return self._cache[index]


def _resized(image: Image.Image, size: int) -> Image.Image:
    if image.size == (size, size):
        return image
    return image.convert("RGB").resize((size, size), Image.BICUBIC)


def _uint8_to_unit_range(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.float() / 127.5 - 1.0  # same mapping as utils.images.pil_to_tensor


def _sample_batch(pool: _ItemPool, batch_size: int, generator: torch.Generator):
    """Distinct items (as AttnGAN's shuffled loader), one random caption each."""
    indices = torch.randperm(pool.size, generator=generator)[:batch_size].tolist()
    images, captions, labels = [], [], []
    for index in indices:
        pixels, caps, label = pool.get(index)
        images.append(pixels)
        captions.append(caps[int(torch.randint(len(caps), (1,), generator=generator))])
        labels.append(label)
    class_ids = None if any(lab is None for lab in labels) else torch.tensor(labels)
    return _uint8_to_unit_range(torch.stack(images)), captions, class_ids


def vocabulary_from_data(data: Any, num_items: int = 512) -> Vocabulary:
    """A vocabulary built from every caption of items ``0..num_items-1`` (with ``<unk>`` for the rest)."""
    n = min(num_items, len(data))
    if n < 1:
        raise InputError("vocabulary_from_data: the dataset is empty")
    return Vocabulary.build(cap for i in range(n) for cap in data[i].captions)


# ---------------------------------------------------------------------------------------------------
# training


def _device_of(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _autocast(cfg: DAMSMTrainConfig, device: torch.device):
    enabled = resolve_precision(cfg.mixed_precision, device) == "bf16"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def damsm_step_loss(
    text_encoder: nn.Module,
    image_encoder: nn.Module,
    images: torch.Tensor,
    captions: Sequence[str],
    class_ids: torch.Tensor | None,
    cfg: DAMSMTrainConfig,
) -> DAMSMLoss:
    """Encode a batch (the image CNN under bf16 autocast if configured) and return the float32 DAMSM loss.

    The text BiLSTM always runs in float32: it is a small part of the cost, recurrent state is where bf16
    rounding accumulates, and oneDNN has no bf16 LSTM on CPUs without native bf16 (it raises)."""
    device = _device_of(image_encoder)
    with _autocast(cfg, device):
        regions, image_global = image_encoder(images.to(device))
    text = text_encoder.encode(list(captions))
    return damsm_loss(
        regions, image_global, text.words, text.sentence, text.mask,
        class_ids.to(device) if (cfg.mask_same_class and class_ids is not None) else None,
        cfg.gamma1, cfg.gamma2, cfg.gamma3,
    )


def _trainable(module: nn.Module) -> list[nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def _fresh_eval_data(data: Any) -> Any | None:
    """For a synthetic world: the ``test`` split of the same world (scenes never seen in training)."""
    if isinstance(data, SyntheticWorld) and data.split != "test":
        return SyntheticWorld(dataclasses.replace(data.config, split="test"))
    if isinstance(data, SyntheticWorld):  # training on "test": evaluate on another seed's test scenes
        return SyntheticWorld(dataclasses.replace(data.config, seed=data.config.seed + 1))
    return None


def train_damsm(
    world_or_dataset: Any,
    text_encoder: nn.Module,
    image_encoder: nn.Module,
    cfg: DAMSMTrainConfig,
    out_dir: str | Path,
    eval_data: Any | None = None,
    resume: str | Path | None = None,
) -> DAMSMTrainResult:
    """Train a DAMSM text/image encoder pair and save both, plus metrics, under ``out_dir``.

    Args:
        world_or_dataset: a SyntheticWorld or an indexable dataset of CaptionedImage-like items.
        text_encoder: a trainable encoder with ``encode(texts) -> TextFeatures`` (e.g. DAMSMTextEncoder).
        image_encoder: ``images [B,3,H,W] in [-1,1] -> (regions [B,D,h,w], global [B,D])``, same D.
        cfg: :class:`DAMSMTrainConfig`.
        out_dir: the run folder: ``text_encoder/`` and ``image_encoder/`` (save_pretrained), ``metrics.json``
            (config, loss history, R-precision), ``metrics.jsonl`` (one line per log step) and, while the run
            is unfinished, ``checkpoint-<step>/`` every ``cfg.checkpoint_every`` steps.
        eval_data: items for the R-precision check; default: fresh ``test`` scenes for a SyntheticWorld,
            none (no check) for other datasets.
        resume: ``"latest"`` (the newest checkpoint in ``out_dir``), or a checkpoint or run folder; training
            continues exactly (same batches, dropout and optimizer state) and writes to ``out_dir``.
            ``None`` starts afresh, and refuses an ``out_dir`` that holds checkpoints of an unfinished run.

    SIGINT/SIGTERM finish the current step, save a checkpoint and return (``stopped_by`` names the
    signal; R-precision is skipped); a second signal aborts at once. Raises NonFiniteDAMSMLossError
    when the loss becomes NaN/inf.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pool = _ItemPool(world_or_dataset, min(cfg.num_items or len(world_or_dataset), len(world_or_dataset)), cfg.image_size)
    if pool.size < cfg.batch_size:
        raise InputError(f"train_damsm: the dataset has {pool.size} items, fewer than batch_size {cfg.batch_size}")
    checkpoint = resolve_folder_resume(out_dir, resume)
    _set_determinism(cfg.deterministic)
    generator = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)  # dropout in the text encoder
    optimizer = torch.optim.Adam(_trainable(text_encoder) + _trainable(image_encoder), lr=cfg.lr, betas=cfg.betas)
    networks = {"text_encoder": text_encoder, "image_encoder": image_encoder}
    run = _DAMSMRun(cfg, out_dir, networks, optimizer, generator)
    if checkpoint is not None:
        run.restore(checkpoint)
    else:
        truncate_metrics(out_dir, 0, LOG_FILE)  # a fresh run in a used folder starts a fresh log
    text_encoder.train()
    image_encoder.train()
    stopped_by = run.train(pool)
    history = run.history + ([_log_record(run.window, run.step, run.seconds())] if run.window else [])
    eval_data = eval_data if eval_data is not None else _fresh_eval_data(world_or_dataset)
    rp = None
    if eval_data is not None and cfg.eval_images > 0 and stopped_by in ("steps", "time"):
        rp = damsm_r_precision(
            text_encoder, image_encoder, eval_data, cfg.eval_images, cfg.eval_distractors,
            seed=cfg.seed, image_size=cfg.image_size,
        )
    save_pretrained(text_encoder, out_dir / TEXT_ENCODER_DIR)
    save_pretrained(image_encoder, out_dir / IMAGE_ENCODER_DIR)
    seconds = run.seconds()
    atomic_write_json(out_dir / METRICS_FILE, {
        "config": config_to_dict(cfg), "steps": run.step, "seconds": round(seconds, 2),
        "history": history, "r_precision": rp, "stopped_by": stopped_by,
    })
    if run.step >= cfg.steps:  # finished: the encoders above are the result, the checkpoints are spent
        remove_checkpoints(out_dir)
    return DAMSMTrainResult(out_dir, run.step, seconds, history, rp, stopped_by)


# config fields a resumed run may change (the rest decide the batches and updates and must match)
RESUMABLE_CHANGES = ("steps", "minutes", "progress", "log_every", "eval_images", "eval_distractors",
                     "checkpoint_every", "keep_last")


class _DAMSMRun:
    """The mutable part of a DAMSM run (step, sampling generator, loss window, history), its training
    steps and its checkpoints."""

    def __init__(self, cfg: DAMSMTrainConfig, out_dir: Path, networks: dict[str, nn.Module],
                 optimizer: torch.optim.Optimizer, generator: torch.Generator):
        self.cfg, self.out_dir, self.networks, self.optimizer, self.generator = cfg, out_dir, networks, optimizer, generator
        self.step, self.history, self.window = 0, [], []
        self._seconds_before, self._started = 0.0, time.monotonic()
        # "auto" is resolved once per run and kept in the checkpoints: re-resolving it when resuming (a timing
        # benchmark on CPUs, cached per machine) could pick the other precision and change the numbers
        self.precision = resolve_precision(cfg.mixed_precision, _device_of(networks["image_encoder"]))

    def step_config(self) -> DAMSMTrainConfig:
        return dataclasses.replace(self.cfg, mixed_precision=self.precision)

    def seconds(self) -> float:
        """Training seconds over all sessions of the run."""
        return self._seconds_before + time.monotonic() - self._started

    def train(self, pool: _ItemPool) -> str:
        cfg, step_cfg, text_encoder = self.cfg, self.step_config(), self.networks["text_encoder"]
        session_start = time.monotonic()
        bar = tqdm(total=cfg.steps, initial=self.step, desc="damsm", disable=not cfg.progress, dynamic_ncols=True)
        stopped_by = "steps"
        with stop_on_signals() as stop:
            while self.step < cfg.steps:
                images, captions, class_ids = _sample_batch(pool, cfg.batch_size, self.generator)
                loss = damsm_step_loss(text_encoder, self.networks["image_encoder"], images, captions, class_ids, step_cfg)
                values = loss.as_floats()
                if not math.isfinite(values["loss"]):
                    raise NonFiniteDAMSMLossError(f"DAMSM loss is not finite at step {self.step}: {values}")
                self.optimizer.zero_grad(set_to_none=True)
                loss.total.backward()
                nn.utils.clip_grad_norm_(_trainable(text_encoder), cfg.rnn_grad_clip)
                self.optimizer.step()
                self.window.append(values)
                self.step += 1
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    record = _log_record(self.window, self.step, self.seconds())
                    self.history.append(record)
                    append_jsonl(self.out_dir / LOG_FILE, record)
                    bar.set_postfix(loss=f"{record['loss']:.3f}")
                    self.window = []
                timed_out = cfg.minutes is not None and time.monotonic() - session_start > 60 * cfg.minutes
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps or timed_out or stop.signal:
                    self.checkpoint()
                if timed_out or stop.signal:
                    stopped_by = stop.signal or "time"
                    break
        bar.close()
        return stopped_by

    def checkpoint(self) -> Path:
        state = {
            "optimizer": self.optimizer.state_dict(), "rng": get_rng_state(), "sampler": self.generator.get_state(),
            "history": self.history, "window": self.window, "seconds": self.seconds(), "config": config_to_dict(self.cfg),
            "precision": self.precision,
        }
        return save_run_checkpoint(self.out_dir, self.step, self.networks, state, self.cfg, self.cfg.keep_last)

    def restore(self, folder: Path) -> None:
        state = load_run_checkpoint(folder, self.networks)
        check_folder_resume_config(folder, state["config"], self.cfg, RESUMABLE_CHANGES)
        self.optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        self.generator.set_state(state["sampler"])
        self.precision = str(state["precision"])
        self.step, self.history, self.window = int(state["step"]), list(state["history"]), list(state["window"])
        self._seconds_before, self._started = float(state["seconds"]), time.monotonic()
        truncate_metrics(self.out_dir, self.step, LOG_FILE)


def _set_determinism(deterministic: bool) -> None:
    """Deterministic kernels for this run (a process-wide switch, set once before training)."""
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def _log_record(window: list[dict[str, float]], step: int, seconds: float) -> dict[str, float]:
    """Mean of each loss term over the steps since the last log."""
    record = {k: sum(v[k] for v in window) / len(window) for k in window[0]}
    return {"step": step, "seconds": round(seconds, 2), **record}


# ---------------------------------------------------------------------------------------------------
# embeddings and R-precision


def _as_image_batch(images: torch.Tensor | Sequence[Image.Image], image_size: int | None) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        return images
    if image_size is None:
        return torch.stack([pil_to_tensor(im) for im in images])
    return torch.stack([pil_to_tensor(_resized(im, image_size)) for im in images])


@torch.no_grad()
def damsm_embeddings(
    text_encoder: nn.Module,
    image_encoder: nn.Module,
    images: torch.Tensor | Sequence[Image.Image],
    captions: Sequence[str],
    batch_size: int = 64,
    image_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(image_global [N, D], sentence [N, D]) in float32 on the CPU, encoders in eval mode.

    ``images``: float [N, 3, H, W] in [-1, 1], or PIL images (resized to ``image_size`` if given).
    Row i of both outputs belongs to pair i. The encoders' train/eval modes are restored afterwards.
    """
    captions = list(captions)
    if len(images) != len(captions) or not captions:
        raise InputError(f"damsm_embeddings: {len(images)} images but {len(captions)} captions (need the same, > 0)")
    modes = (text_encoder.training, image_encoder.training)
    text_encoder.eval()
    image_encoder.eval()
    device = _device_of(image_encoder)
    try:
        image_out, text_out = [], []
        for lo in range(0, len(captions), batch_size):
            batch = _as_image_batch(images[lo:lo + batch_size], image_size).to(device)
            image_out.append(image_encoder(batch)[1].float().cpu())
            text_out.append(text_encoder.encode(captions[lo:lo + batch_size]).sentence.float().cpu())
        return torch.cat(image_out), torch.cat(text_out)
    finally:
        text_encoder.train(modes[0])
        image_encoder.train(modes[1])


def damsm_r_precision(
    text_encoder: nn.Module,
    image_encoder: nn.Module,
    data: Any,
    num_images: int = 1000,
    num_distractors: int = 99,
    seed: int = 0,
    image_size: int | None = None,
) -> dict[str, float]:
    """R-precision of a DAMSM pair on items ``0..num_images-1`` of ``data`` (AttnGAN protocol, ground truth
    images instead of generated ones).

    Each image takes one of its captions at random (seeded); it is ranked by cosine of the global image
    vector against its own caption's sentence vector and ``num_distractors`` captions of other images
    (:func:`wordsight.metrics.generation.r_precision.r_precision_hits`). Returns the mean hit rate over
    images (``r_precision``), the std over 10 folds, the number of images and chance level
    ``1 / (1 + num_distractors)``.
    """
    n = min(num_images, len(data))
    if n < 10:  # fold_mean_std needs 10 folds
        raise InputError(f"damsm_r_precision: need at least 10 items, got {n}")
    generator = torch.Generator().manual_seed(seed)
    images, captions = [], []
    for i in range(n):
        item = data[i]
        images.append(item.image)
        captions.append(item.captions[int(torch.randint(len(item.captions), (1,), generator=generator))])
    image_emb, text_emb = damsm_embeddings(text_encoder, image_encoder, images, captions, image_size=image_size)
    hits = r_precision_hits(image_emb, text_emb, num_distractors=num_distractors, generator=generator)
    _, fold_std = fold_mean_std(hits, 10, generator)
    return {
        "r_precision": float(hits.double().mean()),
        "r_precision_fold_std": fold_std,
        "num_images": n,
        "num_distractors": num_distractors,
        "chance": 1.0 / (1 + num_distractors),
    }


# ---------------------------------------------------------------------------------------------------
# the synthetic-world recipe


def build_synthetic_damsm(
    world: SyntheticWorld,
    image_size: int = 64,
    channels: Sequence[int] = (16, 32, 64, 128),
    embed_dim: int = 256,
    word_embedding_dim: int = 300,
    vocabulary_items: int = 512,
) -> tuple[DAMSMTextEncoder, SmallDAMSMImageEncoder]:
    """A fresh DAMSM pair for the synthetic world: AttnGAN's BiLSTM (vocabulary from the world's
    captions) and a :class:`SmallDAMSMImageEncoder`."""
    vocabulary = vocabulary_from_data(world, vocabulary_items)
    text_encoder = DAMSMTextEncoder.from_vocabulary(vocabulary, embedding_dim=word_embedding_dim, hidden_dim=embed_dim)
    image_encoder = SmallDAMSMImageEncoder(image_size=image_size, channels=tuple(channels), embed_dim=embed_dim)
    return text_encoder, image_encoder


def train_damsm_synthetic(
    out_dir: str | Path,
    cfg: DAMSMTrainConfig | None = None,
    world_seed: int = 0,
    channels: Sequence[int] = (16, 32, 64, 128),
    embed_dim: int = 256,
    min_objects: int = 1,
    max_objects: int = 3,
    init_from: str | Path | None = None,
    resume: str | Path | None = None,
) -> DAMSMTrainResult:
    """Train a DAMSM pair on the synthetic world's ``train`` split and report R-precision on fresh
    ``test`` scenes with the same number of objects. The CLI ``wordsight train damsm --data synthetic``
    maps onto this.

    ``init_from``: an earlier output folder whose encoders training continues from (with a fresh
    optimizer; ``channels`` and ``embed_dim`` are then the folder's). ``resume``: as :func:`train_damsm`
    (the encoders are built as for the interrupted run, then take the checkpoint's weights)."""
    cfg = cfg or DAMSMTrainConfig()
    world = SyntheticWorld(WorldConfig(seed=world_seed, image_size=cfg.image_size, split="train",
                                       min_objects=min_objects, max_objects=max_objects))
    torch.manual_seed(cfg.seed)  # encoder initialisation
    if init_from is not None:
        text_encoder, image_encoder = load_damsm_pair(init_from, frozen=False, what="init_from")
        if getattr(image_encoder, "image_size", cfg.image_size) != cfg.image_size:
            raise InputError(f"init_from: {init_from} was trained at {image_encoder.image_size} px, not --image-size {cfg.image_size}")
    else:
        text_encoder, image_encoder = build_synthetic_damsm(world, cfg.image_size, channels, embed_dim)
    return train_damsm(world, text_encoder, image_encoder, cfg, out_dir, resume=resume)


register_checks(DAMSMTrainConfig, {"checkpoint_every": COUNT, "keep_last": COUNT})
