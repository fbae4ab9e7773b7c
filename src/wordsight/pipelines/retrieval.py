"""Composed image retrieval (TIRG, Vo et al. CVPR 2019): a query image and a modification text in, the
gallery images closest to their composition out.

A pipeline folder holds ``model/`` (a saved model with ``compose(images, texts) -> [B, D]`` and
``image_features(images) -> [B, D]``, both L2-normalised, and ``image_size``) and ``retrieval.json`` (the
system and what it was trained on).

    pipe = Retrieval.from_pretrained("runs/00000-tirg-synthetic/pipeline")
    gallery = pipe.index(["g/0.png", "g/1.png", ...])
    hits = pipe.search(Image.open("query.png"), "make the red circle blue", gallery, k=5)   # [(path, cosine)]
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image

from ..hub import from_pretrained, save_pretrained
from ..utils.checks import InputError, check_captions
from ..utils.images import MODEL_MAX_SIDE, load_image, pil_to_tensor, to_rgb
from ..utils.io import atomic_write_json

__all__ = ["GalleryIndex", "Retrieval", "RETRIEVAL_FILE", "IMAGE_SUFFIXES"]

RETRIEVAL_FILE = "retrieval.json"
MODEL_DIR = "model"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


@dataclass
class GalleryIndex:
    """The gallery's image features [G, D] (normalised) and where each came from."""

    features: torch.Tensor
    paths: list[str]


class Retrieval:
    def __init__(self, model: torch.nn.Module, info: dict | None = None, device: str | torch.device | None = None):
        if not callable(getattr(model, "compose", None)) or not callable(getattr(model, "image_features", None)):
            raise InputError(f"{type(model).__name__} cannot retrieve (it needs compose(images, texts) and image_features(images))")
        # CUDA when present, as the other pipelines
        self.device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device).eval()
        self.info = dict(info or {})

    @property
    def image_size(self) -> int:
        return int(self.model.image_size)

    def save_pretrained(self, path: str | os.PathLike, extra: dict | None = None) -> Path:
        path = Path(path)
        save_pretrained(self.model, path / MODEL_DIR)
        atomic_write_json(path / RETRIEVAL_FILE, {**self.info, **(extra or {})})
        return path

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, device: str | torch.device | None = None) -> "Retrieval":
        path = Path(path)
        if not (path / RETRIEVAL_FILE).is_file():
            raise InputError(f"not a retrieval pipeline folder (no {RETRIEVAL_FILE}): {path}")
        try:
            info = json.loads((path / RETRIEVAL_FILE).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"corrupt {path / RETRIEVAL_FILE}: {exc}") from exc
        return cls(from_pretrained(path / MODEL_DIR), info, device)

    def _tensor(self, images: Sequence[Image.Image]) -> torch.Tensor:
        size = self.image_size
        return torch.stack([pil_to_tensor(to_rgb(im).resize((size, size), Image.BICUBIC)) for im in images]).to(self.device)

    @torch.no_grad()
    def index(self, gallery: str | os.PathLike | Sequence[str | os.PathLike], batch_size: int = 64) -> GalleryIndex:
        """Features of every image of a folder (sorted, the suffixes of :data:`IMAGE_SUFFIXES`) or of a list of
        files. A corrupt or missing file is an InputError naming it."""
        if isinstance(gallery, (str, os.PathLike)):
            folder = Path(gallery)
            if not folder.is_dir():
                raise InputError(f"gallery folder not found: {folder}")
            paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths = [Path(p) for p in gallery]
        if not paths:
            raise InputError(f"the gallery has no images ({', '.join(IMAGE_SUFFIXES)})")
        feats = []
        for i in range(0, len(paths), batch_size):
            # one image decoded at a time (a generator), each at most MODEL_MAX_SIDE px before the model's resize
            pictures = (load_image(p, max_side=MODEL_MAX_SIDE) for p in paths[i:i + batch_size])
            feats.append(self.model.image_features(self._tensor(pictures)).float().cpu())
        return GalleryIndex(torch.cat(feats), [str(p) for p in paths])

    @torch.no_grad()
    def search(self, image: Image.Image, text: str, gallery: GalleryIndex, k: int = 5,
               exclude: str | os.PathLike | None = None) -> list[tuple[str, float]]:
        """The ``k`` gallery images most similar (cosine) to the composition of ``image`` and ``text``;
        ``exclude``: a gallery path left out (the query image itself, as TIRG's evaluation does)."""
        (caption,) = check_captions([text])
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}")
        query = self.model.compose(self._tensor([image]), [caption]).float().cpu()[0]
        scores = gallery.features @ query / (gallery.features.norm(dim=1) * query.norm()).clamp_min(1e-12)
        if exclude is not None:
            scores[[i for i, p in enumerate(gallery.paths) if Path(p).resolve() == Path(exclude).resolve()]] = float("-inf")
        order = scores.argsort(descending=True)[:k].tolist()
        return [(gallery.paths[i], float(scores[i])) for i in order if scores[i] > float("-inf")]
