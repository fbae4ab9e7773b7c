"""The run folder (like stylegan2-ada's ``00003-dfgan-synthetic/``): config, metrics, samples, plots.

    00003-dfgan-random/
      config.yaml           resolved training config
      metrics.jsonl         one JSON record per log interval (step, losses, lr, img/s, skipped steps)
      metric-<name>.jsonl   evaluations during training, one record per split (training/evaluation.py)
      metric-<name>.png     their curves over steps
      events.out.tfevents.* TensorBoard logs (same scalars, sample grids)
      samples/step-000500.png   EMA generator on fixed noise and fixed captions
      loss_curves.png       all logged losses against step
      checkpoint-<step>/    see checkpoint.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

import torch

from ..utils.checks import InputError
from ..utils.images import captioned_grid, make_grid, tensor_to_pil
from ..utils.io import append_jsonl, atomic_path, atomic_write_text

RUN_RE = re.compile(r"^(\d{5})-")
METRICS_NAME = "metrics.jsonl"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-") or "run"


def numbered_runs(root: Path) -> list[tuple[int, Path]]:
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := RUN_RE.match(p.name))]
    return sorted(runs)


def make_run_dir(root: Path, desc: str) -> Path:
    """Create ``root/<next id:05d>-<desc>/`` (ids count up across all runs under root)."""
    runs = numbered_runs(root)
    next_id = runs[-1][0] + 1 if runs else 0
    path = Path(root) / f"{next_id:05d}-{_slug(desc)}"
    path.mkdir(parents=True, exist_ok=False)
    return path


def truncate_metrics(run_dir: Path, after_step: int, name: str = METRICS_NAME) -> None:
    """Drop records of ``name`` (a jsonl file of the run) logged after ``after_step`` (a resumed run logs
    those steps again)."""
    path = Path(run_dir) / name
    if not path.exists():
        return
    keep = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and json.loads(line).get("step", 0) <= after_step]
    atomic_write_text(path, "".join(f"{line}\n" for line in keep))


class MetricsLogger:
    """Appends records to ``metrics.jsonl`` and mirrors numeric values to TensorBoard."""

    def __init__(self, run_dir: Path, tensorboard: bool = True):
        self.run_dir = Path(run_dir)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported lazily: it is slow to import

            self.writer = SummaryWriter(log_dir=str(self.run_dir))

    def log(self, record: dict[str, Any]) -> None:
        append_jsonl(self.run_dir / METRICS_NAME, record)
        if self.writer is not None:
            step = int(record["step"])
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.writer.add_scalar(key, value, step)

    def log_image(self, tag: str, image_chw_uint8: torch.Tensor, step: int) -> None:
        if self.writer is not None:
            self.writer.add_image(tag, image_chw_uint8, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()


def save_sample_grid(images: torch.Tensor, path: Path, captions: Sequence[str] | None = None, ncols: int | None = None) -> torch.Tensor:
    """Save [N, 3, H, W] images in [-1, 1] as a grid PNG (captioned when captions are given);
    returns the grid as a uint8 [3, H, W] tensor for TensorBoard."""
    pils = [tensor_to_pil(im) for im in images]
    ncols = ncols or max(1, int(len(pils) ** 0.5 + 0.999))
    grid = captioned_grid(pils, list(captions), ncols) if captions else make_grid(pils, ncols)
    with atomic_path(path) as tmp:
        grid.save(tmp, format="PNG")
    import numpy as np

    return torch.from_numpy(np.array(grid)).permute(2, 0, 1).contiguous()


def plot_loss_curves(run_dir: Path, prefixes: Sequence[str] = ("d/", "g/"), out_name: str = "loss_curves.png") -> Path | None:
    """Plot the ``metrics.jsonl`` series whose names start with ``prefixes`` (the loss terms of each
    phase, e.g. ``d/ma_gp``) against step, with matplotlib's Agg backend."""
    path = Path(run_dir) / METRICS_NAME
    if not path.exists():
        return None
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    series: dict[str, tuple[list[int], list[float]]] = {}
    for rec in records:
        for key, value in rec.items():
            if key.startswith(tuple(prefixes)) and not key.endswith("grad_norm") and isinstance(value, (int, float)):
                xs, ys = series.setdefault(key, ([], []))
                xs.append(rec["step"])
                ys.append(value)
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # the OO API: no global pyplot state

    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for key, (xs, ys) in sorted(series.items()):
        ax.plot(xs, ys, label=key, linewidth=1, marker="." if len(xs) < 50 else None)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    out = Path(run_dir) / out_name
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out


def resolve_resume(root: Path, resume: str) -> Path:
    """``"latest"`` -> the newest checkpoint of the newest run under ``root`` that has one;
    a path -> that checkpoint folder, or the newest checkpoint of that run folder."""
    from .checkpoint import list_checkpoints

    if resume == "latest":
        for _, run in reversed(numbered_runs(root)):
            ckpts = list_checkpoints(run)
            if ckpts:
                return ckpts[-1][1]
        raise InputError(f"--resume latest: no run under {root} has a complete checkpoint")
    path = Path(resume)
    if (path / "state.json").exists():
        return path
    ckpts = list_checkpoints(path)
    if ckpts:
        return ckpts[-1][1]
    raise InputError(f"--resume {resume}: not a checkpoint folder or a run folder with checkpoints")
