"""The registry of on-disk layouts and ``detect_layout``, used by ``wordsight data inspect``.

A layout is a name, a ``detect(path) -> bool`` that looks only at file names (cheap), and an
``open(path, **options)`` that returns the loader for one split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..utils.checks import InputError
from ..utils.registry import Registry
from .attngan import CUBDataset, OxfordFlowersDataset
from .coco import COCOCaptionsDataset, find_coco_annotation
from .css import CSS_SPLITS, CSSDataset, is_css
from .folder import CaptionFolderDataset
from .manifest import MANIFEST_NAME, ManifestDataset
from .saliency import SaliencyFolderDataset
from .saliency_sets import MIT1003Dataset, OSIEDataset, SALICONDataset, salicon_annotation_path
from .sjtu_tis import IMAGE_DIRS, MAP_DIRS, SJTUTISDataset
from .validation import LazyDataset, is_image_name


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    detect: Callable[[Path], bool]
    open: Callable[..., LazyDataset]
    splits: tuple[str, ...] = ("all",)


LAYOUTS: Registry[Layout] = Registry("data layout")
_DETECT_ORDER: list[str] = []  # registration order: detect_layout tries the most specific layouts first


def register_layout(layout: Layout) -> Layout:
    LAYOUTS.register(layout.name, layout)
    _DETECT_ORDER.append(layout.name)
    return layout


def _has_filenames(p: Path) -> bool:
    return (p / "train" / "filenames.pickle").is_file() or (p / "test" / "filenames.pickle").is_file()


def _is_cub(p: Path) -> bool:
    return (p / "CUB_200_2011").is_dir() and (_has_filenames(p) or (p / "text").is_dir())


def _is_oxford(p: Path) -> bool:
    return not (p / "CUB_200_2011").is_dir() and _has_filenames(p)


def _is_sjtu(p: Path) -> bool:
    return any((p / d).is_dir() for d in IMAGE_DIRS) and any((p / d).is_dir() for d in MAP_DIRS) and any(p.glob("*.xlsx"))


def _is_saliency_folder(p: Path) -> bool:
    return (p / "images").is_dir() and any((p / d).is_dir() for d in ("maps", "fixations", "points"))


def _is_caption_folder(p: Path) -> bool:
    try:
        names = [q for q in p.iterdir() if q.is_file()]
    except OSError:
        return False
    return any(is_image_name(q) for q in names) and any(q.suffix.lower() == ".txt" for q in names)


def _open_split(cls, default: str):
    def _open(path, split: str | None = None, **kw):
        return cls(path, split=split or default, **kw)

    return _open


def _open_all(cls):
    def _open(path, split: str | None = None, **kw):
        if split not in (None, "all"):
            raise InputError(f"{cls.layout}: has no splits (got split={split!r})")
        return cls(path, **kw)

    return _open


# Order matters: detect_layout returns the first match, most specific first. css.json names its own format, so
# the CSS-like set goes first (its images/ folder must not make another layout claim it).
register_layout(Layout("css", "CSS-like retrieval set (queries = source image + text, gallery = targets)", is_css,
                       _open_split(CSSDataset, "train"), CSS_SPLITS))
register_layout(Layout("cub", "CUB-200-2011, AttnGAN/DF-GAN layout", _is_cub, _open_split(CUBDataset, "train"), ("train", "test")))
register_layout(Layout("oxford", "Oxford-102 flowers, AttnGAN/DF-GAN layout", _is_oxford, _open_split(OxfordFlowersDataset, "train"), ("train", "test")))
register_layout(Layout("coco", "COCO captions (annotations/captions_*.json)",
                       lambda p: find_coco_annotation(p, "train") is not None or find_coco_annotation(p, "val") is not None,
                       _open_split(COCOCaptionsDataset, "train"), ("train", "val")))
register_layout(Layout("salicon", "SALICON fixations_*2014.json + COCO images",
                       lambda p: salicon_annotation_path(p, "train") is not None or salicon_annotation_path(p, "val") is not None,
                       _open_split(SALICONDataset, "train"), ("train", "val")))
register_layout(Layout("mit1003", "MIT1003 (ALLSTIMULI + ALLFIXATIONMAPS)",
                       lambda p: (p / "ALLSTIMULI").is_dir() and (p / "ALLFIXATIONMAPS").is_dir(),
                       _open_split(MIT1003Dataset, "all"), ("all", "train", "test")))
register_layout(Layout("osie", "OSIE (stimuli/ + eye/fixations.mat)",
                       lambda p: (p / "eye" / "fixations.mat").is_file() or ((p / "stimuli").is_dir() and (p / "eye").is_dir()),
                       _open_split(OSIEDataset, "all"), ("all", "train", "test")))
register_layout(Layout("manifest", f"saliency manifest ({MANIFEST_NAME})",
                       lambda p: (p / MANIFEST_NAME).is_file() or (p.is_file() and p.suffix == ".jsonl"), _open_all(ManifestDataset)))
register_layout(Layout("sjtu-tis", "SJTU-TIS text-guided saliency (image/, map/, fixation/, .xlsx)", _is_sjtu, _open_all(SJTUTISDataset)))
register_layout(Layout("saliency", "saliency folder (images/ + maps/ | fixations/ | points/)", _is_saliency_folder, _open_all(SaliencyFolderDataset)))
register_layout(Layout("folder", "captioned image folder (<name>.jpg + <name>.txt)", _is_caption_folder, _open_all(CaptionFolderDataset)))


def detect_layout(path: str | os.PathLike) -> str:
    """The name of the first registered layout whose ``detect`` accepts ``path``; InputError if none."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"path not found: {p}")
    for name in _DETECT_ORDER:
        if LAYOUTS.get(name).detect(p):
            return name
    raise InputError(f"{p}: no known data layout recognised; known: {', '.join(LAYOUTS.names())} (see docs/data.md)")


def open_layout(path: str | os.PathLike, layout: str | None = None, split: str | None = None, **options) -> LazyDataset:
    """Open ``path`` with ``layout`` (detected when None) for ``split`` (the layout's default when None)."""
    spec = LAYOUTS.get(layout or detect_layout(path))
    return spec.open(path, split=split, **options)


def inspect_layout(path: str | os.PathLike, layout: str | None = None) -> dict:
    """Open every split of ``path`` leniently; returns {"layout", "splits": {split: summary}, "problems": [...]}.

    Raises InputError when no split has a usable item (the data set is unusable).
    """
    spec = LAYOUTS.get(layout or detect_layout(path))
    report: dict = {"layout": spec.name, "description": spec.description, "path": str(path), "splits": {}, "problems": []}
    seen: set[str] = set()
    usable = 0
    for split in spec.splits:
        data = spec.open(path, split=split, strict=False)
        report["splits"][split] = data.summary()
        usable += len(data)
        for prob in data.problems:
            if str(prob) not in seen:
                seen.add(str(prob))
                report["problems"].append({"path": prob.path, "message": prob.message})
        if split == "all" and len(spec.splits) > 1:
            break  # "all" already covers the train/test halves
    report["usable"] = usable > 0
    return report
