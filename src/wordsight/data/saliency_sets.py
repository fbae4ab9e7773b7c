"""Loaders for published eye-tracking sets in the layouts their authors distribute: SALICON, MIT1003, OSIE.

All coordinates are converted on read to the convention of ``records.py``: 0-based pixel positions,
x = column, y = row. See docs/data.md for how each origin was established.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..utils.checks import InputError
from .records import Fixations
from .saliency import SaliencyDataset, SaliencyItem, check_saliency_item
from .splits import select_split
from .validation import list_files

SALICON_SPLITS = ("train", "val")


# ------------------------------------------------------------------------------------------------
# SALICON


def salicon_annotation_path(root: Path, split: str) -> Optional[Path]:
    for cand in (root / f"fixations_{split}2014.json", root / "annotations" / f"fixations_{split}2014.json",
                 root / "fixations" / f"fixations_{split}2014.json"):
        if cand.is_file():
            return cand
    return None


def salicon_fixations(points: list, worker: int, order: str, origin: int) -> Fixations:
    """One worker's ``fixations`` list -> Fixations. ``order`` "rowcol" ([row, col]) or "xy"; ``origin`` 1 or 0."""
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    first, second = arr[:, 0] - origin, arr[:, 1] - origin
    x, y = (second, first) if order == "rowcol" else (first, second)
    return Fixations(x, y, np.full(len(arr), worker, dtype=np.int64))


def _concat(parts: list[Fixations]) -> Fixations:
    if not parts:
        return Fixations(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))
    return Fixations(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                     np.concatenate([p.observer for p in parts]))


