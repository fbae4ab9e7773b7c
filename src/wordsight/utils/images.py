"""Image conversion, grids and loading with clear errors."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from .checks import InputError


# ------------------------------------------------------------------ pixel limit
DEFAULT_MAX_PIXELS = 40_000_000
"""Images with more pixels than this are refused from their header, before decoding (a 40 MP RGB image
decodes to 120 MB). Raise it with the environment variable :data:`MAX_PIXELS_ENV` or the ``max_pixels``
argument of :func:`open_image` / :func:`load_image`; 0 means no limit."""
MAX_PIXELS_ENV = "WORDSIGHT_MAX_PIXELS"
MODEL_MAX_SIDE = 4096
"""Images going to a model are downscaled to at most this many pixels on the long side first (the models
work at a few hundred pixels at most), so memory stays bounded whatever the upload."""


class ImageTooLargeError(InputError):
    """An image with more pixels than the limit (:func:`max_pixels`); raised from the header, before decoding."""


def max_pixels(limit: int | None = None) -> int | None:
    """The pixel limit in force: ``limit`` when given, else ``$WORDSIGHT_MAX_PIXELS``, else
    :data:`DEFAULT_MAX_PIXELS`; 0 (or "none") means no limit and returns None."""
    if limit is None:
        raw = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "").replace(",", "")
        if not raw:
            return DEFAULT_MAX_PIXELS
        if raw.lower() in ("none", "off", "0"):
            return None
        try:
            value = float(raw)
            if not value.is_integer() or value < 0:
                raise ValueError
        except ValueError:
            raise InputError(f"{MAX_PIXELS_ENV} must be a whole number of pixels (0 = no limit), e.g. "
                             f"{MAX_PIXELS_ENV}=100000000, got {os.environ[MAX_PIXELS_ENV]!r}") from None
        limit = int(value)
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
        raise InputError(f"max_pixels must be a whole number of pixels >= 0 (0 = no limit), got {limit!r}")
    return int(limit) or None


def _mp(pixels: float) -> str:
    return f"{pixels / 1e6:.1f}" if pixels >= 1e5 else f"{pixels / 1e6:.4g}"


def check_pixels(size: tuple[int, int], limit: int | None = None, name: str = "the image",
                 explicit: bool | None = None) -> None:
    """InputError (:class:`ImageTooLargeError`) when ``size`` = (width, height) has more pixels than the
    limit (:func:`max_pixels` of ``limit``), or no pixels. The message names ``name``, the size and the
    limit, and (unless the caller set the limit, ``explicit``) how to raise it."""
    width, height = int(size[0]), int(size[1])
    if width < 1 or height < 1:
        raise InputError(f"{name} is empty ({width}x{height})")
    if explicit is None:
        explicit = limit is not None
    cap = max_pixels(limit)
    if cap is not None and width * height > cap:
        hint = "" if explicit else (f"; to allow it, set {MAX_PIXELS_ENV}={width * height} (pixels; 0 = no limit) "
                                    "or pass max_pixels=")
        raise ImageTooLargeError(f"{name} is {width}x{height} = {_mp(width * height)} MP; the limit is "
                                 f"{cap / 1e6:g} MP{hint}")


def _sync_pil_limit() -> None:
    """PIL warns above ``Image.MAX_IMAGE_PIXELS`` and refuses above twice that (its own message); set it to
    our limit so both speak of the same number. :func:`open_image` checks first and never lets PIL's
    refusal through."""
    try:
        Image.MAX_IMAGE_PIXELS = max_pixels()
    except InputError:  # a malformed environment variable is reported when an image is opened
        Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS


_sync_pil_limit()
_PIL_LIMIT_LOCK = threading.Lock()


def _open_unchecked(path: Path) -> Image.Image:
    """Image.open without PIL's bomb check (the header only: nothing is decoded); we check right after."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombError:
            pass
        with _PIL_LIMIT_LOCK:  # larger than twice PIL's limit: reopen with its check off, just for the header
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                return Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = saved


