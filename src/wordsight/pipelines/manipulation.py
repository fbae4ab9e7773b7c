"""Text-guided image manipulation: an image and a sentence in, the edited image out (seed 004, TGIM).

A pipeline folder holds ``editor/`` (a saved model with ``edit(images [B, 3, S, S] in [-1, 1], texts) ->
images`` and ``image_size``: TAGAN's generator, ...) and ``manipulation.json`` (the system, what it was
trained on, its vocabulary). Any image goes in: every PIL mode is converted to RGB and the image is
resized to the editor's size, which the output states (``output.note``).

    pipe = Manipulation.from_pretrained("runs/00000-tagan-synthetic/pipeline")
    out = pipe(Image.open("photo.png"), "a small blue circle")
    out.to_pil()[0].save("edited.png")
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from PIL import Image

from ..hub import from_pretrained, save_pretrained
from ..text.tokenizer import tokenize
from ..utils.checks import InputError, check_captions
from ..utils.images import pil_to_tensor, tensor_to_pil, to_rgb
from ..utils.io import atomic_write_json
from .text_to_image import MAX_CAPTION_WORDS, OutOfDomainImageWarning, warn_unknown_words

__all__ = ["Manipulation", "ManipulationOutput", "MANIPULATION_FILE", "EDITOR_DIR", "SHIPPED_DIR"]

MANIPULATION_FILE = "manipulation.json"
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "assets" / "sisgan_synthetic"
EDITOR_DIR = "editor"


@dataclass
class ManipulationOutput:
    """images: edited [N, 3, S, S] in [-1, 1]; sources: the inputs as the editor saw them; texts[i] is the
    sentence image i was edited with; note: what was done to the inputs (mode conversion, resize)."""

    images: torch.Tensor
    sources: torch.Tensor
    texts: list[str]
    note: str = ""

    def to_pil(self) -> list[Image.Image]:
        return [tensor_to_pil(im) for im in self.images]


class Manipulation:
    def __init__(self, editor: torch.nn.Module, info: dict | None = None, device: str | torch.device | None = None):
        if not callable(getattr(editor, "edit", None)) or not getattr(editor, "image_size", None):
            raise InputError(f"{type(editor).__name__} is not an image editor (it needs edit(images, texts) and image_size)")
        self.device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.editor = editor.to(self.device).eval()
        self.info = dict(info or {})

    @property
    def image_size(self) -> int:
        return int(self.editor.image_size)

    # ---- persistence -------------------------------------------------------------------------------
    def save_pretrained(self, path: str | os.PathLike, extra: dict | None = None) -> Path:
        path = Path(path)
        save_pretrained(self.editor, path / EDITOR_DIR)
        atomic_write_json(path / MANIPULATION_FILE, {**self.info, **(extra or {})})
        return path

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, device: str | torch.device | None = None) -> "Manipulation":
        """Load a pipeline folder (default: the editor shipped with the package, a small SISGAN trained on the
        synthetic world)."""
        path = Path(path) if path is not None else SHIPPED_DIR
        meta_path = path / MANIPULATION_FILE
        if not meta_path.is_file():
            hint = " (the shipped editor is missing: reinstall, or run scripts/train_shipped_editor.sh)" if path == SHIPPED_DIR else ""
            raise InputError(f"not a manipulation pipeline folder (no {MANIPULATION_FILE}): {path}{hint}")
        try:
            info = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"corrupt {meta_path}: {exc}") from exc
        return cls(from_pretrained(path / EDITOR_DIR), info, device)

    # ---- editing -------------------------------------------------------------------------------------
    def _images(self, images: Any) -> tuple[torch.Tensor, str]:
        size = self.image_size
        if isinstance(images, torch.Tensor):
            x = images if images.dim() == 4 else images[None]
            if x.dim() != 4 or x.shape[1] != 3:
                raise InputError(f"images must be [N, 3, H, W] in [-1, 1], got {tuple(images.shape)}")
            if not torch.isfinite(x).all():
                raise InputError("images contain NaN or inf values")
            sizes = {tuple(x.shape[-2:])}
            x = x.float()
            if x.shape[-1] != size or x.shape[-2] != size:
                x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        else:
            pictures = [images] if isinstance(images, Image.Image) else list(images)
            if not pictures or not all(isinstance(p, Image.Image) for p in pictures):
                raise InputError("images: give PIL images or a [N, 3, H, W] tensor")
            modes = sorted({p.mode for p in pictures} - {"RGB"})
            sizes = {(p.height, p.width) for p in pictures}
            x = torch.stack([pil_to_tensor(to_rgb(p).resize((size, size), Image.BICUBIC)) for p in pictures])
            if modes:
                warnings.warn(f"converted {', '.join(modes)} image(s) to RGB", UserWarning, stacklevel=3)
        resized = sorted(f"{w}x{h}" for h, w in sizes if (h, w) != (size, size))
        note = f"resized {', '.join(resized)} to the editor's {size}x{size}" if resized else ""
        if resized and (self.info.get("trained_on") or {}).get("data") == "synthetic":
            warnings.warn(f"this editor was trained only on the synthetic shape world's {size}x{size} renders; a "
                          f"{resized[0]} image is not one, so expect its output to look like a shape scene",
                          OutOfDomainImageWarning, stacklevel=3)
        return x, note

    def check_vocabulary(self, texts: Sequence[str]) -> list[str]:
        """Warn naming the words outside the editor's vocabulary; a text with no known word at all is an
        InputError (the editor would see only padding and edit by nothing)."""
        vocabulary = self.info.get("vocabulary") or []
        if vocabulary:
            for text in texts:
                words = tokenize(text)
                if words and not set(words) & set(vocabulary):
                    trained_on = (self.info.get("trained_on") or {}).get("description") or "its training texts"
                    raise InputError(f"no word of {text!r} is known to this editor (trained on {trained_on}; "
                                     f"{len(vocabulary)} words, e.g. {', '.join(sorted(vocabulary)[:8])})")
        return warn_unknown_words(texts, vocabulary, self.info, "word(s) unknown to this editor")

    @torch.no_grad()
    def __call__(self, images: Any, texts: str | Sequence[str], batch_size: int = 32) -> ManipulationOutput:
        """Edit every image with every text: N images x M texts -> N * M results, grouped by image."""
        caps = check_captions([texts] if isinstance(texts, str) else list(texts), max_words=MAX_CAPTION_WORDS)
        x, note = self._images(images)
        self.check_vocabulary(caps)
        sources = x.repeat_interleave(len(caps), 0)
        labels = [c for _ in range(x.shape[0]) for c in caps]
        out = [self.editor.edit(sources[i:i + batch_size].to(self.device), labels[i:i + batch_size]).float().clamp(-1, 1).cpu()
               for i in range(0, sources.shape[0], batch_size)]
        return ManipulationOutput(torch.cat(out), sources, labels, note)

    @torch.no_grad()
    def interpolate(self, image: Any, text_a: str, text_b: str, steps: int = 8) -> ManipulationOutput:
        """The sentence interpolation strip (TAGAN Fig. 7): one image edited by (1 - w) phi(a) + w phi(b)
        for ``steps`` weights w from 0 to 1 (``texts`` holds "w=0.43" labels); needs an editor with
        ``encode_texts`` and ``edit_encoded`` (TAGAN, SISGAN)."""
        if not (callable(getattr(self.editor, "encode_texts", None)) and callable(getattr(self.editor, "edit_encoded", None))):
            raise InputError(f"{type(self.editor).__name__} cannot interpolate sentences (it has no encode_texts/edit_encoded)")
        if not 2 <= steps <= 64:
            raise InputError(f"interpolation steps must be in [2, 64], got {steps}")
        caps = check_captions([text_a, text_b], max_words=MAX_CAPTION_WORDS)
        x, note = self._images(image)
        if x.shape[0] != 1:
            raise InputError(f"interpolate one image at a time, got {x.shape[0]}")
        self.check_vocabulary(caps)
        a, b = self.editor.encode_texts(caps)
        w = torch.linspace(0, 1, steps, device=a.device)[:, None]
        mixed = (1 - w) * a[None] + w * b[None]
        sources = x.repeat(steps, 1, 1, 1)
        edited = self.editor.edit_encoded(sources.to(self.device), mixed).float().clamp(-1, 1).cpu()
        return ManipulationOutput(edited, sources, [f"w={float(v):.2f}" for v in w[:, 0]], note)

