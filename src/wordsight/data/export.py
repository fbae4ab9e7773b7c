"""Writers: records -> the on-disk layouts the loaders read (CUB/AttnGAN, caption folder, saliency
folder, saliency manifest, the CSS-like retrieval set). Used by ``wordsight data synth`` and by the tests, and handy for turning
your own data into the AttnGAN layout (how to build those files is the most asked AttnGAN question).

Every writer writes into ``out`` (created if needed) and returns it; they refuse duplicate keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..utils.checks import InputError
from ..utils.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from .css import CSS_FORMAT, CSS_INFO, CSS_SPLITS, CSS_VERSION
from .manifest import MANIFEST_NAME, manifest_line
from .records import CaptionedImage, SaliencyRecord
from .safe_pickle import dump_pickle
from .saliency import SaliencyItem, points_to_json

_WORD = re.compile(r"\w+")


def _check_unique(keys: Iterable[str], what: str) -> None:
    dup = [k for k, n in Counter(keys).items() if n > 1]
    if dup:
        raise InputError(f"{what}: duplicate keys {dup[:5]}{' ...' if len(dup) > 5 else ''}")


def _progress(items: Sequence, desc: str, progress: bool):
    return tqdm(items, desc=desc, disable=not progress or len(items) < 2, leave=False)


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w\-]+", "_", name).strip("_") or "class"


# ------------------------------------------------------------------------------------------------
# CUB / AttnGAN


def cub_key(record: CaptionedImage, class_names: Optional[Sequence[str]] = None) -> str:
    """``class/image`` key of a record: its own key if it has a class folder, else ``{label+1:03d}.{name}/{key}``."""
    if "/" in record.key:
        return record.key
    if record.label is None:
        raise InputError(f"{record.key}: the CUB layout needs a label (class) or a key of the form 'class/image'")
    name = class_names[record.label] if class_names is not None and record.label < len(class_names) else f"class_{record.label}"
    return f"{record.label + 1:03d}.{_safe_name(name)}/{_safe_name(record.key)}"


def attngan_tokens(caption: str) -> list[str]:
    """AttnGAN's tokenisation: RegexpTokenizer(r'\\w+') on the lower-cased caption, non-ASCII dropped."""
    tokens = (t.encode("ascii", "ignore").decode("ascii") for t in _WORD.findall(caption.lower()))
    return [t for t in tokens if t]


def build_caption_vocabulary(train_captions: Sequence[Sequence[str]], test_captions: Sequence[Sequence[str]]) -> list:
    """[train_ids, test_ids, ixtoword, wordtoix] as AttnGAN's build_dictionary (id 0 = '<end>', words in first-seen order)."""
    train_tok = [attngan_tokens(c) for caps in train_captions for c in caps]
    test_tok = [attngan_tokens(c) for caps in test_captions for c in caps]
    wordtoix, ixtoword = {"<end>": 0}, {0: "<end>"}
    for sent in train_tok + test_tok:
        for w in sent:
            if w not in wordtoix:
                ixtoword[len(wordtoix)] = w
                wordtoix[w] = len(wordtoix)
    return [[[wordtoix[w] for w in s] for s in train_tok], [[wordtoix[w] for w in s] for s in test_tok], ixtoword, wordtoix]


