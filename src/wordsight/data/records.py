"""Record types every loader returns (named fields, never positional tuples).

Conventions, shared by all loaders and the synthetic world:
- Images are PIL RGB images at their stored size.
- Fixation coordinates are 0-based pixel positions in the image they belong to, ``x`` = column,
  ``y`` = row (floats). Loaders of 1-based formats (SALICON json, MIT1003 .mat) convert on read.
- A fixation *density* map is float64 [H, W], non-negative; a *binary* fixation map is bool [H, W].
- Text-guided saliency categories follow seed 000 / SJTU-TIS: ``scene`` (whole-scene description),
  ``none`` (no text), ``general`` (general description), ``nonsalient`` (text about a non-salient
  object), ``salient`` (text about the salient object).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

SALIENCY_CATEGORIES = ("scene", "none", "general", "nonsalient", "salient")


@dataclass
class Fixations:
    """Parallel arrays of fixations of one image (pysaliency-style)."""

    x: np.ndarray  # float, 0-based column
    y: np.ndarray  # float, 0-based row
    observer: np.ndarray  # int id of the observer of each fixation
    duration: Optional[np.ndarray] = None  # ms, when known

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=np.float64).reshape(-1)
        self.y = np.asarray(self.y, dtype=np.float64).reshape(-1)
        self.observer = np.asarray(self.observer, dtype=np.int64).reshape(-1)
        if not (len(self.x) == len(self.y) == len(self.observer)):
            raise ValueError(f"Fixations: x, y, observer lengths differ ({len(self.x)}, {len(self.y)}, {len(self.observer)})")
        if self.duration is not None:
            self.duration = np.asarray(self.duration, dtype=np.float64).reshape(-1)
            if len(self.duration) != len(self.x):
                raise ValueError("Fixations: duration length differs from x")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def num_observers(self) -> int:
        return int(len(np.unique(self.observer)))

    def inside(self, height: int, width: int) -> "Fixations":
        """The fixations that fall inside an image of this size (others are dropped)."""
        keep = (self.x >= 0) & (self.x < width) & (self.y >= 0) & (self.y < height)
        dur = None if self.duration is None else self.duration[keep]
        return Fixations(self.x[keep], self.y[keep], self.observer[keep], dur)

    def to_binary_map(self, height: int, width: int) -> np.ndarray:
        """bool [H, W] with True at every fixated pixel (a pixel counts once, as in the MIT code)."""
        f = self.inside(height, width)
        m = np.zeros((height, width), dtype=bool)
        m[f.y.astype(np.int64), f.x.astype(np.int64)] = True
        return m


@dataclass
class CaptionedImage:
    """One image with its captions (text-to-image data sets)."""

    key: str
    image: Image.Image
    captions: list[str]
    label: Optional[int] = None  # class id where the data set has classes (CUB, Oxford)
    path: Optional[Path] = None


@dataclass
class SaliencyRecord:
    """One image with its gaze data, optionally with the text shown to observers."""

    key: str
    image: Image.Image
    fixation_map: Optional[np.ndarray] = None  # float64 density [H, W]
    fixations: Optional[Fixations] = None
    text: Optional[str] = None
    category: Optional[str] = None  # one of SALIENCY_CATEGORIES for text-guided data
    path: Optional[Path] = None
    extra: dict = field(default_factory=dict)

    def binary_map(self) -> np.ndarray:
        """The binary fixation map, from points if known, else the non-zero pixels of the map."""
        h, w = self.image.height, self.image.width
        if self.fixations is not None:
            return self.fixations.to_binary_map(h, w)
        if self.fixation_map is None:
            raise ValueError(f"{self.key}: no fixations and no fixation map")
        return self.fixation_map > 0
