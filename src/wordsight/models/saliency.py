"""What the saliency models (SALICON, SalGAN, the text-aligned SalGAN) share: which registered model
types are saliency models, whether each reads text, one call that turns any of them into probability
maps, and the folder a trained one is saved as. Training (validation, sample overlays, the run's
``pipeline/``) and the ``wordsight.pipelines.saliency.Saliency`` pipeline both go through these, so they
cannot disagree (and training need not import pipelines).

    probs = predict_maps(model, images, text)     # [B, 1, h, w] in [0, 1] at the size of ``images``
    save_saliency_folder(model, (64, 64), "runs/x/pipeline", {"name": "minilm", "options": {}})
    Saliency.from_pretrained("runs/x/pipeline")   # (wordsight.pipelines.saliency) reads it back
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import torch

from ..hub import save_pretrained
from ..utils.checks import InputError
from ..utils.io import atomic_write_json

__all__ = ["DEFAULT_SHIPPED", "DEFAULT_SHIPPED_TEXT", "MODEL_DIR", "MODEL_KINDS", "PIPELINE_FILE", "SHIPPED_SALIENCY", "predict_maps",
           "resolve_saliency_folder", "save_saliency_folder", "saliency_model_kind"]

# hub model types a saliency pipeline can hold, and whether each reads text
MODEL_KINDS = {"salicon": False, "salgan_generator": False, "text_salgan_generator": True}
# the saved folder: the model as a hub folder, and what a pipeline needs to run it
PIPELINE_FILE = "pipeline.json"
MODEL_DIR = "model"
DEFAULT_TEXT_ENCODER_SPEC = {"name": "minilm", "options": {}}

# The saliency models shipped in the package (name -> folder under wordsight/assets/) and the script that
# rebuilds each; `Saliency.from_pretrained(name)`, `init_from=name` and `wordsight saliency --list` use it.
ASSETS = Path(__file__).resolve().parent.parent / "assets"
SHIPPED_SALIENCY = {
    "osie": ("salgan_osie", "scripts/train_shipped_osie_saliency.sh"),  # free viewing, real photos
    "synthetic-text": ("text_salgan_synthetic", "scripts/train_shipped_saliency.sh"),  # text-guided, synthetic
}
DEFAULT_SHIPPED = "osie"  # what `wordsight saliency IMAGE` runs without --text
DEFAULT_SHIPPED_TEXT = "synthetic-text"  # ... and with --text


def resolve_saliency_folder(name_or_path: str | os.PathLike | None = None) -> Path:
    """A shipped model's name (``SHIPPED_SALIENCY``; None = ``DEFAULT_SHIPPED``) or a pipeline folder ->
    the folder; an InputError naming the rebuild script when a shipped model is missing."""
    key = DEFAULT_SHIPPED if name_or_path is None else str(name_or_path)
    if key in SHIPPED_SALIENCY:
        folder, script = SHIPPED_SALIENCY[key]
        path = ASSETS / folder
        if not (path / PIPELINE_FILE).exists():
            raise InputError(f"the shipped saliency model {key!r} is missing from {path}: run {script}")
        return path
    path = Path(name_or_path)
    if not (path / PIPELINE_FILE).exists():
        raise InputError(f"not a saliency pipeline folder (no {PIPELINE_FILE}) and not a shipped model name "
                         f"({', '.join(SHIPPED_SALIENCY)}): {path}")
    return path


def saliency_model_kind(model: torch.nn.Module) -> str:
    """The model's registered type, an InputError when it is not a saliency model (``MODEL_KINDS``)."""
    kind = getattr(model, "model_type", None)
    if kind not in MODEL_KINDS:
        raise InputError(f"model type {kind!r} is not a saliency model; supported: {sorted(MODEL_KINDS)}")
    return kind


@torch.no_grad()
def predict_maps(model: torch.nn.Module, images: torch.Tensor, text: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Saliency probabilities [B, 1, h, w] in [0, 1] at the size of ``images`` for any supported model.

    SALICON returns logits at its pool5 size: sigmoid, then bilinear upsampling (OpenSalicon). The
    SalGAN generators return probabilities at the input size already.
    """
    kind = saliency_model_kind(model)
    if kind == "salicon":
        return model.predict(images).float()
    if MODEL_KINDS[kind]:
        return model(images, text).float()
    return model(images).float()


def save_saliency_folder(model: torch.nn.Module, input_size: Sequence[int], path: str | os.PathLike,
                         encoder_spec: Optional[dict] = None, extra: Optional[dict] = None) -> Path:
    """Write ``model`` as a saliency pipeline folder: ``model/`` (``hub.save_pretrained``) and
    ``pipeline.json`` (model kind, input size (height, width), the text encoder's
    {"name": ..., "options": {...}} (default MiniLM for text-guided models, None for the others), and the
    ``extra`` keys). ``Saliency.from_pretrained`` loads it; ``Saliency.save_pretrained`` writes it here.
    """
    kind = saliency_model_kind(model)
    if len(input_size) != 2 or min(int(s) for s in input_size) < 2:
        raise InputError(f"input_size must be (height, width), got {input_size!r}")
    if encoder_spec is None and MODEL_KINDS[kind]:
        encoder_spec = dict(DEFAULT_TEXT_ENCODER_SPEC)
    folder = Path(path)
    save_pretrained(model, folder / MODEL_DIR)
    meta = {"model_kind": kind, "input_size": [int(input_size[0]), int(input_size[1])], "text_encoder": encoder_spec}
    atomic_write_json(folder / PIPELINE_FILE, {**meta, **(extra or {})})
    return folder
