"""CLIP score as GALIP computes it (Tao et al. 2023; ``calc_clip_sim`` in tobran/GALIP ``code/lib/utils.py``).

CLIP score = 100 x mean over images of cos(CLIP image embedding, CLIP text embedding of its caption); no
clamp, no per-pair rescaling. GALIP uses ViT-B/32 and prints the mean cosine (0.3338 on COCO = 33.38 here).

How this differs from ``torchmetrics.multimodal.CLIPScore``: torchmetrics averages max(100 cos, 0) (a clamp
at zero, which raises the mean whenever some pairs are negatively aligned) and defaults to ViT-L/14, so its
numbers are neither on the same network nor the same formula. How it differs from GALIP's code: GALIP feeds
images through ``transf_to_CLIP_input``, which resizes with nearest neighbour and maps [-1, 1] to [0, 1]
*twice* before the CLIP normalisation; we use the CLIP model's own preprocessing (open_clip's transform) on
uint8 images instead, so values from GALIP's script and ours differ slightly for the same images.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch
from PIL import Image

from ...utils.checks import InputError, check_captions, check_finite, check_shape
from ..features import ImageSource, extract
from .keys import KEY_CLIP_SCORE


class ImageTextEncoder(Protocol):
    """Maps uint8 image batches and caption lists to embeddings of one shared space (CLIP, DAMSM)."""

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:  # uint8 [B,3,H,W] -> [B, D]
        ...

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:  # B captions -> [B, D]
        ...


def clip_score_from_embeddings(image_emb: torch.Tensor, text_emb: torch.Tensor) -> dict[str, float]:
    """100 x mean cosine of paired rows (``torch.cosine_similarity``, as GALIP), computed in float64."""
    bound = check_shape("image_emb", image_emb, ["N", "D"])
    check_shape("text_emb", text_emb, [bound["N"], bound["D"]])
    check_finite("image_emb", image_emb)
    check_finite("text_emb", text_emb)
    cosine = torch.cosine_similarity(image_emb.detach().double(), text_emb.detach().double(), dim=1)
    return {KEY_CLIP_SCORE: 100.0 * float(cosine.mean())}


class OpenClipEncoder:
    """An open_clip model (or anything with ``encode_image``/``encode_text``) as an ImageTextEncoder.

    Args:
        model: e.g. from ``open_clip.create_model_and_transforms("ViT-B-32", pretrained=<local file>)``;
            must be in eval mode.
        preprocess: the model's image transform (PIL image -> float [3,h,w]), open_clip's ``preprocess``.
        tokenizer: captions -> token ids [B, T], e.g. ``open_clip.get_tokenizer("ViT-B-32")``.
        device: where the model lives.
    """

    def __init__(self, model: Any, preprocess: Callable[[Image.Image], torch.Tensor],
                 tokenizer: Callable[[list[str]], torch.Tensor], device: str | torch.device = "cpu"):
        if getattr(model, "training", False):
            raise InputError("CLIP model is in training mode (dropout active); call model.eval() first")
        for method in ("encode_image", "encode_text"):
            if not callable(getattr(model, method, None)):
                raise InputError(f"CLIP model {type(model).__name__} has no {method}()")
        self.model, self.preprocess, self.tokenizer, self.device = model, preprocess, tokenizer, device

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        pils = [Image.fromarray(np.ascontiguousarray(im.permute(1, 2, 0).cpu().numpy()), "RGB") for im in images]
        batch = torch.stack([self.preprocess(p) for p in pils]).to(self.device)
        return self.model.encode_image(batch).float().cpu()

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = self.tokenizer(list(texts)).to(self.device)
        return self.model.encode_text(tokens).float().cpu()


def encode_captions(encoder: ImageTextEncoder, captions: Sequence[str], batch_size: int = 64) -> torch.Tensor:
    captions = check_captions(list(captions))
    parts = [encoder.encode_texts(captions[i : i + batch_size]) for i in range(0, len(captions), batch_size)]
    return torch.cat([p.detach().float().cpu() for p in parts])


def clip_score(
    encoder: ImageTextEncoder, images: ImageSource, captions: Sequence[str], *, batch_size: int = 64
) -> dict[str, float]:
    """CLIP score of uint8 images and their captions (one caption per image, in order).

    Example:
        >>> model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=path)  # doctest: +SKIP
        >>> enc = OpenClipEncoder(model.eval(), preprocess, open_clip.get_tokenizer("ViT-B-32"))  # doctest: +SKIP
        >>> clip_score(enc, images_uint8, captions)["clip_score"]  # doctest: +SKIP
    """
    image_emb = extract(images, consumers={"clip": encoder.encode_images}, batch_size=batch_size).outputs["clip"]
    text_emb = encode_captions(encoder, captions, batch_size)
    if text_emb.shape[0] != image_emb.shape[0]:
        raise InputError(f"clip_score: {image_emb.shape[0]} images but {text_emb.shape[0]} captions")
    return clip_score_from_embeddings(image_emb, text_emb)
