"""The typed training config (one for every GAN system; the system's own options live under ``model``).

    cfg = load_config(TrainConfig, "my_run.yaml", ["steps=2000", "model.nf=16", "optimizers.d.lr=2e-4"])

``model`` is checked by the system's config class (e.g. :class:`DFGANConfig`) and ``optimizers`` fills in
the system's published defaults per optimizer (DF-GAN: g 1e-4, d 4e-4, betas (0.0, 0.9)), so a YAML only
names what it changes. A misspelled key anywhere is a :class:`ConfigError` listing the valid keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from ..config import ConfigError, config_from_dict


PRECISIONS = ("auto", "no", "bf16", "fp16")


@dataclass
class OptimizerConfig:
    """Adam(W) settings for one optimizer."""

    lr: float = 1e-4
    betas: tuple[float, float] = (0.0, 0.9)
    weight_decay: float = 0.0
    eps: float = 1e-8


@dataclass
class TrainConfig:
    """Everything the loop needs. ``batch_size`` is per process; the global batch is
    ``batch_size * num_processes * grad_accum``."""

    system: str = "dfgan"
    model: dict[str, Any] = field(default_factory=dict)
    optimizers: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # data-source options (synthetic: world keys, num_scenes)
    batch_size: int = 32
    steps: int = 10_000
    minutes: float | None = None  # time budget; training stops at whichever of steps/minutes comes first
    grad_accum: int = 1
    # updates per training step for a phase, by phase name (e.g. {d: 2}: two D updates on two fresh batches
    # per G update, WGAN's n_critic); unnamed phases run once
    phase_repeats: dict[str, int] = field(default_factory=dict)
    lr_schedule: Literal["constant", "linear", "cosine"] = "constant"
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

    def __post_init__(self) -> None:
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
        if not isinstance(self.phase_repeats, dict):
            raise ConfigError(f"phase_repeats must map phase names to counts, e.g. {{d: 2}}, got {self.phase_repeats!r}")
        for name, count in self.phase_repeats.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ConfigError(f"phase_repeats.{name} must be an integer >= 1, got {count!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"grad_clip must be positive or null, got {self.grad_clip}")


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
