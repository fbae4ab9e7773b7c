"""Tiny records drawn with PIL/numpy (32x32 coloured squares), independent of the synthetic world."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from wordsight.data.records import CaptionedImage, Fixations, SaliencyRecord

COLOURS = [(220, 30, 30), (30, 160, 40), (40, 60, 220), (230, 200, 30), (150, 50, 190), (30, 200, 210)]


def square_image(index: int, size: int = 32) -> Image.Image:
    """A grey image with one coloured square whose position depends on ``index``."""
    img = Image.new("RGB", (size, size), (128, 128, 128))
    off = 4 + (index * 3) % (size // 2)
    ImageDraw.Draw(img).rectangle([off, off, off + size // 4, off + size // 4], fill=COLOURS[index % len(COLOURS)])
    return img


def captioned(n: int, start: int = 0, captions: int = 10, classes: int = 3) -> list[CaptionedImage]:
    return [
        CaptionedImage(key=f"img_{i:03d}", image=square_image(i),
                       captions=[f"a square number {i} caption {j}" for j in range(captions)], label=i % classes)
        for i in range(start, start + n)
    ]


def saliency_records(n: int, size: int = 32, category: str | None = None, text: str | None = None) -> list[SaliencyRecord]:
    out = []
    for i in range(n):
        yy, xx = np.mgrid[0:size, 0:size]
        cx, cy = 8 + i, 10 + 2 * i
        density = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 20.0)
        fix = Fixations([cx, cx + 1.5, 3.0], [cy, cy - 0.5, 4.0], [0, 1, 1], duration=[200, 150, 90])
        out.append(SaliencyRecord(key=f"s{i:02d}", image=square_image(i, size), fixation_map=density, fixations=fix,
                                  text=text, category=category))
    return out

CLASS_NAMES = ["red_square", "green_square", "blue_square"]