def write_cub_layout(
    out: str | os.PathLike,
    train: Sequence[CaptionedImage],
    test: Sequence[CaptionedImage] = (),
    class_names: Optional[Sequence[str]] = None,
    bounding_boxes: bool | Mapping[str, Sequence[float]] = True,
    captions_pickle: bool = True,
    captions_per_image: int = 10,
    progress: bool = False,
) -> Path:
    """Write records in the CUB/AttnGAN layout (see ``attngan.py``).

    ``bounding_boxes``: True writes ``images.txt`` + ``bounding_boxes.txt`` with whole-image boxes
    (AttnGAN's crop of a whole-image box is the whole image), a mapping {key: (x, y, w, h)} gives boxes,
    False writes neither. ``captions_pickle`` writes ``captions.pickle``; it is built from the first
    ``captions_per_image`` captions, so every image needs that many (AttnGAN indexes caption
    ``i * captions_per_image + j``).
    """
    out = Path(out)
    splits = {"train": list(train), "test": list(test)}
    keys = {s: [cub_key(r, class_names) for r in recs] for s, recs in splits.items()}
    _check_unique(keys["train"] + keys["test"], "write_cub_layout")
    image_lines, box_lines, captions = [], [], {"train": [], "test": []}
    for split, recs in splits.items():
        for key, rec in _progress(list(zip(keys[split], recs)), f"cub {split}", progress):
            if captions_pickle and len(rec.captions) < captions_per_image:
                raise InputError(f"{rec.key}: {len(rec.captions)} captions; captions.pickle needs {captions_per_image} per image "
                                 "(pass captions_per_image= or captions_pickle=False)")
            img_path = out / "CUB_200_2011" / "images" / f"{key}.jpg"
            img_path.parent.mkdir(parents=True, exist_ok=True)
            rec.image.convert("RGB").save(img_path, quality=95)
            atomic_write_text(out / "text" / f"{key}.txt", "\n".join(c.strip() for c in rec.captions) + "\n")
            image_id = len(image_lines) + 1
            image_lines.append(f"{image_id} {key}.jpg")
            box = bounding_boxes.get(key) if isinstance(bounding_boxes, Mapping) else None
            box = box if box is not None else (0.0, 0.0, float(rec.image.width), float(rec.image.height))
            box_lines.append(f"{image_id} " + " ".join(f"{float(v):.1f}" for v in box))
            captions[split].append(rec.captions[:captions_per_image])
        atomic_write_bytes(out / split / "filenames.pickle", dump_pickle(keys[split]))
        labels = [int(k.split(".", 1)[0]) if k.split(".", 1)[0].isdigit() else 0 for k in keys[split]]
        atomic_write_bytes(out / split / "class_info.pickle", dump_pickle(labels))  # CUB's 1-based class ids
    if bounding_boxes is not False:
        atomic_write_text(out / "CUB_200_2011" / "images.txt", "\n".join(image_lines) + "\n")
        atomic_write_text(out / "CUB_200_2011" / "bounding_boxes.txt", "\n".join(box_lines) + "\n")
    if captions_pickle:
        atomic_write_bytes(out / "captions.pickle", dump_pickle(build_caption_vocabulary(captions["train"], captions["test"])))
    return out


# ------------------------------------------------------------------------------------------------
# caption folder


def write_caption_folder(out: str | os.PathLike, records: Sequence[CaptionedImage], image_format: str = "png",
                         progress: bool = False) -> Path:
    """``<key>.<png|jpg>`` + ``<key>.txt`` (one caption per line) for each record."""
    out = Path(out)
    _check_unique([r.key for r in records], "write_caption_folder")
    for rec in _progress(list(records), "folder", progress):
        path = out / f"{rec.key}.{image_format}"
        path.parent.mkdir(parents=True, exist_ok=True)
        rec.image.convert("RGB").save(path)
        atomic_write_text(path.with_suffix(".txt"), "\n".join(c.strip() for c in rec.captions) + "\n")
    return out


# ------------------------------------------------------------------------------------------------
# saliency folder and manifest


def map_to_uint8(density: np.ndarray) -> np.ndarray:
    """A density map scaled so its maximum is 255 (8-bit PNG, the usual map format)."""
    d = np.asarray(density, dtype=np.float64)
    if d.ndim != 2 or not np.all(np.isfinite(d)) or d.min() < 0:
        raise InputError(f"density map must be a finite non-negative [H, W] array, got shape {d.shape}")
    peak = d.max()
    if peak <= 0:
        raise InputError("density map is all zero")
    return np.round(d / peak * 255.0).astype(np.uint8)


def _save_map(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, "L").save(path)


def _write_saliency_parts(out: Path, rec: SaliencyRecord, stem: str, image_path: Path) -> tuple[SaliencyItem, Optional[Path]]:
    if "/" in stem:
        raise InputError(f"{rec.key}: saliency keys must not contain '/'")
    map_path = fix_path = points_path = None
    if rec.fixation_map is not None:
        map_path = out / "maps" / f"{stem}.png"
        _save_map(map_path, map_to_uint8(rec.fixation_map))
    if rec.fixations is not None:
        fix_path = out / "fixations" / f"{stem}.png"
        _save_map(fix_path, rec.binary_map().astype(np.uint8) * 255)
        points_path = out / "points" / f"{stem}.json"
        atomic_write_text(points_path, points_to_json(rec.fixations))
    if map_path is None and fix_path is None:
        raise InputError(f"{rec.key}: record has neither a density map nor fixations")
    item = SaliencyItem(stem, image_path, map_path, fix_path, rec.fixations, rec.text, rec.category)
    return item, points_path


