"""Saliency data in the folder layout (OpenSALICON's: images and maps with the same names).

::

    sal/
      images/<stem>.jpg|png          the stimuli
      maps/<stem>.png|jpg            fixation density maps (greyscale)
      fixations/<stem>.png           optional binary fixation maps (0/255)
      points/<stem>.json             optional fixations [[x, y, observer], ...] (0-based pixels; an
                                     optional 4th value is the duration in ms)
      texts/<stem>.txt               optional text shown to the observers

Also the shared item type and loading code that every saliency loader uses.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..utils.checks import InputError
from ..utils.images import load_image
from .records import SALIENCY_CATEGORIES, Fixations, SaliencyRecord
from .validation import LazyDataset, Problems, check_map, check_points_inside, image_size, list_files, read_grey_map

MAP_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class SaliencyItem:
    """Where one record's parts live; ``fixations`` are parsed on open (they are small)."""

    key: str
    image_path: Path
    map_path: Optional[Path] = None
    fixation_map_path: Optional[Path] = None
    fixations: Optional[Fixations] = None
    text: Optional[str] = None
    category: Optional[str] = None
    binary_threshold: float = 0.5  # fraction of full scale above which a fixation-map pixel counts
    extra: dict = field(default_factory=dict)


def fixations_from_binary_map(binary: np.ndarray) -> Fixations:
    """The fixated pixels of a binary map as fixations (observer unknown: 0)."""
    rows, cols = np.nonzero(binary)
    return Fixations(cols.astype(np.float64), rows.astype(np.float64), np.zeros(len(rows), dtype=np.int64))


def load_saliency_item(item: SaliencyItem) -> SaliencyRecord:
    image = load_image(item.image_path)
    density = read_grey_map(item.map_path) if item.map_path is not None else None
    fixations = item.fixations
    if fixations is None and item.fixation_map_path is not None:
        fixations = fixations_from_binary_map(read_grey_map(item.fixation_map_path) > item.binary_threshold)
    return SaliencyRecord(key=item.key, image=image, fixation_map=density, fixations=fixations, text=item.text,
                          category=item.category, path=item.image_path, extra=dict(item.extra))


def read_points_json(path: Path) -> Fixations:
    """``[[x, y, observer(, duration)], ...]`` (0-based pixels) -> Fixations; InputError naming the file."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        arr = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1) if rows else np.zeros((0, 3))
    except (json.JSONDecodeError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read fixation points {path}: {exc}") from exc
    if arr.shape[1] not in (3, 4):
        raise InputError(f"fixation points {path}: each entry must be [x, y, observer] or [x, y, observer, duration]")
    duration = arr[:, 3] if arr.shape[1] == 4 else None
    return Fixations(arr[:, 0], arr[:, 1], arr[:, 2].astype(np.int64), duration)


def points_to_json(fixations: Fixations) -> str:
    cols = [fixations.x, fixations.y, fixations.observer.astype(np.float64)]
    if fixations.duration is not None:
        cols.append(fixations.duration)
    rows = [[float(v) if i != 2 else int(v) for i, v in enumerate(r)] for r in zip(*cols)]
    return json.dumps(rows)


def check_saliency_item(item: SaliencyItem, problems: Problems, check_maps: bool = True,
                        points_path: Optional[Path] = None) -> bool:
    """Validate one item's files; returns False when the item cannot be used."""
    size = image_size(item.image_path, problems)
    if size is None:
        return False
    before = len(problems)
    if check_maps and item.map_path is not None:
        check_map(item.map_path, size, "fixation density map", problems)
    if check_maps and item.fixation_map_path is not None:
        check_map(item.fixation_map_path, size, "binary fixation map", problems)
    if item.fixations is not None:
        check_points_inside(item.fixations, size, points_path or item.image_path, problems)
    if item.category is not None and item.category not in SALIENCY_CATEGORIES:
        problems.add(item.image_path, f"unknown category {item.category!r}; known: {', '.join(SALIENCY_CATEGORIES)}")
    return len(problems) == before


def _by_stem(folder: Path, problems: Problems, suffixes: tuple[str, ...], what: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in list_files(folder):
        if path.suffix.lower() not in suffixes:
            article = "an" if what[0] in "aeiou" else "a"
            problems.add(path, f"not {article} {what} file (expected {'/'.join(suffixes)})")
        elif path.stem in out:
            problems.add(path, f"second {what} for {path.stem!r} (also {out[path.stem].name})")
        else:
            out[path.stem] = path
    return out


class SaliencyDataset(LazyDataset):
    """Base of the saliency loaders: items of ``SaliencyItem``, records of ``SaliencyRecord``."""

    layout = "saliency"

    def _load(self, item: SaliencyItem) -> SaliencyRecord:
        return load_saliency_item(item)

    def summary(self) -> dict:
        cats: dict[str, int] = {}
        for it in self.items:
            if it.category is not None:
                cats[it.category] = cats.get(it.category, 0) + 1
        out = {
            "layout": self.layout,
            "images": len({it.image_path for it in self.items}),
            "records": len(self.items),
            "maps": sum(it.map_path is not None for it in self.items),
            "fixation_maps": sum(it.fixation_map_path is not None for it in self.items),
            "fixations": int(sum(len(it.fixations) for it in self.items if it.fixations is not None)),
            "texts": sum(it.text is not None for it in self.items),
            "problems": len(self.problems),
        }
        if cats:
            out["categories"] = cats
        return out


class SaliencyFolderDataset(SaliencyDataset):
    """The folder layout above; every image needs a density map or fixations (binary map or points)."""

    layout = "saliency"

    def __init__(self, root: str | os.PathLike, strict: bool = True, check_maps: bool = True):
        super().__init__(root, strict)
        if not (self.root / "images").is_dir():
            self.problems.add(self.root / "images", "missing images folder")
            self._finish()
            return
        images = _by_stem(self.root / "images", self.problems, tuple(s for s in (".jpg", ".jpeg", ".png", ".bmp")), "image")
        maps = _by_stem(self.root / "maps", self.problems, MAP_SUFFIXES, "map image")
        fixmaps = _by_stem(self.root / "fixations", self.problems, (".png",), "binary fixation map (.png)")
        points = _by_stem(self.root / "points", self.problems, (".json",), "points json")
        texts = _by_stem(self.root / "texts", self.problems, (".txt",), "text")
        for name, files in (("maps", maps), ("fixations", fixmaps), ("points", points), ("texts", texts)):
            for stem in sorted(set(files) - set(images)):
                self.problems.add(files[stem], f"{name} file without an image images/{stem}.*")
        for stem, image_path in images.items():
            self._scan(stem, image_path, maps.get(stem), fixmaps.get(stem), points.get(stem), texts.get(stem), check_maps)
        if not images and not self.problems:
            self.problems.add(self.root / "images", "no images found")
        self._finish()

    def _scan(self, stem, image_path, map_path, fixmap_path, points_path, text_path, check_maps) -> None:
        if map_path is None and fixmap_path is None and points_path is None:
            self.problems.add(image_path, f"no map, binary fixation map or points for {stem!r}")
            return
        item = SaliencyItem(stem, image_path, map_path, fixmap_path)
        if points_path is not None:
            try:
                item.fixations = read_points_json(points_path)
            except InputError as exc:
                self.problems.add(points_path, str(exc).split(f"{points_path}: ")[-1])
                return
        if text_path is not None:
            item.text = text_path.read_text(encoding="utf-8", errors="replace").strip() or None
        if check_saliency_item(item, self.problems, check_maps, points_path):
            self.items.append(item)

