"""Shared pieces of the loaders: a problem collector, cheap file checks and a lazy dataset base.

Loaders check a whole data set when they are opened and raise one ``InputError`` listing every missing
or corrupt file with its path, instead of failing halfway through an epoch. Opening checks that files
exist and that image headers parse (cheap); pixels are decoded lazily in ``__getitem__``, where a
truncated file still fails with an ``InputError`` naming the path. ``decode_check`` decodes every image
of a loaded set in full (``wordsight data inspect --deep``), so such a file is found before training.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from ..utils.checks import InputError
from ..utils.images import open_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
MAX_LISTED_PROBLEMS = 50


@dataclass
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Problems:
    """Collects (path, message) pairs while a data set is scanned."""

    items: list[Problem] = field(default_factory=list)

    def add(self, path: str | os.PathLike, message: str) -> None:
        self.items.append(Problem(str(path), message))

    def extend(self, other: "Problems") -> None:
        self.items.extend(other.items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def format(self, title: str, limit: int = MAX_LISTED_PROBLEMS) -> str:
        lines = [f"{title}: {len(self.items)} problem(s)"]
        lines += [f"  {p}" for p in self.items[:limit]]
        if len(self.items) > limit:
            lines.append(f"  ... and {len(self.items) - limit} more")
        return "\n".join(lines)

    def raise_if_any(self, title: str) -> None:
        if self.items:
            raise InputError(self.format(title))


def is_inside_name(name: str) -> bool:
    """Whether a file name listed inside a data file (a key, a ``file_name``) is a relative path that stays
    in the folder it is joined to: not empty, not absolute, no ``..`` part (``/`` and ``\\`` both separate)."""
    parts = name.replace("\\", "/").split("/")
    return bool(name) and not name.startswith(("/", "\\")) and ".." not in parts


def is_image_name(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_size(path: Path, problems: Problems) -> Optional[tuple[int, int]]:
    """(width, height) from the header, or None with a problem recorded (missing, not an image)."""
    if not path.is_file():
        problems.add(path, "missing image file")
        return None
    try:
        # the header only, without PIL's decompression-bomb refusal: the pixel limit is applied, with its own
        # message naming the file, when the image is loaded (utils.images.load_image)
        with open_image(path, max_pixels=0) as im:
            return im.size
    except InputError as exc:
        problems.add(path, f"not a readable image ({(exc.__cause__ or exc).__class__.__name__})")
        return None


def read_grey_map(path: Path) -> np.ndarray:
    """A greyscale map file as float64 [H, W] in [0, 1] (8-bit maps divided by 255, 16-bit by 65535).

    RGB maps are converted to luminance, as PIL's "L" mode does.
    """
    if not path.is_file():
        raise InputError(f"map not found: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode.startswith("I;16") or im.mode == "I":
                return np.asarray(im, dtype=np.float64) / 65535.0
            return np.asarray(im.convert("L"), dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"cannot read map {path}: {exc}") from exc


def check_map(path: Path, want_size: Optional[tuple[int, int]], kind: str, problems: Problems) -> None:
    """Record a problem when a map is unreadable, differs in size from its image, or is all zero."""
    try:
        arr = read_grey_map(path)
    except InputError as exc:
        problems.add(path, f"{kind} is missing or not a readable image ({str(exc).split(': ')[0]})")
        return
    h, w = arr.shape
    if want_size is not None and (w, h) != tuple(want_size):
        problems.add(path, f"{kind} is {w}x{h} but its image is {want_size[0]}x{want_size[1]}")
    if not np.any(arr > 0):
        problems.add(path, f"{kind} is all zero")


def list_files(folder: Path) -> list[Path]:
    """Visible files of a folder, sorted (hidden files such as .DS_Store are skipped)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def check_points_inside(points: Any, size: tuple[int, int], path: Path, problems: Problems) -> None:
    """Record a problem naming how many fixations fall outside a ``size`` = (width, height) image."""
    w, h = size
    x, y = np.asarray(points.x, dtype=np.float64), np.asarray(points.y, dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)  # NaN fails every comparison below, so count it first
    if not finite.all():
        problems.add(path, f"{int((~finite).sum())} of {len(x)} fixations have a NaN or infinite coordinate")
        return
    outside = int(np.sum((x < 0) | (x >= w) | (y < 0) | (y >= h)))
    if outside:
        problems.add(path, f"{outside} of {len(x)} fixations lie outside the {w}x{h} image")


def _values(item: Any) -> Iterable[Any]:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return [getattr(item, f.name) for f in dataclasses.fields(item)]
    if hasattr(item, "_asdict"):
        return item._asdict().values()
    if isinstance(item, dict):
        return item.values()
    return vars(item).values() if hasattr(item, "__dict__") else ()


def item_image_files(items: Iterable[Any]) -> list[Path]:
    """The image files the records of a loader refer to (fields holding a path with an image suffix,
    also inside lists), unique and in first-seen order."""
    seen: dict[Path, None] = {}
    for item in items:
        for value in _values(item):
            for v in (value if isinstance(value, (list, tuple)) else (value,)):
                if isinstance(v, (str, os.PathLike)) and is_image_name(v):
                    seen.setdefault(Path(v))
    return list(seen)


def decode_error(path: Path) -> Optional[str]:
    """None when ``path`` decodes in full; else why not (truncated, corrupt, missing)."""
    try:
        with Image.open(path) as im:
            im.load()
        return None
    except FileNotFoundError:
        return "missing image file"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return f"corrupt image: the pixels do not decode ({str(exc) or exc.__class__.__name__})"


def decode_check(paths: Iterable[Path], problems: Problems, workers: int | None = None) -> int:
    """Decode every image of ``paths`` in full, adding one problem per file that fails; returns how many failed.

    A header check (``image_size``) passes a JPEG cut after its header; training would stop on it later.
    """
    paths = list(paths)
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # PIL decodes without holding the GIL
        errors = list(pool.map(decode_error, paths))
    bad = 0
    for path, err in zip(paths, errors):
        if err is not None:
            problems.add(path, err)
            bad += 1
    return bad


class LazyDataset(Dataset):
    """A sequence of records whose images load on access. Subclasses fill ``self.items`` and ``_load``.

    ``strict=True`` raises one ``InputError`` listing all problems found on open; ``strict=False`` keeps
    the usable items and leaves the problems in ``self.problems`` (``wordsight data inspect`` uses it).
    """

    layout: str = ""

    def __init__(self, root: str | os.PathLike, strict: bool = True):
        self.root = Path(root)
        self.strict = strict
        self.problems = Problems()
        self.items: list[Any] = []
        if not self.root.exists():
            raise InputError(f"data folder not found: {self.root}")

    def _finish(self) -> None:
        if self.strict:
            self.problems.raise_if_any(f"{self.layout} data set at {self.root}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        if not -len(self.items) <= index < len(self.items):
            raise IndexError(index)
        return self._load(self.items[index])

    def __iter__(self) -> Iterable:
        for i in range(len(self)):
            yield self[i]

    def _load(self, item: Any):  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self) -> dict:
        """Counts for ``wordsight data inspect``."""
        return {"layout": self.layout, "items": len(self.items), "problems": len(self.problems)}