def write_saliency_folder(out: str | os.PathLike, records: Sequence[SaliencyRecord], progress: bool = False) -> Path:
    """images/, maps/, fixations/ (binary), points/ (json) and texts/ (when a record has text)."""
    out = Path(out)
    _check_unique([r.key for r in records], "write_saliency_folder")
    for rec in _progress(list(records), "saliency", progress):
        image_path = out / "images" / f"{rec.key}.png"
        image_path.parent.mkdir(parents=True, exist_ok=True)
        rec.image.convert("RGB").save(image_path)
        _write_saliency_parts(out, rec, rec.key, image_path)
        if rec.text is not None:
            atomic_write_text(out / "texts" / f"{rec.key}.txt", rec.text.strip() + "\n")
    return out


def write_saliency_manifest(out: str | os.PathLike, records: Sequence[SaliencyRecord], progress: bool = False) -> Path:
    """images/ (identical images stored once), maps/, fixations/, points/ and ``manifest.jsonl``."""
    out = Path(out)
    _check_unique([r.key for r in records], "write_saliency_manifest")
    stored: dict[str, Path] = {}
    lines = []
    for rec in _progress(list(records), "manifest", progress):
        rgb = rec.image.convert("RGB")
        digest = hashlib.sha1(rgb.tobytes() + repr(rgb.size).encode()).hexdigest()
        if digest not in stored:
            stored[digest] = out / "images" / f"{rec.key}.png"
            stored[digest].parent.mkdir(parents=True, exist_ok=True)
            rgb.save(stored[digest])
        item, points_path = _write_saliency_parts(out, rec, rec.key, stored[digest])
        lines.append(manifest_line(item, out, points_path))
    atomic_write_text(out / MANIFEST_NAME, "\n".join(lines) + ("\n" if lines else ""))
    return out


# ------------------------------------------------------------------------------------------------
# CSS-like retrieval set (TIRG)

CSS_DESCRIPTION = ("CSS-like composed retrieval (TIRG): a query is a source image and a modification text, its answer "
                   "the target image; the gallery of a split is every source and target of that split. Rendered by "
                   "wordsight's synthetic world; heldout = colour/shape combinations unseen in train.")


def write_css_layout(out: str | os.PathLike, world_seed: int, image_size: int, counts: Mapping[str, int],
                     min_objects: int = 1, max_objects: int = 3, progress: bool = False) -> Path:
    """The synthetic world's edits as a CSS-like retrieval set (format: ``wordsight.data.css``).

    ``counts`` = {split: n} for splits among train, test, heldout: query ``i`` of a split is
    ``SyntheticManipulationData(world, n).pair(i)`` of that split's world (the triplets training and
    ``benchmarks/tirg_recall.py`` see). ``css.json`` is written last, so a folder without it is incomplete.
    """
    from .manipulation_pairs import SyntheticManipulationData
    from .synthetic import SyntheticWorld, WorldConfig

    out = Path(out)
    bad = [s for s in counts if s not in CSS_SPLITS]
    if bad or not counts:
        raise InputError(f"write_css_layout: counts needs splits among {', '.join(CSS_SPLITS)}, got {list(counts)}")
    for split, n in counts.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InputError(f"write_css_layout: the {split} count must be an integer >= 0, got {n!r}")
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for split, n in counts.items():
        world = SyntheticWorld(WorldConfig(seed=world_seed, image_size=image_size, split=split,
                                           min_objects=min_objects, max_objects=max_objects))
        data = SyntheticManipulationData(world, max(n, 1))
        lines = []
        for i in _progress(range(n), f"css {split}", progress):
            pair = data.pair(i)
            stem = f"{split}_{i:05d}"
            source, target, mask = f"images/{stem}_source.png", f"images/{stem}_target.png", f"masks/{stem}_change.png"
            pair.source.convert("RGB").save(out / source)
            pair.target.convert("RGB").save(out / target)
            Image.fromarray(pair.change_mask.astype(np.uint8) * 255, "L").save(out / mask)
            lines.append(json.dumps({"source": source, "target": target, "text": pair.instruction,
                                     "source_caption": pair.source_caption, "target_caption": pair.target_caption,
                                     "operation": pair.operation, "mask": mask, "index": i}, ensure_ascii=False))
        atomic_write_text(out / f"{split}.jsonl", "\n".join(lines) + ("\n" if lines else ""))
    atomic_write_json(out / CSS_INFO, {
        "format": CSS_FORMAT, "version": CSS_VERSION, "world_seed": int(world_seed), "image_size": int(image_size),
        "min_objects": int(min_objects), "max_objects": int(max_objects), "splits": {s: int(n) for s, n in counts.items()},
        "description": CSS_DESCRIPTION,
    })
    return out
