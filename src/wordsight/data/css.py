"""A CSS-like composed-retrieval set on disk (TIRG, Vo et al. CVPR 2019; google/tirg's CSS): a query is a
source image and a modification text, its answer the target image in a gallery.

``wordsight data synth OUT --layout css`` writes the synthetic world's edits in this layout
(:func:`wordsight.data.export.write_css_layout`); ``CSSDataset`` reads it back::

    OUT/
      css.json                 {"format": "wordsight-css", "version": 1, "world_seed", "image_size",
                                "splits": {"train": n, "test": m, "heldout": m}, "description", ...}
      images/<key>.png         every source and target image, e.g. train_00003_source.png, train_00003_target.png
      masks/<key>_change.png   the change mask of each query (uint8 0/255: the pixels of the changed object,
                               before or after), e.g. masks/train_00003_change.png
      train.jsonl              one query per line:
      test.jsonl                 {"source": "images/train_00003_source.png", "target": "images/train_00003_target.png",
      heldout.jsonl               "text": "make the red circle blue", "source_caption": ..., "target_caption": ...,
                                  "operation": "colour", "mask": "masks/train_00003_change.png", "index": 3}

- ``text``, ``source`` and ``target`` are required; ``source_caption``, ``target_caption``, ``operation`` and
  ``mask`` are optional (a hand-made set may leave them out). Paths are relative to ``OUT``.
- Splits: ``train`` and ``test`` use the world's seen colour/shape combinations; ``heldout`` scenes have a
  first object with a combination never seen in training (zero-shot, as the world's ``heldout`` split).
- The retrieval gallery of a split is every source and target image of that split
  (:func:`gallery_paths`, the protocol of ``benchmarks/tirg_recall.py``); the query's own source image is
  left out when ranking. ``OUT/images`` is a plain image folder, so
  ``wordsight retrieve TIRG_PIPELINE OUT/images/test_00000_source.png "make ..." --gallery OUT/images``
  works directly (that gallery holds all three splits).

Opening checks every line (valid JSON, fields, files present, image headers readable, source/target/mask
sizes agree) and the counts in ``css.json``; problems name the file and line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..utils.checks import InputError
from ..utils.images import load_image
from .validation import LazyDataset, Problems, image_size

__all__ = ["CSS_FORMAT", "CSS_INFO", "CSS_SPLITS", "CSS_VERSION", "CSSDataset", "gallery_paths", "read_css_info"]

CSS_INFO = "css.json"
CSS_FORMAT = "wordsight-css"
CSS_VERSION = 1
CSS_SPLITS = ("train", "test", "heldout")
REQUIRED_FIELDS = ("source", "target", "text")
TEXT_FIELDS = ("text", "source_caption", "target_caption", "operation")


def is_css(path: Path) -> bool:
    return (Path(path) / CSS_INFO).is_file()


def read_css_info(root: str | os.PathLike, problems: Optional[Problems] = None) -> dict:
    """``css.json`` as a dict; a missing or broken file is a problem (or an InputError without ``problems``)."""
    path = Path(root) / CSS_INFO
    local = Problems()
    info: dict = {}
    if not path.is_file():
        local.add(path, f"missing {CSS_INFO}")
    else:
        try:
            parsed = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
        except json.JSONDecodeError as exc:
            local.add(path, f"not valid JSON ({exc.msg}, line {exc.lineno})")
            parsed = None
        if parsed is not None and not isinstance(parsed, dict):
            local.add(path, "must be a JSON object")
        elif isinstance(parsed, dict):
            info = parsed
            version = info.get("version")
            if info.get("format") != CSS_FORMAT:
                local.add(path, f"format is {info.get('format')!r}, expected {CSS_FORMAT!r}")
            elif not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= CSS_VERSION:
                local.add(path, f"version {version!r} is not supported (this wordsight reads version {CSS_VERSION})")
    if problems is None:
        local.raise_if_any(f"css data set at {root}")
    else:
        problems.extend(local)
    return info


def _split_file(root: Path, split: str) -> Path:
    return root / f"{split}.jsonl"


def _check_split(split: str) -> None:
    if split not in CSS_SPLITS:
        raise InputError(f"css: split must be one of {', '.join(CSS_SPLITS)}, got {split!r}")


@dataclass
class _Query:
    lineno: int
    source: Path
    target: Path
    mask: Optional[Path]
    text: str
    source_caption: Optional[str]
    target_caption: Optional[str]
    operation: Optional[str]
    index: Optional[int]


class CSSDataset(LazyDataset):
    """The queries of one split of a CSS-like set. ``data[i]`` is a dict::

        {"source": PIL RGB, "target": PIL RGB, "mask": bool [H, W] numpy or None, "text": "make the red circle blue",
         "source_caption": str | None, "target_caption": str | None, "operation": str | None,
         "source_path": Path, "target_path": Path, "index": int | None}
    """

    layout = "css"

    def __init__(self, root: str | os.PathLike, split: str = "train", strict: bool = True, check_images: bool = True):
        _check_split(split)
        super().__init__(root, strict)
        self.split = split
        self.info = read_css_info(self.root, self.problems)
        self.path = _split_file(self.root, split)
        lines = 0
        if not self.path.is_file():
            self.problems.add(self.path, f"missing query file of split {split!r}")
        else:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
            for lineno, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    lines += 1
                    self._scan_line(lineno, line, check_images)
            if not lines:
                self.problems.add(self.path, "has no queries")
        counts = self.info.get("splits")
        want = counts.get(split) if isinstance(counts, dict) else None
        if self.path.is_file() and isinstance(want, int) and want != lines:
            self.problems.add(self.path, f"{lines} queries but {CSS_INFO} says {want}")
        self._finish()

    def _resolve(self, entry: dict, field: str, where: str) -> Optional[Path]:
        value = entry[field]
        if not isinstance(value, str) or not value.strip():
            self.problems.add(where, f"{field} must be a non-empty path string")
            return None
        rel = Path(value)
        if rel.is_absolute() or ".." in rel.parts:
            self.problems.add(where, f"{field} {value!r} must be a path inside the data set folder")
            return None
        return self.root / rel

    def _scan_line(self, lineno: int, line: str, check_images: bool) -> None:
        where = f"{self.path}:{lineno}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            self.problems.add(where, f"not valid JSON ({exc.msg})")
            return
        if not isinstance(entry, dict):
            self.problems.add(where, "each line must be a JSON object")
            return
        missing = [f for f in REQUIRED_FIELDS if f not in entry or entry[f] in (None, "")]
        if missing:
            self.problems.add(where, f"missing field(s) {', '.join(missing)}; required: {', '.join(REQUIRED_FIELDS)}")
            return
        bad = [f for f in TEXT_FIELDS if entry.get(f) is not None and not isinstance(entry[f], str)]
        if bad or not entry["text"].strip():
            self.problems.add(where, f"{', '.join(bad) or 'text'} must be a non-empty string")
            return
        index = entry.get("index")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            self.problems.add(where, "index must be an integer")
            return
        paths = {f: self._resolve(entry, f, where) for f in ("source", "target")}
        paths["mask"] = self._resolve(entry, "mask", where) if entry.get("mask") is not None else None
        if any(paths[f] is None for f in ("source", "target")) or (entry.get("mask") is not None and paths["mask"] is None):
            return
        if check_images:
            sizes = {}
            for f in ("source", "target", "mask"):
                if paths[f] is None:
                    continue
                found = Problems()
                sizes[f] = image_size(paths[f], found)
                for prob in found:
                    self.problems.add(prob.path, f"{prob.message} ({f} of {self.path.name} line {lineno})")
            if any(s is None for s in sizes.values()):
                return
            if len(set(sizes.values())) > 1:
                told = ", ".join(f"{f} {w}x{h}" for f, (w, h) in sizes.items())
                self.problems.add(where, f"image sizes differ: {told}")
                return
        self.items.append(_Query(lineno, paths["source"], paths["target"], paths["mask"], entry["text"].strip(),
                                 entry.get("source_caption"), entry.get("target_caption"), entry.get("operation"), index))

    def _load(self, item: _Query) -> dict:
        mask = None
        if item.mask is not None:
            mask = np.asarray(load_image(item.mask, mode="L")) > 127
        return {"source": load_image(item.source), "target": load_image(item.target), "mask": mask, "text": item.text,
                "source_caption": item.source_caption, "target_caption": item.target_caption, "operation": item.operation,
                "source_path": item.source, "target_path": item.target, "index": item.index}

    def gallery(self) -> list[Path]:
        """Every distinct source and target image of this split's usable queries, in first-seen order."""
        seen: dict[Path, None] = {}
        for q in self.items:
            seen.setdefault(q.source)
            seen.setdefault(q.target)
        return list(seen)

    def summary(self) -> dict:
        return {"layout": self.layout, "split": self.split, "queries": len(self.items), "images": len(self.gallery()),
                "problems": len(self.problems)}


def gallery_paths(root: str | os.PathLike, split: str = "test", strict: bool = True) -> list[Path]:
    """The retrieval gallery of ``split``: every source and target image of its queries (sources first seen
    first), e.g. for ``Retrieval.index(gallery_paths(root, "test"))``."""
    return CSSDataset(root, split=split, strict=strict).gallery()
