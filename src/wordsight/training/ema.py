"""Exponential moving average of a network's weights (used for samples and evaluation)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(module: nn.Module) -> nn.Module:
    """A frozen copy of ``module`` in eval mode (same device and memory format)."""
    ema = copy.deepcopy(module).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, module: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * module for parameters; buffers are copied."""
    for e, p in zip(ema.parameters(), module.parameters()):
        e.lerp_(p.detach(), 1.0 - decay)
    for e, b in zip(ema.buffers(), module.buffers()):
        e.copy_(b)


def ema_decay_at(cfg, step: int) -> float:
    """The EMA decay used after ``step`` updates: ``cfg.ema_decay``, warmed up as (1 + s) / (10 + s) when
    ``cfg.ema_warmup`` is set, so a short run's EMA is not dominated by its random initialisation
    (TensorFlow's ExponentialMovingAverage num_updates rule). A pure function of the step: resume stays exact."""
    if getattr(cfg, "ema_warmup", False):
        return min(cfg.ema_decay, (1.0 + step) / (10.0 + step))
    return cfg.ema_decay