class SALICONDataset(SaliencyDataset):
    """SALICON (Jiang et al., CVPR 2015): COCO images with mouse-tracking "fixations" from a COCO-style json.

    ``fixations_{train,val}2014.json`` holds ``images`` (id, file_name, width, height) and ``annotations``
    (image_id, worker_id, fixations). The LSUN-challenge files store ``[row, col]`` 1-based (the
    defaults); the early 2014 example files of the salicon-api repository store ``[x, y]`` — pass
    ``order="xy"``. Images are looked up in ``images/{split}/``, ``images/{split}2014/``, ``{split}2014/``
    or ``images/``; density maps, when present, in ``maps/{split}/<stem>.png``.
    """

    layout = "salicon"

    def __init__(self, root: str | os.PathLike, split: str = "train", order: str = "rowcol", origin: int = 1,
                 strict: bool = True, check_maps: bool = True):
        super().__init__(root, strict)
        if split not in SALICON_SPLITS:
            raise InputError(f"SALICON split must be one of {SALICON_SPLITS}, got {split!r}")
        if order not in ("rowcol", "xy") or origin not in (0, 1):
            raise InputError(f"order must be 'rowcol' or 'xy' and origin 0 or 1, got {order!r}, {origin!r}")
        self.split, self.order, self.origin = split, order, origin
        ann = salicon_annotation_path(self.root, split)
        if ann is None:
            self.problems.add(self.root / f"fixations_{split}2014.json", "missing SALICON fixation annotations")
        else:
            self._scan(ann, check_maps)
        self._finish()

    def _image_dir(self) -> Path:
        s = self.split
        for cand in (self.root / "images" / s, self.root / "images" / f"{s}2014", self.root / f"{s}2014", self.root / "images"):
            if cand.is_dir():
                return cand
        self.problems.add(self.root / "images" / s, "missing image folder")
        return self.root / "images" / s

    def _scan(self, ann: Path, check_maps: bool) -> None:
        try:
            data = json.loads(ann.read_text(encoding="utf-8"))
            images = {int(im["id"]): im for im in data["images"]}
            annotations = data["annotations"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            self.problems.add(ann, f"not a SALICON fixations file ({exc.__class__.__name__}: {exc})")
            return
        per_image: dict[int, list[Fixations]] = {i: [] for i in images}
        for a in annotations:
            if a.get("image_id") not in per_image:
                self.problems.add(ann, f"annotation {a.get('id')} refers to unknown image id {a.get('image_id')}")
                continue
            try:
                per_image[a["image_id"]].append(salicon_fixations(a["fixations"], int(a.get("worker_id", 0)), self.order, self.origin))
            except (KeyError, ValueError, TypeError) as exc:
                self.problems.add(ann, f"annotation {a.get('id')}: bad fixations ({exc})")
        image_dir = self._image_dir()
        map_dir = self.root / "maps" / self.split
        for image_id in sorted(images):
            name = str(images[image_id]["file_name"])
            stem = Path(name).stem
            map_path = map_dir / f"{stem}.png"
            item = SaliencyItem(stem, image_dir / name, map_path if map_path.is_file() else None,
                                fixations=_concat(per_image[image_id]), extra={"image_id": image_id})
            if len(item.fixations) == 0:
                self.problems.add(image_dir / name, f"image id {image_id} has no fixations in {ann.name}")
                continue
            if check_saliency_item(item, self.problems, check_maps, ann):
                self.items.append(item)


# ------------------------------------------------------------------------------------------------
# MIT1003


class MIT1003Dataset(SaliencyDataset):
    """MIT1003 (Judd et al., ICCV 2009) as distributed: ``ALLSTIMULI/<stem>.jpeg`` and
    ``ALLFIXATIONMAPS/<stem>_fixMap.jpg`` (density) + ``<stem>_fixPts.jpg`` (fixated pixels).

    The per-subject ``DATA/<subject>/<stem>.mat`` files hold raw eye-tracker samples, from which the
    authors' MATLAB ``checkFixations`` derives fixations; they are not read here. Fixations come from
    the ``_fixPts`` image instead (JPEG, so it is thresholded at half scale); their observer is unknown (0).
    MIT1003 has no official split: ``split`` / ``test_fraction`` / ``split_seed`` use ``splits.split_stems``.
    """

    layout = "mit1003"

    def __init__(self, root: str | os.PathLike, split: str = "all", test_fraction: float = 0.2, split_seed: int = 0,
                 strict: bool = True, check_maps: bool = True):
        super().__init__(root, strict)
        stim_dir, map_dir = self.root / "ALLSTIMULI", self.root / "ALLFIXATIONMAPS"
        for d in (stim_dir, map_dir):
            if not d.is_dir():
                self.problems.add(d, "missing folder")
        stimuli = {}
        for p in list_files(stim_dir):
            if p.suffix.lower() in (".jpeg", ".jpg"):
                stimuli[p.stem] = p
            elif p.name != "Thumbs.db":
                self.problems.add(p, "not a stimulus image (.jpeg)")
        for stem in select_split(list(stimuli), split, test_fraction, split_seed):
            item = SaliencyItem(stem, stimuli[stem], map_dir / f"{stem}_fixMap.jpg", map_dir / f"{stem}_fixPts.jpg")
            missing = [p for p in (item.map_path, item.fixation_map_path) if not p.is_file()]
            for p in missing:
                self.problems.add(p, "missing fixation map")
            if not missing and check_saliency_item(item, self.problems, check_maps):
                self.items.append(item)
        self._finish()


# ------------------------------------------------------------------------------------------------
# OSIE

# OSIE's eye/fixations.mat stores MATLAB pixel coordinates, 1-based: the authors' own code
# (NUS-VIP/predicting-human-gaze-beyond-pixels, src/dataset/computeFixationMaps.m) indexes the map with
# max(1, min(round(fix_x), w)) directly, and all 98,321 values lie in [1.2, 799.2] x [1.2, 599.2] for
# 800x600 images (none below 1). We subtract 1.
OSIE_ORIGIN = 1


def read_osie_fixations(mat_path: Path) -> dict[str, Fixations]:
    """``eye/fixations.mat`` -> {image file name: Fixations (0-based, observer = subject index, duration ms)}."""
    import scipy.io  # local: scipy.io is slow to import and only OSIE needs it

    try:
        mat = scipy.io.loadmat(str(mat_path), squeeze_me=True, struct_as_record=False)
        entries = np.atleast_1d(mat["fixations"])
    except (OSError, ValueError, KeyError, NotImplementedError, TypeError) as exc:
        raise InputError(f"cannot read OSIE fixations {mat_path}: {exc.__class__.__name__}: {exc}") from exc
    out = {}
    for entry in entries:
        xs, ys, obs, durs = [], [], [], []
        for subject, sub in enumerate(np.atleast_1d(entry.subjects)):
            x = np.atleast_1d(np.asarray(sub.fix_x, dtype=np.float64))
            xs.append(x - OSIE_ORIGIN)
            ys.append(np.atleast_1d(np.asarray(sub.fix_y, dtype=np.float64)) - OSIE_ORIGIN)
            durs.append(np.atleast_1d(np.asarray(sub.fix_duration, dtype=np.float64)))
            obs.append(np.full(len(x), subject, dtype=np.int64))
        out[str(entry.img)] = Fixations(np.concatenate(xs), np.concatenate(ys), np.concatenate(obs), np.concatenate(durs))
    return out


class OSIEDataset(SaliencyDataset):
    """OSIE (Xu et al., JoV 2014): ``stimuli/<n>.jpg`` (700 images, 800x600) and ``eye/fixations.mat``
    (15 subjects per image). No density maps ship with it; records carry fixations only.
    The split is ``splits.split_stems`` over the image stems (OSIE has no official split).
    """

    layout = "osie"

    def __init__(self, root: str | os.PathLike, split: str = "all", test_fraction: float = 0.2, split_seed: int = 0,
                 strict: bool = True):
        super().__init__(root, strict)
        mat_path = self.root / "eye" / "fixations.mat"
        stim_dir = self.root / "stimuli"
        fixations: dict[str, Fixations] = {}
        if not mat_path.is_file():
            self.problems.add(mat_path, "missing OSIE fixations file")
        else:
            try:
                fixations = read_osie_fixations(mat_path)
            except InputError as exc:
                self.problems.add(mat_path, str(exc))
        if not stim_dir.is_dir():
            self.problems.add(stim_dir, "missing stimuli folder")
        stems = {Path(name).stem: name for name in fixations}
        for name in sorted(fixations):
            if not (stim_dir / name).is_file():
                self.problems.add(stim_dir / name, "missing stimulus listed in fixations.mat")
        for p in list_files(stim_dir):
            if p.name not in fixations:
                self.problems.add(p, "stimulus without fixations in eye/fixations.mat")
        for stem in select_split(list(stems), split, test_fraction, split_seed):
            item = SaliencyItem(stem, stim_dir / stems[stem], fixations=fixations[stems[stem]])
            if (stim_dir / stems[stem]).is_file() and check_saliency_item(item, self.problems, True, mat_path):
                self.items.append(item)
        self._finish()

    def summary(self) -> dict:
        out = super().summary()
        out["observers"] = int(max((it.fixations.num_observers for it in self.items), default=0))
        return out

