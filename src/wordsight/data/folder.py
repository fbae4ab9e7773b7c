"""A user's own captioned images: every image next to a same-named ``.txt`` with one caption per line.

::

    my_data/
      cat.jpg   cat.txt          ("a black cat on a sofa" / "a cat sleeping" ...)
      birds/robin.png   birds/robin.txt      (sub-folders allowed; the key is "birds/robin")

Images without a caption file, caption files without an image, empty caption files and other files
are reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..utils.images import load_image
from .records import CaptionedImage
from .validation import LazyDataset, image_size, is_image_name

CAPTION_SUFFIX = ".txt"


@dataclass
class _Item:
    key: str
    image_path: Path
    captions: list[str]


def read_captions(path: Path) -> list[str]:
    """Non-empty, stripped lines of a UTF-8 text file."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


class CaptionFolderDataset(LazyDataset):
    layout = "folder"

    def __init__(self, root: str | os.PathLike, strict: bool = True, check_images: bool = True):
        super().__init__(root, strict)
        images: dict[str, Path] = {}
        texts: dict[str, Path] = {}
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if not path.is_file() or any(part.startswith(".") for part in rel.parts):
                continue
            key = rel.with_suffix("").as_posix()
            if is_image_name(path):
                if key in images:
                    self.problems.add(path, f"second image for key {key!r} (also {images[key].name})")
                    continue
                images[key] = path
            elif path.suffix.lower() == CAPTION_SUFFIX:
                texts[key] = path
            else:
                self.problems.add(path, "neither an image nor a .txt caption file")
        for key in sorted(set(texts) - set(images)):
            self.problems.add(texts[key], "caption file without an image")
        for key, image_path in images.items():
            self._scan(key, image_path, texts.get(key), check_images)
        if not images and not self.problems:
            self.problems.add(self.root, "no images found")
        self._finish()

    def _scan(self, key: str, image_path: Path, text_path: Path | None, check_images: bool) -> None:
        ok = image_size(image_path, self.problems) is not None if check_images else True
        if text_path is None:
            self.problems.add(image_path, f"image without a caption file {image_path.with_suffix(CAPTION_SUFFIX).name}")
            return
        captions = read_captions(text_path)
        if not captions:
            self.problems.add(text_path, "caption file has no non-empty line")
            return
        if ok:
            self.items.append(_Item(key, image_path, captions))

    def _load(self, item: _Item) -> CaptionedImage:
        return CaptionedImage(key=item.key, image=load_image(item.image_path), captions=list(item.captions), path=item.image_path)

    def summary(self) -> dict:
        return {"layout": self.layout, "images": len(self.items),
                "captions": sum(len(i.captions) for i in self.items), "problems": len(self.problems)}
