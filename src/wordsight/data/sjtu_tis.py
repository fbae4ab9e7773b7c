"""SJTU-TIS, the text-guided saliency set of Sun et al. ("How is visual attention influenced by text
guidance? Database and model"), and its conversion to the saliency manifest.

::

    tis/
      image/   (or images/, stimuli/)            0001.png ...   (optionally also 0001_0.png ...)
      map/     (or maps/, saliency/, saliency_map/)  0001.png  0001_0.png  0001_1.png  0001_2.png  0001_3.png
      fixation/ (or fixations/, fixation_map/, fixmap/)  same names, binary 0/255
      texts.xlsx  (any name; every sheet is read; columns: image name + text)

The suffix of a map's name gives the text condition: none -> ``scene`` (whole-scene description),
``_0`` -> ``none`` (no text), ``_1`` -> ``general``, ``_2`` -> ``nonsalient``, ``_3`` -> ``salient``.
The image of ``0001_2.png`` is ``image/0001_2.png`` if present, else ``image/0001.png``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional, Sequence

from ..utils.io import atomic_write_text
from ..utils.checks import InputError
from .manifest import MANIFEST_NAME, manifest_line
from .saliency import SaliencyDataset, SaliencyItem, check_saliency_item
from .validation import Problems, is_image_name, list_files

SUFFIX_CATEGORY = {"": "scene", "0": "none", "1": "general", "2": "nonsalient", "3": "salient"}
IMAGE_DIRS = ("image", "images", "stimuli", "Image", "Images")
MAP_DIRS = ("map", "maps", "saliency", "saliency_map", "Map", "Maps")
FIXATION_DIRS = ("fixation", "fixations", "fixation_map", "fixmap", "Fixation", "Fixations")
_NAME_HEADER = re.compile(r"(image|img|name|file|pic|id)", re.I)
_TEXT_HEADER = re.compile(r"(text|desc|caption|sentence|prompt)", re.I)
_NAME_VALUE = re.compile(r"^[\w\-]*\d[\w\-]*(\.(png|jpe?g|bmp))?$", re.I)


def split_condition(stem: str) -> tuple[str, str]:
    """``"0001_3"`` -> ``("0001", "salient")``; ``"0001"`` -> ``("0001", "scene")``."""
    m = re.match(r"^(.*)_([0-3])$", stem)
    if m:
        return m.group(1), SUFFIX_CATEGORY[m.group(2)]
    return stem, "scene"


def _name_key(value: Any) -> Optional[str]:
    """A cell holding an image name -> its stem ("0001.png", 1, 1.0 -> "0001"/"1")."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    return Path(text).stem if is_image_name(text) else text


def _pick_columns(rows: Sequence[Sequence[Any]]) -> tuple[int, int, int]:
    """(name column, text column, first data row), from a header row if any, else from the values."""
    for r, row in enumerate(rows[:3]):
        cells = [str(c) if c is not None else "" for c in row]
        names = [i for i, c in enumerate(cells) if _NAME_HEADER.search(c)]
        texts = [i for i, c in enumerate(cells) if _TEXT_HEADER.search(c)]
        if names and texts and names[0] != texts[0]:
            return names[0], texts[0], r + 1
    width = max((len(r) for r in rows), default=0)
    name_score, text_len = [0] * width, [0.0] * width
    for row in rows:
        for i, c in enumerate(row):
            if c is None:
                continue
            if _NAME_VALUE.match(str(_name_key(c) or "")):
                name_score[i] += 1
            text_len[i] += len(str(c)) if isinstance(c, str) and " " in c else 0
    if not width or max(name_score) == 0:
        raise InputError("no column of image names found")
    name_col = max(range(width), key=lambda i: name_score[i])
    text_col = max((i for i in range(width) if i != name_col), key=lambda i: text_len[i], default=-1)
    if text_col < 0 or text_len[text_col] == 0:
        raise InputError("no column of texts found")
    return name_col, text_col, 0


