"""Train the synthetic world's oracle (the command that rebuilds the shipped weights).

    wordsight data train-oracle --out src/wordsight/assets/oracle --steps 3000

Scenes are rendered on the fly from the ``train`` and ``heldout`` splits (so the oracle sees all 48
colour/shape combinations) at sizes 48-128 px and read at 64 px, then it is measured on fresh ``test``
and ``heldout`` scenes it never saw (other random streams / indices).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..config import ConfigError, config_to_dict
from ..data.synthetic import SyntheticWorld, WorldConfig, slot_targets
from ..hub import save_pretrained
from ..models.oracle import SceneOracle
from ..utils.hardware import native_bf16
from ..utils.images import pil_to_tensor
from ..utils.io import atomic_write_json
from ..utils.seed import get_rng_state, seed_everything, set_rng_state
from .run_checkpoints import (check_folder_resume_config, load_run_checkpoint, remove_checkpoints, resolve_folder_resume,
                    save_run_checkpoint, stop_on_signals)

EVAL_OFFSET = 10_000_000  # oracle evaluation indices, far from any training index


@dataclass
class OracleTrainConfig:
    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    eval_scenes: int = 2000
    width: int = 32
    checkpoint_every: int = 250  # steps between crash-safe checkpoints (out_dir/checkpoint-<step>/)
    keep_last: int = 2  # checkpoints kept while the run is unfinished (a finished run removes them)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_scenes", "width", "checkpoint_every", "keep_last"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"OracleTrainConfig.{name} must be an integer >= 1, got {value!r}")
        if not self.lr > 0:
            raise ConfigError(f"OracleTrainConfig.lr must be > 0, got {self.lr!r}")


# config fields a resumed run may change (the rest decide the batches, schedule and updates)
RESUMABLE_CHANGES = ("eval_scenes", "checkpoint_every", "keep_last")


def _render_batch(worlds: list[SyntheticWorld], indices: np.ndarray, sizes: np.ndarray) -> tuple[torch.Tensor, dict]:
    images, targets = [], []
    for w_id, idx, size in zip(indices[:, 0], indices[:, 1], sizes):
        world = worlds[w_id]
        scene = world.scene(int(idx), size=int(size))
        img = pil_to_tensor(scene.image)
        if img.shape[-1] != 64:
            img = F.interpolate(img[None], size=(64, 64), mode="bilinear", antialias=True, align_corners=False)[0]
        images.append(img)
        targets.append(slot_targets(scene.objects, scene.spec.background))
    batch = {k: torch.tensor([t[k] for t in targets]) for k in targets[0]}
    return torch.stack(images), batch


def oracle_loss(out: dict, tgt: dict) -> torch.Tensor:
    loss = F.cross_entropy(out["count"], tgt["count"]) + F.cross_entropy(out["background"], tgt["background"])
    for a in ("color", "shape", "size"):
        loss = loss + F.cross_entropy(out[a].flatten(0, 1).float(), tgt[a].flatten(), ignore_index=-100)
    mask = tgt["position_mask"][..., None]
    loss = loss + 20 * ((out["position"].float() - tgt["position"]) ** 2 * mask).sum() / mask.sum().clamp_min(1)
    return loss


@torch.no_grad()
def evaluate_oracle(oracle: SceneOracle, world: SyntheticWorld, n: int, offset: int = EVAL_OFFSET,
                    batch_size: int = 128) -> dict[str, float]:
    """Per-attribute accuracy on ``n`` fresh scenes of ``world`` (slots that hold an object)."""
    oracle.eval()
    hits = {a: 0 for a in ("count", "background", "color", "shape", "size", "position")}
    totals = {a: 0 for a in hits}
    for start in range(0, n, batch_size):
        idx = np.arange(offset + start, offset + min(n, start + batch_size))
        images, tgt = _render_batch([world], np.stack([np.zeros_like(idx), idx], 1), np.full(len(idx), world.size))
        pred = oracle.predict(images)
        hits["count"] += int((pred["count"] - 1 == tgt["count"]).sum())
        hits["background"] += int((pred["background"] == tgt["background"]).sum())
        totals["count"] += len(idx)
        totals["background"] += len(idx)
        present = tgt["position_mask"] > 0
        for a in ("color", "shape", "size"):
            hits[a] += int(((pred[a] == tgt[a]) & present).sum())
            totals[a] += int(present.sum())
        close = ((pred["position"] - tgt["position"]).abs().max(-1).values < 0.05) & present
        hits["position"] += int(close.sum())
        totals["position"] += int(present.sum())
    return {a: hits[a] / max(totals[a], 1) for a in hits}


def train_oracle(out_dir: str | Path, cfg: OracleTrainConfig | None = None, progress: bool = True,
                 resume: str | Path | None = None) -> dict:
    """Train a :class:`SceneOracle`; write ``model.safetensors`` + ``config.json`` and ``eval.json``
    (accuracies on fresh ``test`` and ``heldout`` scenes) to ``out_dir`` and return that report.

    Every ``cfg.checkpoint_every`` steps ``out_dir/checkpoint-<step>/`` saves the network, AdamW and
    OneCycle states, the scene sampler and the RNG states; ``resume`` (``"latest"``, or a checkpoint or
    run folder) continues from one exactly, so the weights equal an uninterrupted run's bit for bit. A
    finished run removes its checkpoints (``out_dir`` may be the package's assets folder).
    SIGINT/SIGTERM finish the step, save a checkpoint and raise KeyboardInterrupt (no weights, no report).
    """
    cfg = cfg or OracleTrainConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = resolve_folder_resume(out_dir, resume)
    seed_everything(cfg.seed)
    worlds = [SyntheticWorld(WorldConfig(seed=cfg.seed, image_size=64, split=s)) for s in ("train", "heldout")]
    oracle = SceneOracle(width=cfg.width).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(oracle.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    rng = np.random.default_rng(cfg.seed)
    step, seconds_before = 0, 0.0
    if checkpoint is not None:
        step, seconds_before = _restore(checkpoint, cfg, oracle, opt, sched, rng)
    t0 = time.time()

    def save(at: int) -> Path:
        state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": get_rng_state(),
                 "sampler": rng.bit_generator.state, "seconds": seconds_before + time.time() - t0,
                 "config": config_to_dict(cfg)}
        return save_run_checkpoint(out_dir, at, {"oracle": oracle}, state, cfg, cfg.keep_last)

    bar = tqdm(total=cfg.steps, initial=step, desc="oracle", disable=not progress)
    with stop_on_signals() as stop:
        while step < cfg.steps:
            loss = _train_step(oracle, opt, sched, worlds, rng, step, cfg.batch_size)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{loss:.4f}")
            step += 1
            bar.update(1)
            if step % cfg.checkpoint_every == 0 or step == cfg.steps or stop.signal:
                path = save(step)
            if stop.signal:
                bar.close()
                raise KeyboardInterrupt(f"train_oracle: stopped by {stop.signal} after step {step}; checkpoint {path}; "
                                        "continue with resume='latest'")
    bar.close()
    oracle = oracle.to(memory_format=torch.contiguous_format).eval()
    report = {
        "test": evaluate_oracle(oracle, SyntheticWorld(WorldConfig(seed=cfg.seed + 1, image_size=64, split="test")), cfg.eval_scenes),
        "heldout": evaluate_oracle(oracle, SyntheticWorld(WorldConfig(seed=cfg.seed + 1, image_size=64, split="heldout")), cfg.eval_scenes),
        "steps": cfg.steps,
        "train_seconds": round(seconds_before + time.time() - t0, 1),
    }
    save_pretrained(oracle, out_dir, extra={"eval": report})
    atomic_write_json(out_dir / "eval.json", report)
    remove_checkpoints(out_dir)  # the weights above are the result
    return report


def _train_step(oracle: SceneOracle, opt: torch.optim.Optimizer, sched: Any, worlds: list[SyntheticWorld],
                rng: np.random.Generator, step: int, batch_size: int) -> float:
    """One update on a freshly rendered batch: scene indices follow the step, worlds and sizes ``rng``."""
    oracle.train()
    w_ids = (rng.random(batch_size) < 0.2).astype(np.int64)  # 20% heldout-combo scenes
    idx = np.stack([w_ids, step * batch_size + np.arange(batch_size)], 1)
    sizes = rng.choice([48, 64, 64, 64, 96, 128], size=batch_size)
    images, tgt = _render_batch(worlds, idx, sizes)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=native_bf16("cpu")):
        out = oracle(images.contiguous(memory_format=torch.channels_last))
    loss = oracle_loss(out, tgt)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    return loss.item()


def _restore(folder: Path, cfg: OracleTrainConfig, oracle: SceneOracle, opt: torch.optim.Optimizer, sched: Any,
             rng: np.random.Generator) -> tuple[int, float]:
    state = load_run_checkpoint(folder, {"oracle": oracle})
    check_folder_resume_config(folder, state["config"], cfg, RESUMABLE_CHANGES)
    opt.load_state_dict(state["optimizer"])
    for p, st in opt.state.items():  # channels_last moments, as the uninterrupted run's (same kernels)
        for k, v in st.items():
            if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                st[k] = torch.empty_like(p).copy_(v)
    sched.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])
    rng.bit_generator.state = state["sampler"]
    return int(state["step"]), float(state["seconds"])
