"""Image files of every awkward kind, built cheaply in memory: (name, bytes, expectation)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

# kinds whose file must be refused (InputError), and the words the message must contain
REFUSED = {"zero_size": "cannot read image", "not_image": "cannot read image", "truncated": "image",
           "huge_header": "MP", "float_nan": "NaN", "empty_header": "image"}


def _save(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_with_size(width: int, height: int, payload: bytes = b"") -> bytes:
    """A PNG whose header declares ``width`` x ``height`` (8-bit RGB) with a tiny, wrong IDAT: the size is
    read from the header and nothing big is ever allocated by a loader that checks first."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(payload or b"\0" * 16)) + _chunk(b"IEND", b"")


def build(kind: str, width: int, height: int, value: int, rng: np.random.Generator) -> tuple[bytes, str]:
    """(file bytes, file suffix) of one ``kind`` of image with ``width`` x ``height`` pixels."""
    w, h = width, height
    if kind == "rgb":
        return _save(Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)), "PNG"), ".png"
    if kind == "jpeg":
        return _save(Image.new("RGB", (w, h), (value, 255 - value, 40)), "JPEG"), ".jpg"
    if kind == "one_by_one":
        return _save(Image.new("RGB", (1, 1), (value, value, value)), "PNG"), ".png"
    if kind == "grey16":
        arr = np.full((h, w), value * 257, dtype=np.uint16)
        return _save(Image.fromarray(arr), "PNG"), ".png"  # read back as "I;16" or "I"
    if kind == "cmyk":
        return _save(Image.new("CMYK", (w, h), (value, 0, 0, 0)), "JPEG"), ".jpg"
    if kind == "cmyk_tiff":
        return _save(Image.new("CMYK", (w, h), (0, value, 0, 0)), "TIFF"), ".tif"
    if kind == "palette":
        return _save(Image.new("RGB", (w, h), (value, 10, 200)).convert("P"), "PNG"), ".png"
    if kind == "palette_transparent":
        im = Image.new("P", (w, h), 0)
        im.putpalette([value, 0, 0] * 256)
        return _save(im, "PNG", transparency=0), ".png"
    if kind == "rgba":
        return _save(Image.new("RGBA", (w, h), (value, 0, 0, 0)), "PNG"), ".png"  # fully transparent
    if kind == "la":
        return _save(Image.new("LA", (w, h), (value, 255)), "PNG"), ".png"
    if kind == "float":
        arr = np.full((h, w), value / 255.0, dtype=np.float32)
        return _save(Image.fromarray(arr, "F"), "TIFF"), ".tif"
    if kind == "float_nan":
        arr = np.full((h, w), 0.5, dtype=np.float32)
        arr[0, 0] = np.nan
        return _save(Image.fromarray(arr, "F"), "TIFF"), ".tif"
    if kind == "int32_signed":  # a 32-bit greyscale TIFF with negative values: its own range
        arr = np.linspace(-1000, 5000, w * h).astype(np.int32).reshape(h, w)
        return _save(Image.fromarray(arr, "I"), "TIFF"), ".tif"
    if kind == "grey16_big_endian":
        arr = np.full((h, w), value * 257, dtype=">u2")
        return _save(Image.frombuffer("I;16B", (w, h), arr.tobytes(), "raw", "I;16B", 0, 1), "TIFF"), ".tif"
    if kind == "strip":  # an extreme aspect ratio: one pixel high
        return _save(Image.new("RGB", (w * 40, 1), (value, 0, 0)), "PNG"), ".png"
    if kind == "animated_gif":
        frames = [Image.new("RGB", (w, h), (value, 0, 0)), Image.new("RGB", (w, h), (0, value, 0))]
        buf = io.BytesIO()
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
        return buf.getvalue(), ".png"  # a GIF named .png
    if kind == "bilevel":
        return _save(Image.new("1", (w, h), 1), "PNG"), ".png"
    if kind == "truncated":
        data = _save(Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)), "PNG")
        return data[: max(34, len(data) // 2)], ".png"  # header intact, pixels cut
    if kind == "zero_size":
        return b"", ".png"
    if kind == "empty_header":
        return png_with_size(0, 0), ".png"
    if kind == "huge_header":
        return png_with_size(100_000 + w, 100_000 + h), ".png"
    if kind == "not_image":
        return bytes(rng.integers(0, 256, 64 + value, dtype=np.uint8)), ".png"
    raise ValueError(kind)


KINDS = ["rgb", "jpeg", "one_by_one", "grey16", "cmyk", "cmyk_tiff", "palette", "palette_transparent", "rgba", "la",
         "float", "float_nan", "int32_signed", "grey16_big_endian", "strip", "animated_gif", "bilevel", "truncated", "zero_size", "empty_header", "huge_header", "not_image"]


def expected_rgb(kind: str, value: int) -> tuple[int, int, int] | None:
    """The RGB colour every pixel of a decoded ``kind`` image must have (None: not a uniform image)."""
    return {"one_by_one": (value,) * 3, "grey16": (value,) * 3, "palette_transparent": (255, 255, 255),
            "rgba": (255, 255, 255), "la": (value,) * 3, "float": (value,) * 3, "bilevel": (255, 255, 255),
            "grey16_big_endian": (value,) * 3, "strip": (value, 0, 0)}.get(kind)
