"""Saliency pipeline: a trained saliency model (SALICON, SalGAN or the text-aligned SalGAN), its input
size and, for text-guided models, its text encoder, saved and loaded as one folder.

    from wordsight.pipelines.saliency import Saliency
    pipe = Saliency.from_pretrained()                  # "osie": free viewing on real photos (the default)
    sal = pipe.compute_saliency("photo.jpg")           # float32 [H, W] in [0, 1], original size
    guided = Saliency.from_pretrained("synthetic-text")    # text-guided, synthetic shape scenes only
    sal = guided.compute_saliency("scene.png", text="a red circle")

The API follows OpenSALICON's ``Salicon().compute_saliency(image_path)``: one call, a map at the size of
the image given. Folder layout: ``model/`` (hub folder: config.json + model.safetensors) and
``pipeline.json`` (model kind, input size (height, width), text encoder name and options).

Text-guided models are trained with the "no text" condition (seed 000's ``none`` category) encoded as
a zero sentence vector; ``compute_saliency(image, text="")`` asks for that condition explicitly, while
``text=None`` on a text-guided model is an error (a missing text is more often a mistake than a wish).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# image_tensor, encode_texts (preprocessing) and predict_maps, MODEL_KINDS (the models) are re-exported
from ..data.saliency_transforms import MAX_TEXT_WORDS, encode_texts, image_tensor  # noqa: F401
from ..hub import from_pretrained
# the folder format (MODEL_DIR, PIPELINE_FILE) and its writer live with the models, so training writes it too
from ..models.saliency import (DEFAULT_SHIPPED, DEFAULT_TEXT_ENCODER_SPEC, MODEL_DIR, MODEL_KINDS, PIPELINE_FILE,
                               SHIPPED_SALIENCY, predict_maps, resolve_saliency_folder, saliency_model_kind,
                               save_saliency_folder)
from ..utils.checks import InputError
from ..utils.images import load_image, to_rgb

__all__ = ["DEFAULT_SHIPPED", "MODEL_KINDS", "PIPELINE_FILE", "SHIPPED_DIR", "SHIPPED_SALIENCY", "Saliency",
           "encode_texts", "image_tensor", "predict_maps", "shipped_models"]

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
SHIPPED_DIR = ASSETS_DIR / SHIPPED_SALIENCY["synthetic-text"][0]  # the text-guided model
OSIE_DIR = ASSETS_DIR / SHIPPED_SALIENCY["osie"][0]


def shipped_models() -> list[dict]:
    """Every shipped saliency model: name, folder, whether it reads text, what it was trained on and its
    held-out scores (``eval/metrics.json``, the "model" row's totals; empty when not evaluated)."""
    rows = []
    for name, (folder, script) in SHIPPED_SALIENCY.items():
        path = ASSETS_DIR / folder
        row = {"name": name, "folder": str(path), "script": script, "present": (path / PIPELINE_FILE).exists(),
               "default": name == DEFAULT_SHIPPED}
        if row["present"]:
            meta = json.loads((path / PIPELINE_FILE).read_text(encoding="utf-8"))
            row.update(kind=meta.get("model_kind"), uses_text=bool(MODEL_KINDS.get(meta.get("model_kind"))),
                       trained_on=meta.get("trained_on"), description=meta.get("description", ""))
            scores = path / "eval" / "metrics.json"
            if scores.exists():
                report = json.loads(scores.read_text(encoding="utf-8"))
                row["scores"] = report.get("summary", {}).get("model", {}).get("total", {})
                row["evaluated_on"] = f"{report.get('data', '')} ({report.get('split', '')})"
        rows.append(row)
    return rows


def _load_any_image(image: "str | os.PathLike | Image.Image") -> Image.Image:
    if isinstance(image, Image.Image):
        return to_rgb(image)  # every mode by what its values mean (16-bit, alpha, CMYK, ...)
    if isinstance(image, (str, os.PathLike)):
        return load_image(image)  # InputError naming the file for missing, unreadable or too large images
    raise InputError(f"image: expected a file path or a PIL image, got {type(image).__name__}")


class Saliency:
    """A saliency model with its input size and (for text-guided models) its text encoder.

    Args:
        model: a registered saliency model (``MODEL_KINDS``).
        input_size: (height, width) images are resized to before the model sees them.
        text_encoder: an object with ``encode(texts).sentence`` (wordsight.text encoders); required when
            the model reads text, built from ``encoder_spec`` on load.
        encoder_spec: {"name": ..., "options": {...}} saved in pipeline.json to rebuild the encoder.
    """

    def __init__(self, model: torch.nn.Module, input_size: Sequence[int], text_encoder=None,
                 encoder_spec: Optional[dict] = None, device: "str | torch.device | None" = None):
        kind = saliency_model_kind(model)
        if len(input_size) != 2 or min(int(s) for s in input_size) < 2:
            raise InputError(f"input_size must be (height, width), got {input_size!r}")
        # CUDA when present (as the other pipelines); maps come back as CPU numpy arrays either way
        self.device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device).eval()
        self.kind = kind
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.uses_text = MODEL_KINDS[kind]
        self.text_encoder = text_encoder
        self.encoder_spec = encoder_spec or (dict(DEFAULT_TEXT_ENCODER_SPEC) if self.uses_text else None)
        self.name: Optional[str] = None  # the shipped name or folder it was loaded from
        self.trained_on: Optional[str] = None

    # ------------------------------------------------------------------ saving and loading
    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, text_encoder=None,
                        device: "str | torch.device | None" = None) -> "Saliency":
        """Load a pipeline folder or a shipped model by name: "osie" (the default: free-viewing SalGAN
        trained on the real OSIE photos) or "synthetic-text" (text-guided, synthetic shape scenes only);
        ``shipped_models()`` lists them.

        ``text_encoder`` overrides the one named in pipeline.json (it must give the same embeddings);
        ``device``: where the model runs (default: CUDA when present, else the CPU).
        """
        folder = resolve_saliency_folder(path)
        meta_path = folder / PIPELINE_FILE
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            input_size = meta["input_size"]
        except (json.JSONDecodeError, KeyError) as exc:
            raise InputError(f"corrupt {meta_path}: {exc}") from exc
        model = from_pretrained(folder / MODEL_DIR)
        spec = meta.get("text_encoder")
        if text_encoder is None and MODEL_KINDS.get(getattr(model, "model_type", None)) and spec:
            from .. import text

            text_encoder = text.build_text_encoder(spec["name"], **spec.get("options", {}))
        pipe = cls(model, input_size, text_encoder, spec, device=device)
        pipe.name = str(path) if path is not None else DEFAULT_SHIPPED
        pipe.trained_on = meta.get("trained_on")
        return pipe

    def save_pretrained(self, path: str | os.PathLike, extra: Optional[dict] = None) -> Path:
        """Write ``model/`` and ``pipeline.json`` into ``path``; ``extra`` keys go into pipeline.json."""
        return save_saliency_folder(self.model, self.input_size, path, self.encoder_spec, extra)

    # ------------------------------------------------------------------ inference
    def encode_texts(self, texts: Sequence[Optional[str]]) -> torch.Tensor:
        """Sentence vectors [B, D]; None or "" (the "no text" condition) -> a zero vector."""
        if self.text_encoder is None:
            raise InputError("this pipeline has no text encoder")
        return encode_texts(self.text_encoder, texts, int(self.model.config["text_dim"]))

    @torch.no_grad()
    def compute_saliency(self, image: "str | os.PathLike | Image.Image", text: Optional[str] = None) -> np.ndarray:
        """The saliency map of one image at its original size.

        Args:
            image: a file path or a PIL image (any mode; converted to RGB).
            text: the text the viewer was given (text-guided models only; "" = no text). Required for
                text-guided models, refused by the others.
        Returns:
            float32 [H, W] in [0, 1] (the model's probabilities, bilinearly resized to the image size).

        >>> pipe = Saliency.from_pretrained()                                     # doctest: +SKIP
        >>> pipe.compute_saliency("scene.png", text="a small blue star").shape   # doctest: +SKIP
        (64, 64)
        """
        pil = _load_any_image(image)
        text_vec = self._text_for(text)
        batch = image_tensor(pil, self.input_size)[None].to(self.device)
        probs = predict_maps(self.model, batch, None if text_vec is None else text_vec.to(self.device)).cpu()
        full = F.interpolate(probs, size=(pil.height, pil.width), mode="bilinear", align_corners=False)
        return full[0, 0].clamp(0, 1).numpy().astype(np.float32)

    __call__ = compute_saliency

    def _text_for(self, text: Optional[str]) -> Optional[torch.Tensor]:
        if not self.uses_text:
            if text:
                raise InputError(f"this {self.kind} model does not read text; drop --text / text=")
            return None
        if text is None:
            raise InputError(
                "this saliency model is text-guided: give the text shown to the viewer "
                "(text=\"...\", or text=\"\" for free viewing without text)"
            )
        if not isinstance(text, str):
            raise InputError(f"text: expected a string, got {type(text).__name__}")
        return self.encode_texts([text])
