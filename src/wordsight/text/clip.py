"""Frozen CLIP text (and image) encoder via open_clip, from a local weights file only.

The model is built from an open_clip architecture config (a built-in name such as "ViT-B-32", or a
``model_cfg`` dict) with random weights, then the state dict is read from ``weights_path``: open_clip's
download code is never reached, so nothing touches the network.

Features (``encode``):
- sentence: the projected text embedding at the end-of-text token, L2-normalised (``encode_text``);
- words: the token-level hidden states of the text transformer *after* its final LayerNorm
  (``ln_final``) and *before* the text projection, [B, T, text width] (512 for ViT-B-32); projecting
  the word at the end-of-text position gives the (unnormalised) sentence embedding;
- mask: True from the start token through the end-of-text token. T is trimmed to the longest caption
  of the batch; positions after a caption's end-of-text token are zeroed (the causal attention means
  they never influence earlier positions).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ..utils.checks import InputError, check_shape
from .base import ENCODERS, TextEncoder, validate_texts
from .features import TextFeatures

DEFAULT_CLIP_ARCH = "ViT-B-32"
# OpenAI CLIP preprocessing statistics (open_clip.constants.OPENAI_DATASET_MEAN / _STD)
_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _import_open_clip() -> Any:
    try:
        import open_clip
    except ImportError as exc:
        raise InputError("the CLIP encoder needs open_clip (pip install open-clip-torch)") from exc
    return open_clip


def clip_model_config(arch: str = DEFAULT_CLIP_ARCH, model_cfg: dict | None = None) -> dict:
    """The open_clip architecture config: ``model_cfg`` if given, else the built-in config of ``arch``.

    Only the standard CLIP layout (open_clip's own text transformer) is supported: text towers from
    Hugging Face need their tokenizer from the hub.
    """
    open_clip = _import_open_clip()
    if model_cfg is None:
        model_cfg = open_clip.get_model_config(arch)
        if model_cfg is None:
            raise InputError(f"unknown open_clip architecture {arch!r}; e.g. {open_clip.list_models()[:8]} ...")
    cfg = copy.deepcopy(model_cfg)
    for key in ("embed_dim", "vision_cfg", "text_cfg"):
        if key not in cfg:
            raise InputError(f"CLIP model config for {arch!r} lacks {key!r}")
    text_cfg = cfg["text_cfg"]
    if cfg.get("custom_text") or "hf_model_name" in text_cfg or "hf_tokenizer_name" in text_cfg:
        raise InputError(f"CLIP architecture {arch!r}: only open_clip's built-in text transformer is supported offline")
    return cfg


def build_clip_model(arch: str = DEFAULT_CLIP_ARCH, model_cfg: dict | None = None) -> Any:
    """A randomly initialised ``open_clip.CLIP`` of this architecture (no weights read, no download)."""
    open_clip = _import_open_clip()
    cfg = clip_model_config(arch, model_cfg)
    cfg.pop("custom_text", None)
    return open_clip.CLIP(**cfg)


def _missing_weights_message(path: Path, arch: str) -> str:
    return (
        f"CLIP weights not found: {path}. wordsight never downloads weights: put an open_clip state dict "
        f"for architecture {arch!r} at that path (a .safetensors file such as open_clip_model.safetensors, "
        f"or a torch .bin/.pt state dict; for OpenAI's weights use arch {arch + '-quickgelu'!r} if the "
        "architecture has that variant)"
    )


@ENCODERS.register("clip")
class CLIPEncoder(TextEncoder):
    """Frozen open_clip CLIP: ``encode(texts)`` for text features, ``encode_image(images)`` for images.

    Args:
        weights_path: local open_clip state dict (.safetensors, or .bin/.pt); required.
        arch: open_clip architecture name (default "ViT-B-32").
        model_cfg: an explicit open_clip config dict instead of the built-in one of ``arch``.
        device: where the model runs and where features are returned.
        batch_size: captions or images per forward pass.
    """

    def __init__(
        self,
        weights_path: str | os.PathLike,
        arch: str = DEFAULT_CLIP_ARCH,
        model_cfg: dict | None = None,
        device: str = "cpu",
        batch_size: int = 64,
    ):
        path = Path(weights_path)
        if not path.is_file():
            raise InputError(_missing_weights_message(path, arch))
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        open_clip = _import_open_clip()
        cfg = clip_model_config(arch, model_cfg)
        self.arch, self.weights_path, self.batch_size = arch, path, batch_size
        self.model = build_clip_model(arch, cfg)
        try:
            open_clip.load_checkpoint(self.model, str(path), strict=True, weights_only=True)
        except Exception as exc:  # torch/safetensors/state-dict mismatch errors of many types
            raise InputError(f"cannot load CLIP weights {path} into architecture {arch!r}: {exc}") from exc
        self.model.eval().requires_grad_(False)
        text_cfg = cfg["text_cfg"]
        self.tokenizer = open_clip.SimpleTokenizer(
            context_length=text_cfg.get("context_length", 77), **text_cfg.get("tokenizer_kwargs", {})
        )
        self.context_length = self.tokenizer.context_length
        self.word_dim = int(self.model.transformer.width)
        self.sentence_dim = int(cfg["embed_dim"])
        self.image_size = _image_size(self.model)
        self.device = torch.device("cpu")
        self.to(device)

    def to(self, device: str | torch.device) -> "CLIPEncoder":
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    # ------------------------------------------------------------------ text
    def tokenize(self, texts: Sequence[str], strict: bool = False) -> torch.Tensor:
        """Captions -> ids [B, context_length]; over-long ones are cut (end token kept) unless ``strict``."""
        texts = validate_texts(texts)
        if strict:
            for i, text in enumerate(texts):
                n = len(self.tokenizer.encode(text)) + 2  # + start and end tokens
                if n > self.context_length:
                    raise InputError(f"caption {i} has {n} CLIP tokens; the limit is {self.context_length}: {text[:60]!r}")
        return self.tokenizer(texts)

    @torch.no_grad()
    def _encode_ids(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ids [b, L] -> (words [b, L, width], unit sentence [b, embed], end-of-text index [b])."""
        m = self.model
        ids = ids.to(self.device)
        x = m.token_embedding(ids) + m.positional_embedding  # open_clip CLIP.encode_text, step by step
        x = m.transformer(x, attn_mask=m.attn_mask)
        words = m.ln_final(x)
        eot = (ids == self.tokenizer.eot_token_id).int().argmax(dim=-1)
        pooled = words[torch.arange(ids.shape[0], device=ids.device), eot]
        proj = m.text_projection
        sentence = proj(pooled) if isinstance(proj, torch.nn.Linear) else pooled @ proj
        return words, F.normalize(sentence, dim=-1), eot

    def encode(self, texts: Sequence[str], strict: bool = False) -> TextFeatures:
        ids = self.tokenize(texts, strict)
        words, sentences, eots = [], [], []
        for start in range(0, ids.shape[0], self.batch_size):
            w, s, e = self._encode_ids(ids[start : start + self.batch_size])
            words.append(w)
            sentences.append(s)
            eots.append(e)
        eot = torch.cat(eots)
        length = int(eot.max().item()) + 1
        mask = torch.arange(length, device=eot.device)[None, :] <= eot[:, None]
        words_t = torch.cat(words)[:, :length] * mask[..., None]
        return TextFeatures(words_t, torch.cat(sentences), mask)

    # ------------------------------------------------------------------ images
    def preprocess_images(self, images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
        """[B, 3, H, W] (float in ``value_range`` or uint8) -> CLIP input: shorter side resized to the
        model's size (bicubic), centre-cropped, normalised with the OpenAI mean/std (CLIP's transform)."""
        check_shape("images", images, ["B", 3, "H", "W"])
        if images.dtype == torch.uint8:
            x = images.float() / 255.0
        else:
            lo, hi = value_range
            x = (images.float() - lo) / (hi - lo)
        size = self.image_size
        h, w = x.shape[-2:]
        scale = size / min(h, w)
        new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
        x = F.interpolate(x, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=True)
        top, left = (new_h - size) // 2, (new_w - size) // 2
        x = x[..., top : top + size, left : left + size].clamp(0, 1)  # PIL resizing clips to the 8-bit range
        mean = torch.tensor(_CLIP_MEAN, device=x.device)[:, None, None]
        std = torch.tensor(_CLIP_STD, device=x.device)[:, None, None]
        return (x - mean) / std

    @torch.no_grad()
    def encode_image(self, images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
        """Images [B, 3, H, W] -> L2-normalised CLIP image embeddings [B, embed_dim] (for CLIP score)."""
        x = self.preprocess_images(images.to(self.device), value_range)
        out = [self.model.encode_image(x[i : i + self.batch_size], normalize=True) for i in range(0, x.shape[0], self.batch_size)]
        return torch.cat(out)


def _image_size(model: Any) -> int:
    size = getattr(model.visual, "image_size", 224)
    size = size[0] if isinstance(size, (tuple, list)) else size
    return int(size)
