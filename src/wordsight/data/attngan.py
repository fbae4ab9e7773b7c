"""CUB-200-2011 and Oxford-102 in the layout of AttnGAN / DF-GAN (taoxugit/AttnGAN, tobran/DF-GAN).

CUB (``data/birds``)::

    birds/
      CUB_200_2011/images/001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg
      CUB_200_2011/images.txt            "1 001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg"
      CUB_200_2011/bounding_boxes.txt    "1 60.0 27.0 325.0 304.0"   (x, y, width, height)
      text/001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.txt
      train/filenames.pickle   test/filenames.pickle   (keys without extension)
      train/class_info.pickle  (optional)   captions.pickle | captions_DAMSM.pickle (optional)

Oxford-102 (``data/flowers``) is the same without bounding boxes; images sit in ``images/``, ``jpg/`` or
``oxford-102-flowers/images/`` and texts in ``text/`` or ``text_c10/``.

Labels are 0-based class indices: the number that starts (CUB ``001.``) or ends (``class_00001``) the
class folder minus one, or the class folder's rank when folders carry no number.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..utils.checks import InputError
from ..utils.images import load_image
from .records import CaptionedImage
from .safe_pickle import load_pickle
from .validation import LazyDataset, Problems, image_size, is_inside_name

CAPTIONS_PICKLES = ("captions.pickle", "captions_DAMSM.pickle")
SPLITS = ("train", "test")


def attngan_crop_box(bbox: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """AttnGAN's ``get_imgs`` crop: a square of half-width 0.75 * max(w, h) around the box centre, clipped.

    ``bbox`` = (x-left, y-top, width, height) from CUB's bounding_boxes.txt; returns (x1, y1, x2, y2).
    """
    x, y, w, h = bbox
    r = int(max(w, h) * 0.75)
    cx = int((2 * x + w) / 2)
    cy = int((2 * y + h) / 2)
    return max(0, cx - r), max(0, cy - r), min(width, cx + r), min(height, cy + r)


def read_caption_file(path: Path, max_captions: int) -> list[str]:
    """The first ``max_captions`` non-empty lines; AttnGAN replaces the mojibake pair U+FFFD U+FFFD by a space."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    out = []
    for line in text.splitlines():
        line = line.replace("\ufffd\ufffd", " ").strip()
        if line:
            out.append(line)
        if len(out) == max_captions:
            break
    return out


