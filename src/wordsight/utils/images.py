"""Image conversion, grids and loading with clear errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from .checks import InputError


def load_image(path: str | os.PathLike, mode: str = "RGB") -> Image.Image:
    """Open an image fully (so a truncated file fails here, naming the path, not later in a batch)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert(mode)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc


def to_uint8(images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """[B,C,H,W] float in ``value_range`` -> uint8 [B,C,H,W]."""
    lo, hi = value_range
    x = (images.detach().float().cpu() - lo) / (hi - lo)
    return (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8)


def tensor_to_pil(image: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> Image.Image:
    arr = to_uint8(image[None], value_range)[0].permute(1, 2, 0).numpy()
    if arr.shape[2] == 1:
        return Image.fromarray(arr[:, :, 0], "L")
    return Image.fromarray(arr, "RGB")


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> float [3,H,W] in [-1, 1]."""
    arr = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def make_grid(images: Sequence[Image.Image], ncols: int, pad: int = 2, bg=(255, 255, 255)) -> Image.Image:
    if not images:
        raise InputError("make_grid: no images")
    w = max(im.width for im in images)
    h = max(im.height for im in images)
    nrows = (len(images) + ncols - 1) // ncols
    grid = Image.new("RGB", (ncols * (w + pad) + pad, nrows * (h + pad) + pad), bg)
    for i, im in enumerate(images):
        r, c = divmod(i, ncols)
        grid.paste(im.convert("RGB"), (pad + c * (w + pad), pad + r * (h + pad)))
    return grid


def captioned_grid(
    images: Sequence[Image.Image], captions: Sequence[str], ncols: int, cell: int = 128, text_h: int = 36
) -> Image.Image:
    """A contact sheet: each image scaled to ``cell`` px with its caption (wrapped) underneath."""
    font = ImageFont.load_default()
    cells = []
    for im, cap in zip(images, captions):
        tile = Image.new("RGB", (cell, cell + text_h), (255, 255, 255))
        tile.paste(im.convert("RGB").resize((cell, cell), Image.NEAREST if im.width < cell else Image.BILINEAR), (0, 0))
        draw = ImageDraw.Draw(tile)
        draw.multiline_text((2, cell + 1), _wrap(cap, max(8, cell // 6)), fill=(0, 0, 0), font=font, spacing=1)
        cells.append(tile)
    return make_grid(cells, ncols)


def _wrap(text: str, width: int, max_lines: int = 3) -> str:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width and cur:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 3] + "..."
    return "\n".join(lines)


def heatmap_overlay(image: Image.Image, saliency: np.ndarray, alpha: float = 0.5, normalise: bool = True) -> Image.Image:
    """Overlay a [H,W] map on an image with a jet-like colour map: any range stretched to [0, 1], or, with
    ``normalise=False``, a map already in [0, 1] as it is."""
    s = np.asarray(saliency, dtype=np.float64)
    if normalise:
        s = (s - s.min()) / (s.max() - s.min() + 1e-12)
    sal = Image.fromarray((s * 255).astype(np.uint8), "L").resize(image.size, Image.BILINEAR)
    v = np.asarray(sal, dtype=np.float32) / 255.0
    rgb = np.stack([np.clip(1.5 - abs(4 * v - 3), 0, 1), np.clip(1.5 - abs(4 * v - 2), 0, 1), np.clip(1.5 - abs(4 * v - 1), 0, 1)], -1)
    heat = Image.fromarray((rgb * 255).astype(np.uint8), "RGB")
    return Image.blend(image.convert("RGB"), heat, alpha)


def attention_sheet(stages: Sequence[Image.Image], final: Image.Image, rows: Sequence[Sequence[tuple[str, np.ndarray]]],
                    caption: str, cell: int = 96, alpha: float = 0.6) -> Image.Image:
    """AttnGAN's attention figure (seed 004 Fig. 1): a first row of ``stages`` (each scaled to ``cell``), then
    one row per attention stage of (word, map [H, W]) pairs, each map blended over ``final`` with the word
    under it; ``caption`` on top."""
    font = ImageFont.load_default()
    text_h, head_h = 14, 16
    ncols = max([len(stages), *[len(r) for r in rows]])
    sheet = Image.new("RGB", (ncols * (cell + 2) + 2, head_h + (1 + len(rows)) * (cell + text_h + 2) + 2), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((2, 2), _wrap(caption, max(8, ncols * cell // 6), max_lines=1), fill=(0, 0, 0), font=font)

    def put(im: Image.Image, label: str, r: int, c: int) -> None:
        x, y = 2 + c * (cell + 2), head_h + r * (cell + text_h + 2)
        sheet.paste(im.convert("RGB").resize((cell, cell), Image.NEAREST if im.width < cell else Image.BILINEAR), (x, y))
        draw.text((x + 2, y + cell + 1), label, fill=(0, 0, 0), font=font)

    for c, im in enumerate(stages):
        put(im, f"{im.width} px", 0, c)
    big = final.convert("RGB").resize((cell, cell), Image.BILINEAR)
    for r, pairs in enumerate(rows, start=1):
        for c, (word, amap) in enumerate(pairs):
            # maps share one scale per row, so a faint word looks faint (not stretched to the full range)
            peak = max(float(np.max(m)) for _, m in pairs) or 1.0
            put(heatmap_overlay(big, np.clip(np.asarray(amap, dtype=np.float64) / peak, 0, 1), alpha=alpha, normalise=False), word, r, c)
    return sheet
