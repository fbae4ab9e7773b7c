"""Text-to-image pipeline: a trained generator plus its text encoder, saved and loaded as one folder.

    from wordsight.pipelines import TextToImage
    pipe = TextToImage.from_pretrained()            # the small DF-GAN shipped with the package
    out = pipe(["a small red circle"], num_images=4, generator=torch.Generator().manual_seed(0))
    out.to_pil()[0].save("circle.png")

Speed (``precision``, ``compile``): the generator always runs in channels_last; ``precision="bf16"`` (or
``"auto"``: bf16 only where the CPU/GPU computes it natively, :func:`wordsight.utils.hardware.native_bf16`)
runs it under bf16 autocast, and ``compile=True`` through ``torch.compile`` (a one-off compile of tens of
seconds). Both change pixels by a bf16 rounding, not the picture; the default is exact fp32. Measured with
``wordsight bench generate --size 256 --compile``, see README "Speed".

Folder layout: ``generator/`` (hub folder: config.json + model.safetensors), ``pipeline.json`` (text
encoder name and options, default truncation), ``text_encoder/`` when the encoder is trainable
(the DAMSM BiLSTM), and ``sentence_whitening/`` when the sentence vectors were whitened for training
(:mod:`wordsight.text.whitening`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
from PIL import Image

from ..hub import from_pretrained, save_pretrained
from ..models.dfgan import truncated_noise
from ..utils.checks import InputError, check_captions
from ..utils.hardware import resolve_precision
from ..utils.images import tensor_to_pil
from ..utils.io import atomic_write_json

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "assets" / "dfgan_synthetic"
PIPELINE_FILE = "pipeline.json"
MAX_CAPTION_WORDS = 64
PRECISIONS = ("no", "bf16", "auto")


@dataclass
class TextToImageOutput:
    """images: [N, 3, H, W] in [-1, 1]; captions[i] is the caption image i was generated from."""

    images: torch.Tensor
    captions: list[str]

    def to_pil(self) -> list[Image.Image]:
        return [tensor_to_pil(im) for im in self.images]


def build_text_encoder_from_spec(spec: dict, folder: Path):
    from .. import text

    name = spec.get("name", "minilm")
    if name == "bilstm":
        encoder = from_pretrained(folder / "text_encoder").eval()
    else:
        encoder = text.build_text_encoder(name, **spec.get("options", {}))
    if spec.get("whitening"):
        from ..text.whitening import WhitenedEncoder

        encoder = WhitenedEncoder(encoder, from_pretrained(folder / spec["whitening"]))
    return encoder


class TextToImage:
    """A text-to-image generator with its text encoder."""

    def __init__(self, generator: torch.nn.Module, text_encoder, encoder_spec: dict | None = None,
                 truncation: float | None = None, precision: str = "no", compile: bool = False):
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.generator = generator.eval().to(memory_format=torch.channels_last)
        self.text_encoder = text_encoder
        self.encoder_spec = encoder_spec or {"name": "minilm"}
        self.truncation = truncation
        self.precision = resolve_precision(precision)  # "bf16" or "no"
        # the compiled module shares the generator's weights; save_pretrained writes the plain one
        self._forward = torch.compile(self.generator, dynamic=False) if compile else self.generator

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, precision: str = "no",
                        compile: bool = False) -> "TextToImage":
        """Load a pipeline folder (default: the model shipped with the package); ``precision`` ("no",
        "bf16", "auto") and ``compile`` as in the module docstring."""
        folder = Path(path) if path is not None else SHIPPED_DIR
        meta_path = folder / PIPELINE_FILE
        if not meta_path.exists():
            hint = " (the shipped model is missing: reinstall or run scripts/train_shipped_dfgan.sh)" if path is None else ""
            raise InputError(f"not a text-to-image pipeline folder (no {PIPELINE_FILE}): {folder}{hint}")
        meta = json.loads(meta_path.read_text())
        generator = from_pretrained(folder / "generator")
        encoder = build_text_encoder_from_spec(meta.get("text_encoder", {}), folder)
        return cls(generator, encoder, meta.get("text_encoder"), meta.get("truncation"), precision=precision, compile=compile)

    def save_pretrained(self, path: str | os.PathLike, extra: dict | None = None) -> Path:
        folder = Path(path)
        save_pretrained(self.generator, folder / "generator")
        encoder = self.text_encoder
        if self.encoder_spec.get("whitening"):
            save_pretrained(encoder.whitening, folder / self.encoder_spec["whitening"])
            encoder = encoder.base
        if self.encoder_spec.get("name") == "bilstm":
            save_pretrained(encoder, folder / "text_encoder")
        atomic_write_json(folder / PIPELINE_FILE, {"text_encoder": self.encoder_spec, "truncation": self.truncation, **(extra or {})})
        return folder

    @torch.no_grad()
    def encode(self, captions: Sequence[str]) -> torch.Tensor:
        return self.text_encoder.encode(list(captions)).sentence.float()

    @torch.no_grad()
    def __call__(
        self,
        captions: str | Sequence[str],
        num_images: int = 1,
        generator: Optional[torch.Generator] = None,
        truncation: Optional[float] = None,
        batch_size: int = 64,
    ) -> TextToImageOutput:
        """Generate ``num_images`` images for each caption.

        Args:
            captions: one caption or a list; empty or overlong (> 64 words) captions raise InputError.
            num_images: images per caption.
            generator: a torch.Generator for reproducible noise.
            truncation: sample z from a normal truncated to (-2, 2) and scaled by this factor (DF-GAN
                uses 0.88); None uses the pipeline's default (plain normal noise when that is None too).
            batch_size: images per generator forward pass.
        Returns:
            TextToImageOutput with images [len(captions) * num_images, 3, H, W] in [-1, 1], grouped by caption.
        """
        caps = check_captions([captions] if isinstance(captions, str) else list(captions), max_words=MAX_CAPTION_WORDS)
        if num_images < 1:
            raise InputError(f"num_images must be >= 1, got {num_images}")
        sent = self.encode(caps).repeat_interleave(num_images, 0)
        trunc = truncation if truncation is not None else self.truncation
        z_dim = int(self.generator.config["z_dim"])
        z = truncated_noise(sent.shape[0], z_dim, truncation=trunc, generator=generator)
        return TextToImageOutput(self._generate(z, sent, batch_size), [c for c in caps for _ in range(num_images)])

    def _generate(self, z: torch.Tensor, sent: torch.Tensor, batch_size: int) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            out = [self._forward(z[i : i + batch_size], sent[i : i + batch_size]).float().clamp(-1, 1)
                   for i in range(0, z.shape[0], batch_size)]
        return torch.cat(out).contiguous()

    @torch.no_grad()
    def interpolate(self, caption_a: str, caption_b: str, steps: int = 8,
                    generator: Optional[torch.Generator] = None) -> TextToImageOutput:
        """GAN-INT-style strip: fixed noise, sentence vectors interpolated linearly from A to B."""
        caps = check_captions([caption_a, caption_b], max_words=MAX_CAPTION_WORDS)
        if steps < 2:
            raise InputError("interpolation needs steps >= 2")
        a, b = self.encode(caps)
        w = torch.linspace(0, 1, steps)[:, None]
        sent = (1 - w) * a + w * b
        z = truncated_noise(1, int(self.generator.config["z_dim"]), truncation=self.truncation, generator=generator)
        images = self._generate(z.repeat(steps, 1), sent, 64)
        labels = [f"{(1 - x):.2f} A + {x:.2f} B" for x in w[:, 0].tolist()]
        return TextToImageOutput(images, labels)