def class_labels(class_folders: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Map class folders to 0-based labels and names (``001.Black_footed_Albatross`` -> 0, ``Black_footed_Albatross``)."""
    folders = sorted(set(class_folders))
    numbers = {}
    for f in folders:
        m = re.match(r"^(\d+)", f) or re.search(r"(\d+)$", f)
        numbers[f] = int(m.group(1)) if m else None
    if folders and all(n is not None and n >= 1 for n in numbers.values()) and len(set(numbers.values())) == len(folders):
        labels = {f: numbers[f] - 1 for f in folders}
    else:
        labels = {f: i for i, f in enumerate(folders)}
    size = max(labels.values(), default=-1) + 1
    names = [""] * size
    for f, lab in labels.items():
        names[lab] = re.sub(r"^\d+\.", "", f)
    return labels, names


@dataclass
class CaptionVocabulary:
    """The contents of captions.pickle: [train_caps, test_caps, ixtoword, wordtoix] (id 0 = '<end>')."""

    train_captions: list[list[int]]
    test_captions: list[list[int]]
    ixtoword: dict[int, str]
    wordtoix: dict[str, int]

    def decode(self, ids: Sequence[int]) -> str:
        return " ".join(self.ixtoword.get(int(i), "<unk>") for i in ids)


@dataclass
class _Item:
    key: str
    split: str
    image_path: Path
    text_path: Path
    captions: list[str]
    label: Optional[int]
    bbox: Optional[tuple[float, float, float, float]]


class AttnGANLayoutDataset(LazyDataset):
    """Base of the CUB and Oxford loaders: filenames.pickle keys, ``text/<key>.txt``, images by key."""

    layout = "attngan"
    image_dir_candidates: tuple[str, ...] = ("images",)
    text_dir_candidates: tuple[str, ...] = ("text",)

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        captions_per_image: int = 10,
        crop: bool = False,
        strict: bool = True,
        check_images: bool = True,
    ):
        super().__init__(root, strict)
        if split not in SPLITS:
            raise InputError(f"split must be one of {SPLITS}, got {split!r}")
        if captions_per_image < 1:
            raise InputError(f"captions_per_image must be >= 1, got {captions_per_image}")
        self.split = split
        self.captions_per_image = captions_per_image
        self.crop = crop
        self.keys_by_split = {s: self._read_filenames(s) for s in SPLITS}
        all_keys = self.keys_by_split["train"] + self.keys_by_split["test"]
        self.label_of_folder, self.class_names = class_labels([k.split("/")[0] for k in all_keys if "/" in k])
        self.image_dir = self._first_dir(self.image_dir_candidates, "image folder")
        self.text_dir = self._first_dir(self.text_dir_candidates, "text folder")
        self.bboxes = self._read_bboxes() if crop else {}
        self.vocabulary_captions_per_image = 0
        self.vocabulary = self._read_vocabulary()
        self._check_class_info()
        if self.image_dir is not None and self.text_dir is not None:
            for key in self.keys_by_split[split]:
                item = self._scan_item(key, check_images)
                if item is not None:
                    self.items.append(item)
        self._finish()

    # -- scanning ---------------------------------------------------------------------------------
    def _read_filenames(self, split: str) -> list[str]:
        path = self.root / split / "filenames.pickle"
        if not path.is_file():
            self.problems.add(path, "missing filenames.pickle (list of keys such as 'class/image')")
            return []
        try:
            keys = load_pickle(path)
        except InputError as exc:
            self.problems.add(path, str(exc).replace(f" {path}", ""))
            return []
        if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
            self.problems.add(path, f"expected a list of key strings, got {type(keys).__name__}")
            return []
        escaping = [k for k in keys if not is_inside_name(k)]
        for k in escaping[:5]:  # a key names files under images/ and text/: it must stay inside them
            self.problems.add(path, f"key {k!r} must be a relative path inside the data set folder (no '..', not absolute)")
        return [k[:-4] if k.lower().endswith(".jpg") else k for k in keys if k not in escaping]

    def _first_dir(self, candidates: Sequence[str], what: str) -> Optional[Path]:
        for c in candidates:
            if (self.root / c).is_dir():
                return self.root / c
        self.problems.add(self.root / candidates[0], f"missing {what} (looked for {', '.join(candidates)})")
        return None

    def _image_path(self, key: str) -> Path:
        assert self.image_dir is not None
        direct = self.image_dir / f"{key}.jpg"
        if direct.is_file() or "/" not in key:
            return direct
        flat = self.image_dir / f"{key.rsplit('/', 1)[1]}.jpg"  # Oxford copies keep images flat in jpg/
        return flat if flat.is_file() else direct

    def _scan_item(self, key: str, check_images: bool) -> Optional[_Item]:
        assert self.text_dir is not None
        ok = True
        image_path = self._image_path(key)
        if check_images:
            ok = image_size(image_path, self.problems) is not None
        elif not image_path.is_file():
            self.problems.add(image_path, "missing image file")
            ok = False
        text_path = self.text_dir / f"{key}.txt"
        captions: list[str] = []
        if not text_path.is_file():
            self.problems.add(text_path, "missing caption file")
            ok = False
        else:
            captions = read_caption_file(text_path, self.captions_per_image)
            if not captions:
                self.problems.add(text_path, "caption file has no non-empty line")
                ok = False
        bbox = None
        if self.crop:
            bbox = self.bboxes.get(key)
            if bbox is None and self.bboxes:
                self.problems.add(self.root / "CUB_200_2011" / "bounding_boxes.txt", f"no bounding box for {key}")
                ok = False
        label = self.label_of_folder.get(key.split("/")[0]) if "/" in key else None
        return _Item(key, self.split, image_path, text_path, captions, label, bbox) if ok else None

    def _read_bboxes(self) -> dict[str, tuple[float, float, float, float]]:
        return {}

    def _read_vocabulary(self) -> Optional[CaptionVocabulary]:
        for name in CAPTIONS_PICKLES:
            path = self.root / name
            if path.is_file():
                return self._parse_vocabulary(path)
        return None

    def _parse_vocabulary(self, path: Path) -> Optional[CaptionVocabulary]:
        try:
            obj = load_pickle(path)
        except InputError as exc:
            self.problems.add(path, str(exc).replace(f" {path}", ""))
            return None
        if not (isinstance(obj, (list, tuple)) and len(obj) >= 4 and isinstance(obj[2], dict) and isinstance(obj[3], dict)):
            self.problems.add(path, "expected [train_captions, test_captions, ixtoword, wordtoix]")
            return None
        vocab = CaptionVocabulary(list(obj[0]), list(obj[1]), {int(k): str(v) for k, v in obj[2].items()},
                                  {str(k): int(v) for k, v in obj[3].items()})
        # AttnGAN reads caption i * k + j of image i, so each split must hold the same k captions per image.
        per_image = {s: len(c) / len(self.keys_by_split[s]) for s, c in (("train", vocab.train_captions), ("test", vocab.test_captions))
                     if self.keys_by_split[s]}
        if any(not v.is_integer() or v < 1 for v in per_image.values()) or len(set(per_image.values())) > 1:
            counts = ", ".join(f"{len(getattr(vocab, s + '_captions'))} {s} captions for {len(self.keys_by_split[s])} images" for s in per_image)
            self.problems.add(path, f"caption counts do not match filenames.pickle ({counts}); stale vocabulary?")
        self.vocabulary_captions_per_image = int(next(iter(per_image.values()), 0))
        return vocab

    def _check_class_info(self) -> None:
        path = self.root / self.split / "class_info.pickle"
        if not path.is_file():
            return
        try:
            info = load_pickle(path)
        except InputError as exc:
            self.problems.add(path, str(exc).replace(f" {path}", ""))
            return
        n = len(self.keys_by_split[self.split])
        if len(info) != n:
            self.problems.add(path, f"has {len(info)} entries for {n} filenames")

    # -- access -----------------------------------------------------------------------------------
    def _load(self, item: _Item) -> CaptionedImage:
        image = load_image(item.image_path)
        if item.bbox is not None:
            image = image.crop(attngan_crop_box(item.bbox, image.width, image.height))
        return CaptionedImage(key=item.key, image=image, captions=list(item.captions), label=item.label, path=item.image_path)

    def summary(self) -> dict:
        return {
            "layout": self.layout,
            "split": self.split,
            "images": len(self.items),
            "captions": sum(len(i.captions) for i in self.items),
            "images_with_fewer_captions": sum(len(i.captions) < self.captions_per_image for i in self.items),
            "splits": {s: len(k) for s, k in self.keys_by_split.items()},
            "classes": len({i.label for i in self.items if i.label is not None}),
            "vocabulary_words": len(self.vocabulary.wordtoix) if self.vocabulary else 0,
            "vocabulary_captions_per_image": self.vocabulary_captions_per_image,
            "problems": len(self.problems),
        }


class CUBDataset(AttnGANLayoutDataset):
    """CUB-200-2011 as AttnGAN reads it; ``crop=True`` applies AttnGAN's bounding-box crop."""

    layout = "cub"
    image_dir_candidates = ("CUB_200_2011/images",)

    def __init__(self, root: str | os.PathLike, split: str = "train", captions_per_image: int = 10,
                 crop: bool = True, strict: bool = True, check_images: bool = True):
        super().__init__(root, split, captions_per_image, crop, strict, check_images)

    def _read_bboxes(self) -> dict[str, tuple[float, float, float, float]]:
        base = self.root / "CUB_200_2011"
        images_txt, boxes_txt = base / "images.txt", base / "bounding_boxes.txt"
        missing = [p for p in (images_txt, boxes_txt) if not p.is_file()]
        for p in missing:
            self.problems.add(p, "missing (needed for the bounding-box crop; pass crop=False to skip it)")
        if missing:
            return {}
        names = _read_id_table(images_txt, 1, self.problems)
        boxes = _read_id_table(boxes_txt, 4, self.problems)
        out = {}
        for image_id, (rel,) in names.items():
            if image_id not in boxes:
                continue  # reported per key when a key needs it
            try:
                out[os.path.splitext(rel)[0]] = tuple(float(v) for v in boxes[image_id])
            except ValueError:
                self.problems.add(boxes_txt, f"image id {image_id}: non-numeric box {boxes[image_id]}")
        return out


class OxfordFlowersDataset(AttnGANLayoutDataset):
    """Oxford-102 flowers in the StackGAN/AttnGAN/DF-GAN layout (no bounding boxes)."""

    layout = "oxford"
    image_dir_candidates = ("images", "jpg", "oxford-102-flowers/images")
    text_dir_candidates = ("text", "text_c10")

    def __init__(self, root: str | os.PathLike, split: str = "train", captions_per_image: int = 10,
                 strict: bool = True, check_images: bool = True):
        super().__init__(root, split, captions_per_image, False, strict, check_images)


def _read_id_table(path: Path, n_values: int, problems: Problems) -> dict[str, list[str]]:
    """Lines "<id> v1 .. vn" -> {id: [v1..vn]}; malformed lines are reported with their number."""
    out = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != n_values + 1:
            problems.add(path, f"line {lineno}: expected {n_values + 1} fields, got {len(parts)}")
            continue
        out[parts[0]] = parts[1:]
    return out

