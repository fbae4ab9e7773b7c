"""The saliency MANIFEST: one JSON object per line, paths relative to the manifest's folder.

::

    {"image": "images/0001.png", "text": "a red car", "map": "maps/0001_3.png",
     "fixations": "fixations/0001_3.png", "category": "salient"}

- ``image`` (required), ``map`` (density map; may be null when ``fixations`` or ``points`` is given),
  ``fixations`` (binary 0/255 map or null), ``text`` (null when no text was shown),
  ``category`` (one of ``records.SALIENCY_CATEGORIES`` or null).
- Optional: ``key`` (defaults to the map's, else the image's, file stem) and ``points`` (a json of
  ``[[x, y, observer], ...]``, 0-based).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from ..utils.checks import InputError
from .records import SALIENCY_CATEGORIES
from .saliency import SaliencyDataset, SaliencyItem, check_saliency_item, read_points_json

MANIFEST_NAME = "manifest.jsonl"
REQUIRED_FIELDS = ("image",)
KNOWN_FIELDS = ("image", "text", "map", "fixations", "category", "key", "points")
PATH_FIELDS = ("image", "map", "fixations", "points")


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (links resolved) lies inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def resolve_manifest(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise InputError(f"manifest not found: {path}")
    return path


def manifest_line(item: SaliencyItem, base: Path, points: Optional[Path] = None) -> str:
    """One manifest line for ``item`` with paths relative to ``base`` (the manifest's folder)."""

    def rel(p: Optional[Path]) -> Optional[str]:
        return None if p is None else Path(os.path.relpath(Path(p).absolute(), Path(base).absolute())).as_posix()

    entry: dict[str, Any] = {"key": item.key, "image": rel(item.image_path), "text": item.text, "map": rel(item.map_path),
                             "fixations": rel(item.fixation_map_path), "category": item.category}
    if points is not None:
        entry["points"] = rel(points)
    return json.dumps(entry, ensure_ascii=False)


class ManifestDataset(SaliencyDataset):
    """Any data set described by a manifest (``path`` is the .jsonl or a folder holding manifest.jsonl).

    ``inside_root=True`` (for a manifest from an untrusted source) refuses entries whose paths, links
    resolved, leave the manifest's folder (``../``, absolute paths); by default they may (a manifest
    written next to, not above, its data refers to it with ``../``)."""

    layout = "manifest"

    def __init__(self, path: str | os.PathLike, strict: bool = True, check_maps: bool = True, inside_root: bool = False):
        manifest = resolve_manifest(path)
        super().__init__(manifest.parent, strict)
        self.manifest = manifest
        self.inside_root = inside_root  # refuse entries whose paths leave the manifest's folder
        keys: set[str] = set()
        text = manifest.read_bytes().decode("utf-8", errors="replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                self._scan_line(lineno, line, keys, check_maps)
        if not self.items and not self.problems:
            self.problems.add(manifest, "manifest has no entries")
        self._finish()

    def _where(self, lineno: int) -> str:
        return f"{self.manifest}:{lineno}"

    def _scan_line(self, lineno: int, line: str, keys: set[str], check_maps: bool) -> None:
        where = self._where(lineno)
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            self.problems.add(where, f"not valid JSON ({exc.msg})")
            return
        if not isinstance(entry, dict):
            self.problems.add(where, "each line must be a JSON object")
            return
        unknown = sorted(set(entry) - set(KNOWN_FIELDS))
        missing = [f for f in REQUIRED_FIELDS if not entry.get(f)]
        if unknown or missing:
            self.problems.add(where, f"unknown fields {unknown} / missing {missing}; fields are {', '.join(KNOWN_FIELDS)}")
            return
        bad = [f for f in (*PATH_FIELDS, "key") if entry.get(f) is not None and not isinstance(entry[f], str)]
        if bad:
            self.problems.add(where, f"{bad[0]} must be a path string or null, got {entry[bad[0]]!r}")
            return
        paths = {f: (self.root / entry[f]) if entry.get(f) else None for f in PATH_FIELDS}
        if self.inside_root:
            outside = [f for f, p in paths.items() if p is not None and not _inside(self.root, p)]
            if outside:
                self.problems.add(where, f"{outside[0]} {entry[outside[0]]!r} is outside the data set folder {self.root}")
                return
        if paths["map"] is None and paths["fixations"] is None and paths["points"] is None:
            self.problems.add(where, "needs at least one of map, fixations, points")
            return
        for f in ("map", "fixations", "points"):
            if paths[f] is not None and not paths[f].is_file():
                self.problems.add(paths[f], f"missing {f} file (manifest line {lineno})")
                return
        category, text = entry.get("category"), entry.get("text")
        if category not in SALIENCY_CATEGORIES and category is not None:
            self.problems.add(where, f"unknown category {category!r}; known: {', '.join(SALIENCY_CATEGORIES)}")
            return
        if text is not None and not isinstance(text, str):
            self.problems.add(where, "text must be a string or null")
            return
        if category not in (None, "none") and not (text or "").strip():
            self.problems.add(where, f"category {category!r} needs a text")
            return
        key = entry.get("key") or Path(entry.get("map") or entry["image"]).stem
        if key in keys:
            self.problems.add(where, f"duplicate key {key!r}")
            return
        keys.add(key)
        item = SaliencyItem(key, paths["image"], paths["map"], paths["fixations"], text=text, category=category)
        if paths["points"] is not None:
            try:
                item.fixations = read_points_json(paths["points"])
            except InputError as exc:
                self.problems.add(paths["points"], str(exc))
                return
        if check_saliency_item(item, self.problems, check_maps, paths["points"]):
            self.items.append(item)
