"""Editing one's own image with a trained text-to-image generator by inverting it (seed 004, "GAN
inversion: manipulate my own image, not from z"; Algorithm 1, Latent Space Embedding, Image2StyleGAN):

    z* = argmin_z  L_percept(G(z, t_src), x) + lambda / 2 ||G(z, t_src) - x||^2      (Algorithm 1, line 3)
    edited = G(z*, t_new)

with Adam on z (Algorithm 1's F*), starting from z = 0 (the mean of the generator's noise). Works for every
wordsight text-to-image pipeline (DF-GAN, GAN-INT-CLS, StackGAN, AttnGAN, ...; the last stage for
multi-stage ones). The perceptual term is VGG-16's relu1_2, relu2_2, relu3_3 and relu4_3 features (the
Image2StyleGAN / Johnson et al. layers) when a local torchvision VGG-16 weights file is given, otherwise the
synthetic world's scene oracle's features (no download needed; it knows only the shape world); the result
says which (``perceptual``). The squared error is the mean over pixels (Image2StyleGAN's MSE).

GAN-INT-CLS pipelines with a style encoder also edit without optimisation: ``pipe.transfer_style(x,
new_caption)`` is G(S(x), phi(t_new)) (seed 004 section 4.4).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from PIL import Image

from ..models.generator import split_stages, text_kwargs
from ..utils.checks import InputError, check_captions
from ..utils.images import pil_to_tensor, tensor_to_pil

__all__ = ["InversionResult", "edit_by_inversion", "invert", "perceptual_features"]

VGG_LAYERS = ("conv1_2", "conv2_2", "conv3_3", "conv4_3")


@dataclass
class InversionResult:
    """latent: z* [N, z_dim]; reconstruction: G(z*, t_src) [N, 3, S, S]; edited: G(z*, t_new) (None without
    a new caption); targets: the inputs at the generator's size; losses: the objective per step;
    perceptual: which network gave L_percept."""

    latent: torch.Tensor
    reconstruction: torch.Tensor
    targets: torch.Tensor
    perceptual: str
    losses: list[float] = field(default_factory=list)
    edited: torch.Tensor | None = None

    def to_pil(self) -> list[Image.Image]:
        return [tensor_to_pil(im) for im in (self.edited if self.edited is not None else self.reconstruction)]


def perceptual_features(vgg16_weights: str | os.PathLike | None = None,
                        device: str | torch.device = "cpu") -> tuple[Callable[[torch.Tensor], list[torch.Tensor]], str]:
    """(images [B, 3, S, S] in [-1, 1] -> feature maps, its name): VGG-16 from ``vgg16_weights``, else the
    shipped scene oracle's convolutional features and embedding."""
    if vgg16_weights is not None:
        from ..models.vgg import load_torchvision_vgg16, normalize_images

        vgg = load_torchvision_vgg16(vgg16_weights).to(device).eval().requires_grad_(False)

        def vgg_features(images: torch.Tensor) -> list[torch.Tensor]:
            taps: list[torch.Tensor] = []
            edits = {name: (lambda h, taps=taps: (taps.append(F.relu(h)), h)[1]) for name in VGG_LAYERS}
            x = F.interpolate(images, size=(224, 224), mode="bilinear", align_corners=False) if images.shape[-1] < 224 else images
            vgg(normalize_images(x, "torchvision"), edits=edits)
            return taps

        return vgg_features, f"vgg16 ({os.fspath(vgg16_weights)}: relu1_2, relu2_2, relu3_3, relu4_3)"
    from ..models.oracle import load_oracle

    oracle = load_oracle().to(device)

    def oracle_features(images: torch.Tensor) -> list[torch.Tensor]:
        x = images
        if x.shape[-1] != oracle.input_size:
            x = F.interpolate(x, size=(oracle.input_size, oracle.input_size), mode="bilinear", antialias=True, align_corners=False)
        conv = oracle.features_net(x)
        return [conv, oracle.trunk(conv)]

    return oracle_features, "scene oracle (the synthetic world's classifier: conv features and embedding; no VGG-16 weights given)"


