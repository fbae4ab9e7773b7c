"""save_pretrained / from_pretrained: safetensors weights plus a JSON config; no pickled code.

A model class is registered with :func:`register_model` (defined in :mod:`wordsight.utils.model_registry`,
re-exported here with ``MODELS``); its ``__init__`` arguments are recorded as its config (like diffusers'
``register_to_config``), so a saved folder rebuilds the same module:

    @register_model("dfgan_generator")
    class DFGenerator(nn.Module):
        def __init__(self, nf: int = 32, ...): ...

    g = DFGenerator(nf=16); save_pretrained(g, "out/g")
    g2 = from_pretrained("out/g")          # DFGenerator(nf=16) with the same weights
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .utils.checks import InputError
from .utils.io import atomic_path, atomic_write_json
# MODELS and register_model are re-exported: `from wordsight.hub import register_model` is the usual spelling
from .utils.model_registry import MODELS, model_class, register_model  # noqa: F401

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def state_dict_for_save(module: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU tensors, shared storage cloned (safetensors refuses aliased tensors)."""
    out, seen = {}, {}
    for k, v in module.state_dict().items():
        t = v.detach().cpu().contiguous()
        ptr = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        out[k] = t.clone() if ptr in seen else t
        seen[ptr] = k
    return out


def save_weights(tensors: dict[str, torch.Tensor], path: str | os.PathLike, metadata: dict | None = None) -> None:
    for k, v in tensors.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ValueError(f"refusing to save non-finite weights: {k}")
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={k: str(v) for k, v in (metadata or {}).items()})


def load_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"weights file not found: {path}")
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        raise InputError(f"cannot read weights {path}: {exc}") from exc


def load_torch_state_dict(path: str | os.PathLike, what: str) -> dict[str, torch.Tensor]:
    """A state dict from a third-party weights file: ``.safetensors``, or a ``.pth`` read with
    ``torch.load(weights_only=True)`` so no code is ever unpickled. Errors name ``what`` and the path."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, a pickle with code in it, another format
        raise InputError(f"cannot read {what} weights {path}: {_torch_load_reason(exc)}") from exc
    if not isinstance(state, dict):
        raise InputError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


def _torch_load_reason(exc: Exception) -> str:
    """One line of why torch.load refused a file. Its weights_only refusal spans several lines, with colour
    codes and the advice to retry with ``weights_only=False`` (which would run the file's code): keep only
    the line naming the refused global."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    refused = next((line for line in lines if "Unsupported global" in line or "Unsupported operand" in line), None)
    if refused is not None:
        refused = refused.split(". Please", 1)[0].replace("WeightsUnpickler error: ", "")  # not torch's allowlist advice
        return f"it holds pickled code or objects, refused without running them (torch.load weights_only: {refused.rstrip('.')})"
    kept = [line for line in lines if "weights_only" not in line] or lines or [type(exc).__name__]
    return kept[0]


def save_pretrained(module: nn.Module, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write ``config.json`` (model type + init args + ``extra``) and ``model.safetensors``."""
    if not hasattr(module, "config") or not hasattr(module, "model_type"):
        raise TypeError(f"{type(module).__name__} is not registered with @register_model")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    save_weights(state_dict_for_save(module), path / WEIGHTS_NAME)
    atomic_write_json(path / CONFIG_NAME, {"model_type": module.model_type, "config": module.config, **(extra or {})})
    return path


def read_pretrained_config(path: str | os.PathLike) -> dict:
    path = Path(path)
    cfg_path = path / CONFIG_NAME
    if not cfg_path.exists():
        raise InputError(f"not a saved model folder (no {CONFIG_NAME}): {path}")
    try:
        return json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"corrupt {cfg_path}: {exc}") from exc


def from_pretrained(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    path = Path(path)
    meta = read_pretrained_config(path)
    cls = model_class(meta["model_type"])  # imports the model packages when the name is not registered yet
    module = cls(**meta.get("config", {}))
    state = load_weights(path / WEIGHTS_NAME)
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InputError(f"{path}: weights do not match {cls.__name__}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return module.to(map_location).eval()