def open_image(path: str | os.PathLike, max_pixels: int | None = None, name: str | None = None) -> Image.Image:
    """Open ``path`` lazily (the header only) and check its size against the pixel limit before anything is
    decoded. Missing, unreadable or too large files are one InputError naming the file (``name`` when
    given, else the path). Use it as a context manager, or close the image."""
    path = Path(path)
    label = name or str(path)
    if not path.exists():
        raise InputError(f"image not found: {label}")
    try:
        im = _open_unchecked(path)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"cannot read image {label}: {exc}") from exc
    try:
        check_pixels(im.size, max_pixels, f"the image {label}")
    except InputError:
        im.close()
        raise
    return im


def load_image(path: str | os.PathLike, mode: str = "RGB", *, max_pixels: int | None = None,
               max_side: int | None = None) -> Image.Image:
    """Open an image fully (so a truncated file fails here, naming the path, not later in a batch).

    The size is checked from the header first (:func:`open_image`, limit :func:`max_pixels`). ``mode`` "RGB"
    goes through :func:`to_rgb` (16-bit and float images scaled, alpha composited onto white, CMYK through
    an embedded ICC profile); "L" scales 16-bit and float greyscale the same way; other modes are PIL's
    ``convert``. ``max_side``: downscale so the long side is at most this (JPEGs are decoded at a reduced
    scale, ``Image.draft``, so the full image is never in memory)."""
    label = str(path)
    with open_image(path, max_pixels) as im:
        try:
            if max_side is not None and max(im.size) > max_side and im.format == "JPEG":
                scale = max_side / max(im.size)
                im.draft(im.mode, (max(1, int(im.width * scale)), max(1, int(im.height * scale))))
            im.load()
            out = _convert(im, mode)
        except InputError as exc:
            raise InputError(f"image {label}: {exc}") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise InputError(f"cannot read image {label}: {exc}") from exc
    return fit_within(out, max_side) if max_side is not None else out


