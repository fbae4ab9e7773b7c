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

Resuming a run (:func:`check_resume_config`) may change only the keys in :data:`RESUMABLE_KEYS`: how long to
train, how often to log, sample, checkpoint and evaluate, and what to show. Everything else decides what is
computed (model, optimizers, batch, seed, precision, data, ...) and must equal the run's saved config.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Sequence

import torch

from ..utils.checks import InputError
from ..utils.images import captioned_grid, make_grid, tensor_to_pil
from ..utils.io import append_jsonl, atomic_path, atomic_write_text, remove_stale_temporaries

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
    """Appends records to ``metrics.jsonl`` and mirrors numeric values to TensorBoard.

    ``purge_step`` (a resumed run: the first step it trains) makes TensorBoard drop the events an earlier
    session logged from that step on, so replayed steps replace them instead of appearing twice.
    """

    def __init__(self, run_dir: Path, tensorboard: bool = True, purge_step: int | None = None):
        self.run_dir = Path(run_dir)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported lazily: it is slow to import

            self.writer = SummaryWriter(log_dir=str(self.run_dir), purge_step=purge_step)

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


# ---- resuming: which config keys may change ----------------------------------------------------------
# Keys (dotted, as in overrides) that change when and what is shown, never what is computed: a run resumed
# with other values ends with the same weights as one that kept them. `steps` is one of them except under a
# linear or cosine learning-rate schedule, whose decay spans `steps` (see check_resume_config).
RESUMABLE_KEYS = frozenset({
    "steps", "minutes", "log_every", "sample_every", "checkpoint_every", "keep_last", "num_samples",
    "max_bad_steps", "tensorboard", "progress", "eval_every", "eval_every_minutes", "metrics", "data_errors",
    "data.captions.check_images",
})
SCHEDULES_SPANNING_STEPS = ("linear", "cosine")
MISSING = "(absent)"


# mappings whose keys are data, not config fields: compared as one value (a missing key is a change)
WHOLE_VALUE_KEYS = frozenset({"phase_repeats"})


def flatten_config(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"nf": 4}}`` -> ``{"model.nf": 4}`` (lists, empty mappings and :data:`WHOLE_VALUE_KEYS`
    stay values)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and name not in WHOLE_VALUE_KEYS:
            flat.update(flatten_config(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def config_differences(saved: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{dotted key: (saved value, new value)}`` for every key whose values differ. A key the saved
    config lacks is not compared: the run was saved before that option existed, so it ran with the
    option's default (a new option's default keeps the old behaviour)."""
    import yaml

    from ..config import safe_load_yaml

    # both sides as YAML would read them back (tuples as lists, floats as written)
    new = safe_load_yaml(yaml.safe_dump(new, sort_keys=False)) or {}
    old_flat, new_flat = flatten_config(saved), flatten_config(new)
    out = {}
    for key in sorted(set(old_flat) | set(new_flat)):
        if key not in old_flat:
            continue
        old_value, new_value = old_flat[key], new_flat.get(key, MISSING)
        if old_value != new_value:
            out[key] = (old_value, new_value)
    return out


def saved_run_config(checkpoint: Path) -> tuple[Path, dict[str, Any]] | None:
    """The config a checkpoint was trained with: its own ``config.yaml``, else its run folder's (older
    checkpoints); None when neither exists."""
    from ..config import read_yaml

    for path in (Path(checkpoint) / "config.yaml", Path(checkpoint).parent / "config.yaml"):
        if path.exists():
            return path, read_yaml(path)
    return None


def check_resume_config(checkpoint: Path, new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The allowed changes (``{key: (old, new)}``) of resuming ``checkpoint`` with config ``new`` (a plain
    dict, :func:`~wordsight.config.config_to_dict`). Raises ConfigError naming every key that differs and
    may not change (with old -> new values) - before anything is restored or written.

    The rule: only :data:`RESUMABLE_KEYS` may change (`steps` not under a linear/cosine schedule, which
    spans `steps`); every other key (model, optimizers, batch_size, grad_accum, seed, system, data,
    mixed_precision, deterministic, device, channels_last, the schedules, EMA, ...) must be equal.
    """
    from ..config import ConfigError

    found = saved_run_config(checkpoint)
    if found is None:
        return {}
    path, saved = found
    changes = config_differences(saved, new)
    spans_steps = new.get("lr_schedule") in SCHEDULES_SPANNING_STEPS
    frozen = {k: v for k, v in changes.items() if k not in RESUMABLE_KEYS or (k == "steps" and spans_steps)}
    if frozen:
        shown = ", ".join(f"{k}: {_show(old)} -> {_show(value)}" for k, (old, value) in frozen.items())
        why = (f" (steps cannot change under lr_schedule {new.get('lr_schedule')}: its decay spans steps)"
               if "steps" in frozen else "")
        raise ConfigError(
            f"cannot resume {Path(checkpoint).parent.name} from {Path(checkpoint).name}: the config differs from the "
            f"run's ({path}) in {shown}{why}. Resume with the run's values or start a new run; only "
            f"{', '.join(sorted(RESUMABLE_KEYS))} may change on resume")
    return changes


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) or value == MISSING else repr(value)


def clean_run_dir(run_dir: Path) -> list[Path]:
    """Remove the temporaries killed atomic writes left in the run folder and its subfolders (samples/,
    generator_ema/, ...), but not inside checkpoint folders (a complete one has none; a partial one is
    itself a temporary). Returns the removed paths."""
    from .checkpoint import CHECKPOINT_RE

    run_dir = Path(run_dir)
    removed = remove_stale_temporaries(run_dir)
    if run_dir.is_dir():
        for sub in sorted(run_dir.iterdir()):
            if sub.is_dir() and not sub.is_symlink() and not CHECKPOINT_RE.match(sub.name) and not sub.name.startswith("."):
                removed += remove_stale_temporaries(sub)
    return removed


def discard_run_dir(run_dir: Path) -> bool:
    """Delete a run folder that a failed start left with nothing of value - no checkpoint and no logged
    metrics (only its config, data description, fitted artifacts, empty logs); True when deleted."""
    from .checkpoint import list_checkpoints

    run_dir = Path(run_dir)
    if not run_dir.is_dir() or list_checkpoints(run_dir):
        return False
    metrics = run_dir / METRICS_NAME
    if metrics.exists() and metrics.read_text(encoding="utf-8").strip():
        return False
    shutil.rmtree(run_dir, ignore_errors=True)
    return True
