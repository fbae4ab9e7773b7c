"""Checkpoints without pickle: ``checkpoint-<step>/`` holds safetensors weights plus JSON structure.

Layout of one checkpoint folder (written to a temporary folder and renamed, so a kill at any moment
leaves the previous checkpoints intact):

    generator.safetensors, discriminator.safetensors, ...   every trained network, by its objective name
    generator_ema.safetensors                               the EMA generator (used for samples/eval)
    models.json                                             model_type + init config of registered networks
    state.safetensors + state.json                          optimizer, scheduler, grad-scaler and per-process
                                                            RNG states: tensors in safetensors, the rest JSON
    config.yaml                                             the resolved training config

:func:`flatten_state` turns any nested state (``optimizer.state_dict()``, RNG tuples with numpy arrays)
into (tensors, JSON) and :func:`unflatten_state` rebuilds it exactly, including tuples and int keys.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import save_config
from ..hub import load_weights, save_weights, state_dict_for_save
from ..utils.checks import InputError
from ..utils.io import atomic_dir, atomic_write_json

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
EMA_NAME = "generator_ema"


class NonFiniteWeightsError(RuntimeError):
    """Raised instead of writing a checkpoint whose weights contain NaN or inf."""


# ---- nested state <-> (tensors, JSON) ---------------------------------------------------------
def flatten_state(obj: Any, tensors: dict[str, torch.Tensor] | None = None, prefix: str = "s") -> tuple[Any, dict[str, torch.Tensor]]:
    """Replace every tensor/ndarray in ``obj`` by a reference into the returned tensor dict."""
    tensors = {} if tensors is None else tensors
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().cpu().contiguous()
        return {"__tensor__": prefix}, tensors
    if isinstance(obj, np.ndarray):
        tensors[prefix] = torch.from_numpy(obj.astype(np.int64) if obj.dtype.kind in "ui" else obj.copy())
        return {"__ndarray__": prefix, "dtype": str(obj.dtype)}, tensors
    if isinstance(obj, dict):
        int_keys = bool(obj) and all(isinstance(k, int) for k in obj)
        if not int_keys and not all(isinstance(k, str) for k in obj):
            raise TypeError(f"cannot save state with mixed or non-string keys at {prefix}: {list(obj)[:5]}")
        items = {str(k): flatten_state(v, tensors, f"{prefix}.{k}")[0] for k, v in obj.items()}
        return ({"__intdict__": items} if int_keys else items), tensors
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten_state(v, tensors, f"{prefix}.{i}")[0] for i, v in enumerate(obj)]}, tensors
    if isinstance(obj, list):
        return [flatten_state(v, tensors, f"{prefix}.{i}")[0] for i, v in enumerate(obj)], tensors
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj, tensors
    if isinstance(obj, np.generic):
        return obj.item(), tensors
    raise TypeError(f"cannot save a {type(obj).__name__} in training state at {prefix} (no pickling)")


def unflatten_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy().astype(obj["dtype"])
        if "__tuple__" in obj:
            return tuple(unflatten_state(v, tensors) for v in obj["__tuple__"])
        if "__intdict__" in obj:
            return {int(k): unflatten_state(v, tensors) for k, v in obj["__intdict__"].items()}
        return {k: unflatten_state(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unflatten_state(v, tensors) for v in obj]
    return obj


def save_state(state: dict[str, Any], folder: Path, name: str = "state") -> None:
    structure, tensors = flatten_state(state)
    # a version marker; it also keeps the file non-empty (safetensors cannot read back an empty file)
    tensors["__format_version__"] = torch.tensor([1], dtype=torch.int32)
    save_weights(tensors, folder / f"{name}.safetensors")
    atomic_write_json(folder / f"{name}.json", structure)


def load_state(folder: Path, name: str = "state") -> dict[str, Any]:
    path = folder / f"{name}.json"
    if not path.exists():
        raise InputError(f"incomplete checkpoint (no {path.name}): {folder}")
    structure = json.loads(path.read_text(encoding="utf-8"))
    return unflatten_state(structure, load_weights(folder / f"{name}.safetensors"))


# ---- checkpoint folders ------------------------------------------------------------------------
def _check_finite(modules: dict[str, nn.Module]) -> None:
    for name, module in modules.items():
        for key, t in module.state_dict().items():
            if t.is_floating_point() and not torch.isfinite(t).all():
                raise NonFiniteWeightsError(f"not saving a checkpoint: {name}.{key} holds NaN/inf values")


def save_checkpoint(
    run_dir: Path, step: int, networks: dict[str, nn.Module], ema: nn.Module | None, state: dict[str, Any], config: Any,
    keep_last: int,
) -> Path:
    """Write ``run_dir/checkpoint-<step>/`` atomically, then delete all but the newest ``keep_last``
    (``ema`` None: the trainers without an EMA generator, run_checkpoints.py)."""
    modules = {**networks, **({EMA_NAME: ema} if ema is not None else {})}
    _check_finite(modules)
    target = Path(run_dir) / f"checkpoint-{step}"
    with atomic_dir(target) as tmp:
        models_meta = {}
        for name, module in modules.items():
            save_weights(state_dict_for_save(module), tmp / f"{name}.safetensors")
            if hasattr(module, "model_type"):
                models_meta[name] = {"model_type": module.model_type, "config": module.config}
        atomic_write_json(tmp / "models.json", models_meta)
        save_state({**state, "step": step}, tmp)
        save_config(config, tmp / "config.yaml")
    prune_checkpoints(run_dir, keep_last)
    return target


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under ``run_dir`` as (step, path), oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = []
    for p in run_dir.iterdir():
        m = CHECKPOINT_RE.match(p.name)
        if m and p.is_dir() and (p / "state.json").exists():
            found.append((int(m.group(1)), p))
    return sorted(found)


def prune_checkpoints(run_dir: Path, keep_last: int) -> None:
    for _, path in list_checkpoints(run_dir)[:-keep_last]:
        shutil.rmtree(path, ignore_errors=True)


def load_module_weights(module: nn.Module, path: Path) -> None:
    """Load safetensors weights into ``module`` in place (keeps its device and memory format)."""
    state = load_weights(path)
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches: torch lists every one over many lines
        sizes = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line]
        raise InputError(f"{path}: weights do not match {type(module).__name__} (built with another config?): "
                         f"{'; '.join(sizes[:3]) or str(exc).splitlines()[0]}") from exc
    if missing or unexpected:
        raise InputError(f"{path}: weights do not match {type(module).__name__}: missing {missing[:5]}, unexpected {unexpected[:5]}")


def load_checkpoint(folder: Path, networks: dict[str, nn.Module], ema: nn.Module | None) -> dict[str, Any]:
    """Load weights into ``networks`` and ``ema`` (unless None) in place; return the training state (with ``step``)."""
    folder = Path(folder)
    if not (folder / "state.json").exists():
        raise InputError(f"not a complete checkpoint folder: {folder}")
    for name, module in {**networks, **({EMA_NAME: ema} if ema is not None else {})}.items():
        path = folder / f"{name}.safetensors"
        if not path.exists():
            raise InputError(f"checkpoint {folder} has no weights for {name!r} ({path.name})")
        load_module_weights(module, path)
    return load_state(folder)