def fit_within(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` itself when its long side is at most ``max_side``, else a downscaled copy (aspect kept;
    ``reduce`` by whole factors first, then a bicubic resize, so a huge image is cheap to shrink)."""
    if max_side < 1:
        raise InputError(f"max_side must be >= 1, got {max_side}")
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, min(max_side, round(image.width * scale))), max(1, min(max_side, round(image.height * scale))))
    return image.resize(size, Image.BICUBIC, reducing_gap=2.0)


def _convert(image: Image.Image, mode: str) -> Image.Image:
    if mode == "RGB":
        return to_rgb(image)
    if mode == "L" and image.mode in _HIGH_BIT_GREY:
        return _grey_to_8bit(image)
    return image.convert(mode)


# ------------------------------------------------------------------ modes
_HIGH_BIT_GREY = ("I", "I;16", "I;16L", "I;16B", "I;16N", "I;16S", "I;32", "I;32B", "I;32S", "F")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
WHITE = (255, 255, 255)


def _grey_to_8bit(image: Image.Image) -> Image.Image:
    """A 16/32-bit integer or float greyscale image -> "L", scaled by its depth (see :func:`to_rgb`)."""
    arr = np.asarray(image)
    if image.mode == "F":
        x = arr.astype(np.float64)
        if not np.isfinite(x).all():
            raise InputError(f"the float image has {int((~np.isfinite(x)).sum())} NaN or infinite pixels")
        scale = 255.0 if x.size and x.max() <= 1.0 else 1.0  # [0, 1] data, else [0, 255] data
        out = x * scale
    else:
        x = arr.astype(np.int64)
        lo, hi = (int(x.min()), int(x.max())) if x.size else (0, 0)
        if lo >= 0 and hi <= 65535:  # 16-bit data (every I;16 image; a 16-bit PNG read as "I")
            out = x * (255.0 / 65535.0)
        else:  # wider or signed data: its own range, zero kept black when it is inside
            base = min(lo, 0)
            out = (x - base) * (255.0 / max(hi - base, 1))
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "L")


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if icc:
        try:
            import io

            from PIL import ImageCms

            return ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                             ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception:  # noqa: BLE001 - an unusable profile (or no littlecms): PIL's plain conversion
            pass
    return image.convert("RGB")


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL image -> a new 8-bit "RGB" image, every mode converted by what its values mean (the one
    conversion the library uses for user images, so the CLI, pipelines, loaders and demo agree):

    - "1", "L", "P" (no transparency), "RGB", "RGBX", "YCbCr", "LAB", "HSV": PIL's conversion;
    - 16-bit greyscale ("I;16", "I;16B", ...): scaled by the depth, 0..65535 -> 0..255 (PIL would clip at
      255, making a 16-bit photo white); "I" (32-bit): the same when its values lie in 0..65535 (a 16-bit
      PNG), else its own range [min(0, min), max] -> 0..255;
    - "F" (float): [0, 1] data when its maximum is <= 1, else [0, 255] data; values outside are clipped,
      NaN or inf is an InputError;
    - alpha ("RGBA", "LA", "PA", "RGBa", "La", "P" with transparency): composited onto white (a transparent
      background reads as white paper, not as black);
    - "CMYK": through the embedded ICC profile to sRGB when there is one (PIL.ImageCms), else PIL's
      conversion.
    """
    if not isinstance(image, Image.Image):
        raise InputError(f"expected a PIL image, got {type(image).__name__}")
    mode = image.mode
    try:
        if mode in _HIGH_BIT_GREY:
            return _grey_to_8bit(image).convert("RGB")
        if mode == "CMYK":
            return _cmyk_to_rgb(image)
        if mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info):
            rgba = (image.convert("LA") if mode == "La" else image).convert("RGBA")  # PIL has no La -> RGBA
            return Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE + (255,)), rgba).convert("RGB")
        return image.convert("RGB")
    except ValueError as exc:  # a mode PIL cannot convert
        raise InputError(f"cannot convert a {mode} image to RGB: {exc}") from exc


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
    """PIL image (RGB, or any mode through :func:`to_rgb`) -> float [3,H,W] in [-1, 1]."""
    arr = np.asarray(image if image.mode == "RGB" else to_rgb(image), dtype=np.float32) / 127.5 - 1.0
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
        grid.paste(to_rgb(im), (pad + c * (w + pad), pad + r * (h + pad)))
    return grid


def captioned_grid(
    images: Sequence[Image.Image], captions: Sequence[str], ncols: int, cell: int = 128, text_h: int = 36
) -> Image.Image:
    """A contact sheet: each image scaled to ``cell`` px with its caption (wrapped) underneath."""
    font = ImageFont.load_default()
    cells = []
    for im, cap in zip(images, captions):
        tile = Image.new("RGB", (cell, cell + text_h), (255, 255, 255))
        tile.paste(to_rgb(im).resize((cell, cell), Image.NEAREST if im.width < cell else Image.BILINEAR), (0, 0))
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
    return Image.blend(to_rgb(image), heat, alpha)


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
        sheet.paste(to_rgb(im).resize((cell, cell), Image.NEAREST if im.width < cell else Image.BILINEAR), (x, y))
        draw.text((x + 2, y + cell + 1), label, fill=(0, 0, 0), font=font)

    for c, im in enumerate(stages):
        put(im, f"{im.width} px", 0, c)
    big = to_rgb(final).resize((cell, cell), Image.BILINEAR)
    for r, pairs in enumerate(rows, start=1):
        for c, (word, amap) in enumerate(pairs):
            # maps share one scale per row, so a faint word looks faint (not stretched to the full range)
            peak = max(float(np.max(m)) for _, m in pairs) or 1.0
            put(heatmap_overlay(big, np.clip(np.asarray(amap, dtype=np.float64) / peak, 0, 1), alpha=alpha, normalise=False), word, r, c)
    return sheet
