"""COCO captions: ``annotations/captions_{train,val}{2014,2017}.json`` plus the image folders.

::

    coco/
      annotations/captions_train2014.json   {"images": [{"id", "file_name", ...}],
      annotations/captions_val2014.json      "annotations": [{"image_id", "caption", ...}]}
      train2014/COCO_train2014_000000000009.jpg      (or images/train2014/)
      val2014/...

Every image keeps its first ``captions_per_image`` captions (5, as AttnGAN); images with none are
reported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..utils.checks import InputError
from ..utils.images import load_image
from .records import CaptionedImage
from .validation import LazyDataset, image_size, is_inside_name

COCO_YEARS = ("2014", "2017")
COCO_SPLITS = ("train", "val")


def find_coco_annotation(root: Path, split: str, year: Optional[str] = None) -> Optional[Path]:
    for y in ([year] if year else COCO_YEARS):
        path = root / "annotations" / f"captions_{split}{y}.json"
        if path.is_file():
            return path
    return None


@dataclass
class _Item:
    key: str
    image_path: Path
    captions: list[str]


class COCOCaptionsDataset(LazyDataset):
    layout = "coco"

    def __init__(self, root: str | os.PathLike, split: str = "train", year: Optional[str] = None,
                 captions_per_image: int = 5, strict: bool = True, check_images: bool = True):
        super().__init__(root, strict)
        if split not in COCO_SPLITS:
            raise InputError(f"COCO split must be one of {COCO_SPLITS}, got {split!r}")
        self.split = split
        self.captions_per_image = captions_per_image
        self.year = year
        ann_path = find_coco_annotation(self.root, split, year)
        if ann_path is None:
            self.problems.add(self.root / "annotations" / f"captions_{split}{year or '2014'}.json", "missing caption annotations")
        else:
            self.year = ann_path.stem[-4:]
            self._scan(ann_path, check_images)
        self._finish()

    def _image_dir(self) -> Path:
        name = f"{self.split}{self.year}"
        for cand in (self.root / name, self.root / "images" / name):
            if cand.is_dir():
                return cand
        self.problems.add(self.root / name, "missing image folder (also looked in images/)")
        return self.root / name

    def _scan(self, ann_path: Path, check_images: bool) -> None:
        try:
            data = json.loads(ann_path.read_text(encoding="utf-8"))
            images = {int(im["id"]): str(im["file_name"]) for im in data["images"]}
            annotations = data["annotations"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            self.problems.add(ann_path, f"not a COCO captions file ({exc.__class__.__name__}: {exc})")
            return
        captions: dict[int, list[str]] = {i: [] for i in images}
        for ann in annotations:
            image_id = ann.get("image_id")
            text = str(ann.get("caption", "")).strip()
            if image_id not in captions:
                self.problems.add(ann_path, f"annotation {ann.get('id')} refers to unknown image id {image_id}")
            elif text:
                captions[image_id].append(text)
        image_dir = self._image_dir()
        for image_id in sorted(images):
            if not is_inside_name(images[image_id]):
                self.problems.add(ann_path, f"image id {image_id}: file_name {images[image_id]!r} must be a relative path "
                                            "inside the image folder (no '..', not absolute)")
                continue
            path = image_dir / images[image_id]
            ok = image_size(path, self.problems) is not None if check_images else path.is_file()
            if not check_images and not ok:
                self.problems.add(path, "missing image file")
            if not captions[image_id]:
                self.problems.add(path, f"image id {image_id} has no caption in {ann_path.name}")
                ok = False
            if ok:
                self.items.append(_Item(Path(images[image_id]).stem, path, captions[image_id][: self.captions_per_image]))

    def _load(self, item: _Item) -> CaptionedImage:
        return CaptionedImage(key=item.key, image=load_image(item.image_path), captions=list(item.captions), path=item.image_path)

    def summary(self) -> dict:
        return {"layout": self.layout, "split": self.split, "images": len(self.items),
                "captions": sum(len(i.captions) for i in self.items), "problems": len(self.problems)}
