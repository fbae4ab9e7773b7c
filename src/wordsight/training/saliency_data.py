"""Saliency training data: a ``--data`` spec -> records -> in-memory tensors at the model's input size.

Specs: ``synthetic`` (the built-in world with simulated text-guided gaze), ``osie:PATH``,
``folder:PATH`` (``wordsight.data.SaliencyFolderDataset``), ``sjtu-tis:PATH``, ``manifest:PATH``.
Data sets without an official split are split with ``wordsight.data.split_stems`` by *image* (all
text conditions of one SJTU-TIS image land on the same side), fraction and seed from the config.

Targets are fixation densities scaled to max 1 at the input size: a record's density map resized
(anti-aliased bilinear), or, for fixation points only (OSIE), the MIT blur (fc = 8 cycles per image,
``metrics.saliency.fixation_density``) of the fixations rescaled to the input size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..data.records import SALIENCY_CATEGORIES, SaliencyRecord
from ..data.saliency_transforms import check_record, image_tensor, points_to_binary
from ..metrics.saliency import fixation_density
from ..utils.checks import InputError

__all__ = ["DATA_KINDS", "SaliencyDataConfig", "SaliencyTensors", "open_saliency_records", "records_to_tensors"]

# "saliency:PATH" is another name of "folder:PATH" (the saliency folder layout: images/ + maps/ ... by stem)
DATA_KINDS = ("synthetic", "osie", "folder", "saliency", "sjtu-tis", "manifest")
DATA_FORMS = ("synthetic", "osie:PATH", "folder:PATH", "saliency:PATH", "sjtu-tis:PATH", "manifest:PATH")  # sources.parse_data_spec
TEXT_GUIDED_CATEGORIES = ["none", "salient", "nonsalient", "general"]  # seed 000, Table II


@dataclass
class SaliencyDataConfig:
    """Options of the data sources (each source reads the ones it needs)."""

    num_scenes: int = 400  # synthetic: scenes of the train split (records = scenes x categories)
    test_scenes: int = 100  # synthetic: scenes of the test split
    image_size: int = 64  # synthetic: rendered size
    categories: list[str] = field(default_factory=lambda: list(TEXT_GUIDED_CATEGORIES))  # synthetic
    world_seed: int = 0
    test_fraction: float = 0.2  # data sets without a split
    split_seed: int = 0
    limit: Optional[int] = None  # use only the first N records of the split (quick runs)


def _synthetic(cfg: SaliencyDataConfig, split: str) -> list[SaliencyRecord]:
    from ..data.synthetic import SyntheticWorld, WorldConfig

    bad = [c for c in cfg.categories if c not in SALIENCY_CATEGORIES]
    if bad or not cfg.categories:
        raise InputError(f"unknown saliency categories {bad}; known: {list(SALIENCY_CATEGORIES)}")
    world = SyntheticWorld(WorldConfig(seed=cfg.world_seed, image_size=cfg.image_size, split="test" if split == "test" else "train"))
    n = cfg.test_scenes if split == "test" else cfg.num_scenes
    return [world.saliency_record(i, c) for i in range(n) for c in cfg.categories]


def _split_by_image(dataset, cfg: SaliencyDataConfig, split: str) -> list[int]:
    from ..data.splits import select_split

    stems = sorted({it.image_path.stem for it in dataset.items})
    keep = set(select_split(stems, split, cfg.test_fraction, cfg.split_seed))
    return [i for i, it in enumerate(dataset.items) if it.image_path.stem in keep]


def open_saliency_records(spec: str, split: str = "train", cfg: Optional[SaliencyDataConfig] = None) -> list[SaliencyRecord]:
    """Load the records of ``split`` ("train", "test" or "all") of the data named by ``spec``."""
    from .. import data as D

    from .sources import parse_data_spec

    cfg = cfg or SaliencyDataConfig()
    parsed = parse_data_spec(spec, DATA_FORMS, what="saliency data")
    kind, path = parsed.kind, parsed.path
    if kind == "synthetic":
        records = _synthetic(cfg, split)
    elif kind == "osie":
        ds = D.OSIEDataset(path, split=split, test_fraction=cfg.test_fraction, split_seed=cfg.split_seed)
        records = list(ds)
    else:
        ds = {"folder": D.SaliencyFolderDataset, "saliency": D.SaliencyFolderDataset, "sjtu-tis": D.SJTUTISDataset, "manifest": D.ManifestDataset}[kind](path)
        records = [ds[i] for i in _split_by_image(ds, cfg, split)]
    if cfg.limit is not None:
        records = records[: cfg.limit]
    if not records:
        raise InputError(f"no {split} records in {spec}")
    return records


@dataclass
class SaliencyTensors:
    """A whole (small) data set in memory at the model's input size."""

    images: torch.Tensor  # float [N, 3, h, w] in [-1, 1]
    maps: torch.Tensor  # float [N, 1, h, w] in [0, 1], max 1 per map
    text: Optional[torch.Tensor]  # float [N, D] sentence vectors (zeros = no text), or None
    keys: list[str]
    categories: list[Optional[str]]

    def __len__(self) -> int:
        return self.images.shape[0]

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {"images": self.images[index], "maps": self.maps[index]}
        if self.text is not None:
            out["text"] = self.text[index]
        return out