def read_text_table(path: Path, problems: Problems) -> dict[str, str]:
    """Every sheet of an .xlsx -> {image stem: text}. Conflicting texts for one name are reported."""
    import openpyxl  # local: only SJTU-TIS needs it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types (zipfile, KeyError, InvalidFileException)
        problems.add(path, f"cannot read workbook ({exc.__class__.__name__}: {exc})")
        return {}
    out: dict[str, str] = {}
    try:
        for sheet in book.worksheets:
            rows = [tuple(r) for r in sheet.iter_rows(values_only=True) if any(c is not None for c in r)]
            if not rows:
                continue
            try:
                name_col, text_col, start = _pick_columns(rows)
            except InputError as exc:
                problems.add(path, f"sheet {sheet.title!r}: {exc}")
                continue
            for row in rows[start:]:
                name = _name_key(row[name_col] if name_col < len(row) else None)
                text = row[text_col] if text_col < len(row) else None
                text = str(text).strip() if text is not None else ""
                if not name or not text:
                    continue
                if name in out and out[name] != text:
                    problems.add(path, f"sheet {sheet.title!r}: two different texts for {name!r}")
                out[name] = text
    finally:
        book.close()
    return out


def _first_dir(root: Path, names: Sequence[str], problems: Optional[Problems]) -> Optional[Path]:
    for n in names:
        if (root / n).is_dir():
            return root / n
    if problems is not None:
        problems.add(root / names[0], f"missing folder (looked for {', '.join(names[:4])})")
    return None


class SJTUTISDataset(SaliencyDataset):
    """SJTU-TIS read in place: one record per map (image x text condition)."""

    layout = "sjtu-tis"

    def __init__(self, root: str | os.PathLike, strict: bool = True, check_maps: bool = True,
                 texts: Optional[str | os.PathLike] = None):
        super().__init__(root, strict)
        image_dir = _first_dir(self.root, IMAGE_DIRS, self.problems)
        map_dir = _first_dir(self.root, MAP_DIRS, self.problems)
        fix_dir = _first_dir(self.root, FIXATION_DIRS, None)
        books = [Path(texts)] if texts else sorted(self.root.glob("*.xlsx"))
        if not books:
            self.problems.add(self.root / "texts.xlsx", "no .xlsx of texts found")
        table: dict[str, str] = {}
        for book in books:
            table.update(read_text_table(book, self.problems))
        self.texts = table
        if image_dir is not None and map_dir is not None:
            images = {p.stem: p for p in list_files(image_dir) if is_image_name(p)}
            for p in list_files(image_dir):
                if not is_image_name(p):
                    self.problems.add(p, "not an image file")
            for map_path in list_files(map_dir):
                self._scan(map_path, images, fix_dir, check_maps)
        if not self.items and not self.problems:
            self.problems.add(self.root, "no maps found")
        self._finish()

    def _scan(self, map_path: Path, images: dict[str, Path], fix_dir: Optional[Path], check_maps: bool) -> None:
        if not is_image_name(map_path):
            self.problems.add(map_path, "not an image file")
            return
        stem = map_path.stem
        base, category = split_condition(stem)
        image_path = images.get(stem) or images.get(base)
        if image_path is None:
            self.problems.add(map_path, f"no image {stem}.* or {base}.* in the image folder")
            return
        text = None
        if category != "none":
            text = self.texts.get(stem) or (self.texts.get(base) if category == "scene" else None)
            if text is None:
                self.problems.add(map_path, f"no text for {stem!r} ({category}) in the .xlsx")
                return
        fix_path = None
        if fix_dir is not None:
            candidates = [fix_dir / f"{stem}{suffix}" for suffix in (".png", ".jpg", ".jpeg")]
            fix_path = next((p for p in candidates if p.is_file()), None)
        item = SaliencyItem(stem, image_path, map_path, fix_path, text=text, category=category)
        if check_saliency_item(item, self.problems, check_maps):
            self.items.append(item)


def sjtu_tis_to_manifest(root: str | os.PathLike, out: Optional[str | os.PathLike] = None, strict: bool = True,
                         texts: Optional[str | os.PathLike] = None) -> Path:
    """Write the manifest of an SJTU-TIS folder (default ``<root>/manifest.jsonl``); returns its path.

    With ``strict=False`` unusable entries are left out instead of raising.
    """
    data = SJTUTISDataset(root, strict=strict, texts=texts)
    out_path = Path(out) if out is not None else data.root / MANIFEST_NAME
    if out_path.is_dir():
        out_path = out_path / MANIFEST_NAME
    lines = [manifest_line(item, out_path.parent) for item in data.items]
    atomic_write_text(out_path, "\n".join(lines) + ("\n" if lines else ""))
    return out_path