def _targets(pipe: Any, images: Any) -> torch.Tensor:
    size = int(getattr(pipe.generator, "image_size"))
    if isinstance(images, torch.Tensor):
        x = images if images.dim() == 4 else images[None]
        if x.shape[1] != 3 or not torch.isfinite(x).all():
            raise InputError(f"images must be finite [N, 3, H, W] in [-1, 1], got {tuple(images.shape)}")
        x = x.float()
        return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False) if x.shape[-1] != size else x
    pictures = [images] if isinstance(images, Image.Image) else list(images)
    if not pictures:
        raise InputError("no images to invert")
    return torch.stack([pil_to_tensor(p.convert("RGB").resize((size, size), Image.BICUBIC)) for p in pictures])


def _generate(pipe: Any, z: torch.Tensor, features: Any, rows: torch.Tensor) -> torch.Tensor:
    text = {k: v.to(z.device) for k, v in text_kwargs(pipe.generator, features, rows).items()}
    return split_stages(pipe.generator(z, **text))[0]


def invert(pipe: Any, images: Any, caption: str | Sequence[str], steps: int = 300, lr: float = 0.05,
           l2_weight: float = 1.0, vgg16_weights: str | os.PathLike | None = None, progress: bool = False) -> InversionResult:
    """Algorithm 1 for each image, with the caption(s) that describe it (one, or one per image)."""
    if steps < 1 or not lr > 0 or not l2_weight >= 0:
        raise InputError(f"steps must be >= 1, lr > 0 and l2_weight >= 0, got {steps}, {lr}, {l2_weight}")
    x = _targets(pipe, images).to(pipe.device)
    caps = check_captions([caption] if isinstance(caption, str) else list(caption))
    if len(caps) not in (1, x.shape[0]):
        raise InputError(f"give one caption or one per image ({x.shape[0]}), got {len(caps)}")
    with torch.no_grad():  # the text is fixed: only z is optimised
        features = pipe.text_encoder.encode(caps)
    rows = torch.zeros(x.shape[0], dtype=torch.long) if len(caps) == 1 else torch.arange(x.shape[0])
    percept, name = perceptual_features(vgg16_weights, pipe.device)
    with torch.no_grad():
        target_features = [f.detach() for f in percept(x)]
    generator = pipe.generator
    flags = [p.requires_grad for p in generator.parameters()]
    generator.requires_grad_(False)
    z = torch.zeros(x.shape[0], generator.z_dim, device=x.device, requires_grad=True)
    opt = torch.optim.Adam([z], lr=lr)
    losses = []
    from tqdm import tqdm

    try:
        for _ in tqdm(range(steps), desc="inverting", disable=not progress):
            g = _generate(pipe, z, features, rows)
            loss = sum(F.mse_loss(a, b) for a, b in zip(percept(g), target_features)) + l2_weight / 2 * F.mse_loss(g, x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    finally:
        for p, flag in zip(generator.parameters(), flags):
            p.requires_grad_(flag)
    with torch.no_grad():
        recon = _generate(pipe, z, features, rows).clamp(-1, 1)
    return InversionResult(z.detach().cpu(), recon.cpu(), x.cpu(), name, losses)


def edit_by_inversion(pipe: Any, images: Any, source_caption: str | Sequence[str], new_caption: str | Sequence[str],
                      **kwargs: Any) -> InversionResult:
    """Invert ``images`` with the caption(s) that describe them, then regenerate with ``new_caption`` (one,
    or one per image). The images are inverted together: each has its own latent, and Adam's per-coordinate
    steps make the batch the same as one image at a time."""
    new = check_captions([new_caption] if isinstance(new_caption, str) else list(new_caption))
    result = invert(pipe, images, source_caption, **kwargs)
    if len(new) not in (1, result.latent.shape[0]):
        raise InputError(f"give one new caption or one per image ({result.latent.shape[0]}), got {len(new)}")
    pipe.check_vocabulary(new)
    with torch.no_grad():
        features = pipe.text_encoder.encode(new)
        rows = torch.zeros(result.latent.shape[0], dtype=torch.long) if len(new) == 1 else torch.arange(len(new))
        result.edited = _generate(pipe, result.latent.to(pipe.device), features, rows).clamp(-1, 1).cpu()
    return result