def target_map(record: SaliencyRecord, size: tuple[int, int]) -> torch.Tensor:
    """The training target of one record: float [1, h, w] in [0, 1] with max 1."""
    src = (record.image.height, record.image.width)
    if record.fixation_map is not None and np.asarray(record.fixation_map).any():
        m = torch.from_numpy(np.asarray(record.fixation_map, dtype=np.float32))[None, None]
        shrinking = m.shape[-2] > size[0] or m.shape[-1] > size[1]
        m = F.interpolate(m, size=size, mode="bilinear", align_corners=False, antialias=shrinking)[0].clamp_min(0)
    else:
        binary = points_to_binary(record.fixations, src, size) if record.fixations is not None else None
        if binary is None:
            raise InputError(f"{record.key}: no fixations and no fixation map")
        m = fixation_density(torch.from_numpy(binary)).float()[None]
    peak = m.max()
    if not peak > 0:
        raise InputError(f"{record.key}: the fixation map is all zeros")
    return m / peak


def records_to_tensors(
    records: Sequence[SaliencyRecord],
    input_size: Sequence[int],
    encode_texts: Optional[Callable[[list[Optional[str]]], torch.Tensor]] = None,
) -> SaliencyTensors:
    """Check, resize and stack records; ``encode_texts`` (texts with None -> [N, D]) for text-guided models."""
    if not records:
        raise InputError("no saliency records")
    size = (int(input_size[0]), int(input_size[1]))
    images, maps = [], []
    for r in records:
        check_record(r)
        images.append(image_tensor(r.image, size))
        maps.append(target_map(r, size))
    text = encode_texts([r.text for r in records]) if encode_texts is not None else None
    return SaliencyTensors(torch.stack(images), torch.stack(maps), text, [r.key for r in records], [r.category for r in records])


# ---------------------------------------------------------------------------- augmentation
AUGMENT_OPTIONS = ("hflip", "zoom", "color")


def check_augment(options: dict) -> None:
    """``augment`` config: hflip = flip probability, zoom = largest extra scale of a random crop (0.2 =
    crops of 1/1.2 of each side), color = brightness/contrast/saturation jitter strength; all in [0, 1]."""
    from ..config import ConfigError

    unknown = sorted(set(options) - set(AUGMENT_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown augment option(s) {unknown}; valid: {list(AUGMENT_OPTIONS)}")
    for name, value in options.items():
        if not isinstance(value, (int, float)) or not 0 <= float(value) <= 1:
            raise ConfigError(f"augment.{name} must be a number in [0, 1], got {value!r}")


def augment_saliency_batch(batch: dict[str, torch.Tensor], generator: torch.Generator, hflip: float = 0.0,
                           zoom: float = 0.0, color: float = 0.0) -> dict[str, torch.Tensor]:
    """Random flips, zoomed crops (image and map moved together) and colour jitter (image only).

    Why these: fixations follow what is in a photo, not where the photographer put it, so a mirrored or
    re-framed photo has the mirrored / re-framed map; they keep a small network trained on a few hundred
    photos from memorising one data set's framing. Not for text-guided data whose texts name positions
    ("on the left"): a flip would contradict the text.
    """
    images, maps = batch["images"], batch["maps"]
    n = images.shape[0]
    out = dict(batch)
    if zoom > 0:
        scale = 1.0 + zoom * torch.rand(n, generator=generator)
        room = 1.0 - 1.0 / scale  # how far the crop centre may move (grid units, [-1, 1] image)
        shift = room[:, None] * (2 * torch.rand(n, 2, generator=generator) - 1)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / scale
        theta[:, :, 2] = shift
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
        maps = F.grid_sample(maps, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        peak = maps.amax(dim=(1, 2, 3), keepdim=True)
        # a crop that lost every fixation keeps the original (never train towards an all-zero map)
        lost = ~(peak > 1e-6)
        images = torch.where(lost, batch["images"], images)
        maps = torch.where(lost, batch["maps"], maps / peak.clamp_min(1e-6))
    if hflip > 0:
        flip = (torch.rand(n, generator=generator) < hflip)[:, None, None, None]
        images = torch.where(flip, images.flip(-1), images)
        maps = torch.where(flip, maps.flip(-1), maps)
    if color > 0:
        x = (images + 1) / 2
        bright = 1 + color * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
        contrast = 1 + color * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
        saturation = 1 + color * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
        x = x * bright
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * contrast + mean
        gray = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
        x = (x - gray) * saturation + gray
        images = x.clamp(0, 1) * 2 - 1
    out["images"], out["maps"] = images.contiguous(), maps.contiguous()
    return out
